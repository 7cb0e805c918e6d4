"""process.yml run for real under act: a dry-run dispatch changes nothing.

The real (pushing) run needs a GitHub remote; its parts are covered by the unit tests
(gitops push with rebase, the runner, the issue tracker against FakeGitHub).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.act

ROOT = Path(__file__).resolve().parents[1]
ACT = Path(sys.executable).parent / "act"
GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        [*GIT, *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def _repository(destination: Path) -> Path:
    """A git repository holding this working tree's files, committed on 'main'."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    _git(destination, "init", "-q", "-b", "main")
    _git(destination, "add", "-A")
    _git(destination, "commit", "-qm", "base")
    return destination


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str, int]:
    if not ACT.exists():
        pytest.skip("act is not installed in this environment")
    if '"setup"' not in (ROOT / "dev.py").read_text():
        pytest.skip("actions/setup needs 'python3 dev.py setup' (on main)")
    repo = _repository(tmp_path_factory.mktemp("act") / "repo")
    (repo / "requests").mkdir(exist_ok=True)
    (repo / "requests" / "archive-old.yml").write_text(
        "action: archive\nfeedstocks:\n  - old-thing\n"
    )
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "Add archive-old.yml")
    head = _git(repo, "rev-parse", "HEAD")
    # As GitHub sends it: workflow_dispatch inputs arrive as strings in the payload.
    event = {"inputs": {"dry_run": "true", "retry": ""}, "ref": "refs/heads/main"}
    event_path = repo.parent / "dispatch.json"
    event_path.write_text(json.dumps(event))
    completed = subprocess.run(
        [
            str(ACT),
            "workflow_dispatch",
            "-e",
            str(event_path),
            "-W",
            ".github/workflows/process.yml",
            "-P",
            "ubuntu-latest=-self-hosted",
            "--no-cache-server",
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return repo, head, completed.stdout + completed.stderr, completed.returncode


def test_a_dry_run_dispatch_reports_and_changes_nothing(
    dry_run: tuple[Path, str, str, int],
) -> None:
    repo, head, output, returncode = dry_run
    assert returncode == 0, output[-3000:]
    assert "[dry run] requests/archive-old.yml: would run" in output
    assert "archive the repository old-thing-feedstock" in output
    assert _git(repo, "rev-parse", "HEAD") == head
    assert (repo / "requests" / "archive-old.yml").exists()


def test_a_dry_run_never_sets_up_pushing(dry_run: tuple[Path, str, str, int]) -> None:
    _, _, output, _ = dry_run
    assert "Run Main let git push with the job token" not in output
    assert "Run Main process the queue" in output
