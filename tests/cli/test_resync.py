"""``admin-requests resync-diff`` and ``resync`` (cli/resync_diff.py, cli/resync.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from admin_requests.cli import main
from tests.fakes import FakeGitHub, Fault
from tests.fakes.wiring import settings_for
from tests.resync.world import DIFF, EMPTY, PATCHES, checkout_with, gh

__all__ = ["gh"]  # the fixture


def _environ(gh: FakeGitHub, **extra: str) -> dict[str, str]:
    settings = settings_for(gh, None)
    return {
        "GITHUB_API_URL": settings.github_api_url,
        "GITHUB_REPOSITORY": "conda-forge/admin-requests",
        "GITHUB_TOKEN": "gh-admin",
        "ADMIN_REQUESTS_HTTP_TIMEOUT": "5",
        **extra,
    }


def test_the_commands_end_to_end(
    gh: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in _environ(gh).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SHOW_DIFF_PYTHON", sys.executable)
    output = tmp_path / "diff.txt"
    checkout = checkout_with(tmp_path, EMPTY)
    assert main(["resync-diff", "--checkout", str(checkout), "--output", str(output)]) == 0
    assert output.read_text() == EMPTY
    gh.reset_counters()
    assert main(["resync", "--diff", str(output)]) == 0
    assert gh.calls == []  # nothing to do: no call at all, no token asked for

    output.write_text(DIFF)
    assert main(["resync", "--diff", str(output), "--dry-run"]) == 0
    assert gh.calls == []
    assert main(["resync", "--diff", str(output)]) == 0
    assert len(gh.repo(PATCHES).pushes) == 1
    assert len(gh.issues(PATCHES)) == 1

    gh.faults.at_rate(1.0, Fault.server_error(502), method="POST", path="/git/commits")
    assert main(["resync", "--diff", str(output)]) == 1  # visible: the job fails
    assert gh.issues(PATCHES)[0].comments == []


def test_in_actions_the_diff_job_clones_anonymously_and_hands_on_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The patches feedstock as a git server would serve it, with the stand-in in it.
    seed = checkout_with(tmp_path, DIFF)
    server = tmp_path / "server" / "conda-forge"
    server.mkdir(parents=True)
    bare = server / f"{PATCHES}.git"
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "seed"],
    ):
        subprocess.run(["git", *args], cwd=seed, check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(bare)], check=True)
    outputs = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_SERVER_URL", f"file://{tmp_path / 'server'}")
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    monkeypatch.setenv("SHOW_DIFF_PYTHON", sys.executable)
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_not_for_the_diff")
    assert main(["resync-diff", "--output", str(tmp_path / "diff.txt")]) == 0
    text = outputs.read_text()
    assert "empty<<ghadelimiter_" in text
    assert "\nfalse\n" in text
    assert "libbar >=1,<2" in text
    assert "ghs_not_for_the_diff" not in text
