"""Run this repository's workflows under nektos/act, offline, on the host runner.

Each run happens in a throwaway git repository built from the working tree, so a test
can add request files and commits without touching the checkout it runs from.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
ACT = Path(sys.executable).parent / "act"
GIT_IDENTITY = ["-c", "user.name=test", "-c", "user.email=test@example.invalid"]


@dataclass
class ActResult:
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *GIT_IDENTITY, *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def make_repository(destination: Path) -> Path:
    """A git repository holding the working tree's files, committed on 'main'."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    for name in filter(None, files):
        source = REPO_ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git(destination, "init", "-q", "-b", "main")
    git(destination, "add", "-A")
    git(destination, "commit", "-qm", "base")
    return destination


def run_act(
    repo: Path,
    event_name: str,
    event: dict[str, Any],
    workflow: str,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 900,
) -> ActResult:
    event_path = repo.parent / f"{event_name}-event.json"
    event_path.write_text(json.dumps(event))
    argv = [
        str(ACT),
        event_name,
        "-e",
        str(event_path),
        "-W",
        f".github/workflows/{workflow}",
        "-P",
        "ubuntu-latest=-self-hosted",
        "--no-cache-server",
    ]
    for key, value in (env or {}).items():
        argv += ["--env", f"{key}={value}"]
    completed = subprocess.run(
        argv, cwd=repo, capture_output=True, text=True, timeout=timeout, check=False
    )
    return ActResult(completed.returncode, completed.stdout + completed.stderr)
