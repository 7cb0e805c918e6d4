"""Shared helpers of the workflow tests: act runs against the sandbox (see sandbox/).

The machinery lives in ``sandbox.workflow`` (throwaway repository, bare ``origin``, act
invocation) and ``sandbox.core`` (the services), because ``python3 dev.py demo`` and
``benchmarks/act_workflow.py`` use it too. Here: what several test modules share.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sandbox.core import Sandbox
from sandbox.workflow import ACT, Workspace


def require_act() -> None:
    if not ACT.exists():
        pytest.fail(f"act is not installed at {ACT}; run 'python3 dev.py setup'")


@dataclass
class Run:
    """A sandbox and a workspace for one test module, stopped at its end."""

    sandbox: Sandbox
    workspace: Workspace


def state_on_main(workspace: Workspace, request: str) -> dict[str, Any] | None:
    """The queue state of ``requests/<request>`` as committed on the remote's main."""
    text = workspace.remote_file(f"queue-state/{Path(request).name}.json")
    return json.loads(text) if text is not None else None
