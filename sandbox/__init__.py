"""A local sandbox of everything admin-requests talks to, and the quick start's demo.

``python3 dev.py sandbox`` starts it (see ``__main__``); ``python3 dev.py demo`` starts
one, runs the real ``.github/workflows/process.yml`` under act against it and prints
what happened (see ``demo``). The workflow tests and ``benchmarks/act_workflow.py`` use
the same pieces. Not part of the product: it imports the fakes from ``tests/fakes``,
which ``scripts/admin_requests`` never does.
"""

from __future__ import annotations

from .core import Sandbox

__all__ = ["Sandbox"]
