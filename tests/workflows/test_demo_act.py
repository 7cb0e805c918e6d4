"""The quick start's main command (``python3 dev.py demo``) runs and reports what it must."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sandbox.workflow import REPO_ROOT

from .act import require_act

pytestmark = pytest.mark.act


def test_the_demo_reports_requests_state_credentials_and_the_issue() -> None:
    require_act()
    completed = subprocess.run(
        [sys.executable, "dev.py", "demo"],  # exactly as the README shows it
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = completed.stdout
    assert completed.returncode == 0, out[-4000:] + completed.stderr[-2000:]
    # What was requested, with who asked.
    assert "#101 by @alice: requests/archive-retired.yml (archive)" in out
    assert "#106 by @frank: requests/unbreak-pytest.yml (not_broken)" in out
    # The run and the sandbox's state now.
    assert "job 'process the request queue': succeeded" in out
    assert "GitHub  retired-tool-feedstock: archived (read-only)" in out
    assert "GitHub  libfoo-feedstock: tag 1.x_archived created" in out
    assert "GitHub  feedstock-outputs: added outputs/n/u/m/numpy-base.json" in out
    assert "labels main -> broken, main" in out
    assert "requests/ on main: unbreak-pytest.yml" in out
    # Credentials, with lifetimes, from the records; none outlived the job.
    assert "GitHub App installation token: libfoo-feedstock: contents:write" in out
    assert "revoked (revoke-self)" in out
    assert "none outlived the job" in out
    assert (
        "still valid now: vault tokens of the workflow's role: 0, GitHub installation tokens: 0,"
        in out
    )
    # The issue for the request that could not be carried out.
    assert "#1 'Request requests/unbreak-pytest.yml needs attention' (open" in out
    assert "@frank, your request" in out
    # One feedstock created from staged-recipes, run directly (sandbox/creation.py).
    assert "6. Feedstock creation from staged-recipes" in out
    assert "Run directly, not under act" in out
    assert (
        "recipes/tinyjson: created: created https://github.com/conda-forge/tinyjson-feedstock"
        in (out.replace("\n      ", " "))
    )
    assert "Actions secrets: FEEDSTOCK_TOKEN" in out
    assert "(recipes/tinyjson removed)" in out
