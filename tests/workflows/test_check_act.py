"""check.yml run for real under act on pull_request events."""

from __future__ import annotations

from pathlib import Path

import pytest
from sandbox.workflow import Workspace, repository_payload

from .act import require_act

# One worker runs the whole module under pytest-xdist: its tests share the module's act runs.
pytestmark = [pytest.mark.act, pytest.mark.xdist_group("check_act")]


def _pull_request(workspace: Workspace, files: dict[str, str]) -> dict[str, object]:
    base = workspace.git("rev-parse", "HEAD")
    workspace.git("checkout", "-q", "-b", "pr")
    for name, text in files.items():
        (workspace.repo / name).write_text(text)
    workspace.git("add", "-A")
    workspace.git("commit", "-qm", "request")
    return {
        "pull_request": {
            "number": 7,
            "base": {"sha": base, "ref": "main"},
            "head": {"sha": workspace.git("rev-parse", "HEAD"), "ref": "pr"},
        },
        "repository": repository_payload(),
    }


@pytest.fixture(scope="module")
def check_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[bool, str]]:
    """One valid and one invalid PR. The valid one's job installs its own environment
    from scratch (pip, about a minute), so actions/setup stays covered end to end; the
    other shares this checkout's .venv (see sandbox/workflow.py)."""
    require_act()
    results = {}
    cases = {
        "valid": (
            {"requests/archive-old.yml": "action: archive\nfeedstocks:\n  - old-thing\n"},
            False,
        ),
        "invalid": ({"requests/bad.yml": "action: archive\nfeedstocks: numpy\n"}, True),
    }
    for name, (files, share_venv) in cases.items():
        workspace = Workspace.create(Path(tmp_path_factory.mktemp(name)), share_venv=share_venv)
        event = _pull_request(workspace, files)
        result = workspace.run_act("pull_request", event, "check.yml", sync=False)
        results[name] = (result.ok, result.output)
    return results


def test_valid_request_passes(check_runs: dict[str, tuple[bool, str]]) -> None:
    ok, output = check_runs["valid"]
    assert ok, output[-3000:]
    # A real install, not the shared one, and of the runtime lock only (actions/setup's
    # 'lock: runtime'): the check needs nothing of the development lock.
    assert "[dev] creating .venv with the runtime lock only" in output
    assert "1 file(s) checked: 1 valid, 0 with problems." in output
    assert "archive the repository old-thing-feedstock" in output  # the job summary


def test_invalid_request_fails_with_annotation(check_runs: dict[str, tuple[bool, str]]) -> None:
    ok, output = check_runs["invalid"]
    assert not ok
    assert "::error file=requests/bad.yml,line=2,col=13,title=expected-list::" in output


def test_pull_request_job_holds_no_credentials(check_runs: dict[str, tuple[bool, str]]) -> None:
    for _ok, output in check_runs.values():
        assert "prove this job holds no credentials" in output
        assert "OIDC token available in a PR job" not in output
        assert "credentials in a PR job" not in output
