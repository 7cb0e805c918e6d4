"""admin-requests: carry out a conda package organisation's administrative requests."""

from __future__ import annotations

__version__ = "0.1.0"
