"""Run this repository's workflows under nektos/act, offline, against the sandbox.

A ``Workspace`` is a throwaway git repository holding the working tree's files, with an
``origin`` that looks like production's (``https://github.com/conda-forge/admin-requests``)
but is a local bare repository: a private git config (``GIT_CONFIG_GLOBAL``) rewrites
that URL with ``url.<...>.insteadOf``. The workspace's own commands (a maintainer's
merged pull request) reach the bare repository directly. With ``serve_through`` the
workflow's job reaches it over HTTP through the sandbox's git server instead, which checks
the token each fetch and push sends in its header and the repository's rulesets, as
github.com does; without it (check.yml's tests) the job uses the bare repository too, and
a local remote ignores the header. The workflow file itself is untouched and
production-correct; only where the push lands differs.

act runs each job on this machine (``-P ubuntu-latest=-self-hosted``) in a copy of the
workspace (act skips ``actions/checkout`` of the repository itself and copies the folder
instead), so before each run the workspace is reset to the remote's ``main``, as a real
checkout would be.

Affordability: a workspace may share the caller's ``.venv`` (a symlink). The workflow's
``actions/setup`` step still runs ``python3 dev.py setup``, which finds that environment
current for the same lock file and Python, and returns at once instead of spending a
minute on pip. The package in it is the same working tree the workspace was copied from.
Pass ``share_venv=False`` to have the job build its own (check.yml's test does, so the
setup action stays covered from scratch).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fakes.git_http import FakeGitServer

from . import org

REPO_ROOT = Path(__file__).resolve().parents[1]
ACT = Path(sys.executable).parent / "act"
SERVER_URL = "https://github.com"
ORIGIN_URL = f"{SERVER_URL}/{org.REPOSITORY}.git"
IDENTITY = ("-c", "user.name=admin-requests demo", "-c", "user.email=demo@example.invalid")


@dataclass
class ActResult:
    returncode: int
    output: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def working_tree_files() -> list[str]:
    """Tracked and new files of this checkout (not ignored ones such as .venv)."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO_ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split("\0")
    return [name for name in listed if name and (REPO_ROOT / name).is_file()]


@dataclass
class Workspace:
    root: Path
    repo: Path = field(init=False)
    remote: Path = field(init=False)
    gitconfig: Path = field(init=False)
    # The job's git config under act: the same as ``gitconfig`` until ``serve_through``.
    job_gitconfig: Path = field(init=False)

    def __post_init__(self) -> None:
        self.repo = self.root / "admin-requests"
        self.remote = self.root / "remote.git"
        self.gitconfig = self.root / "gitconfig"
        self.job_gitconfig = self.gitconfig

    @classmethod
    def create(cls, root: Path, *, share_venv: bool = True) -> Workspace:
        """The working tree committed on 'main' and pushed to a bare 'origin'."""
        workspace = cls(root)
        root.mkdir(parents=True, exist_ok=True)
        workspace.gitconfig.write_text(
            f'[url "{workspace.remote}"]\n\tinsteadOf = {ORIGIN_URL}\n'
            "[init]\n\tdefaultBranch = main\n"
        )
        subprocess.run(
            ["git", "init", "-q", "--bare", str(workspace.remote)],
            check=True,
            capture_output=True,
            env=workspace.git_environ(),
        )
        for name in working_tree_files():
            target = workspace.repo / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, target)
        # The sample queue starts empty whatever this checkout's requests/ holds.
        for stale in (workspace.repo / "requests").glob("*.y*ml"):
            stale.unlink()
        if share_venv and (REPO_ROOT / ".venv").is_dir():
            (workspace.repo / ".venv").symlink_to(REPO_ROOT / ".venv", target_is_directory=True)
        workspace.git("init", "-q", "-b", "main")
        workspace.git("remote", "add", "origin", ORIGIN_URL)
        workspace.git("add", "-A")
        workspace.git("commit", "-qm", "admin-requests as of this checkout")
        workspace.git("push", "-q", "origin", "main")
        return workspace

    def serve_through(self, server: FakeGitServer) -> None:
        """Make the workflow's job fetch and push over HTTP through ``server``."""
        url = server.serve(org.HOME, self.remote)
        self.job_gitconfig = self.root / "job-gitconfig"
        self.job_gitconfig.write_text(
            f'[url "{url}"]\n\tinsteadOf = {ORIGIN_URL}\n[init]\n\tdefaultBranch = main\n'
        )

    # -- git ----------------------------------------------------------------------------

    def git_environ(self) -> dict[str, str]:
        return {
            **os.environ,
            "GIT_CONFIG_GLOBAL": str(self.gitconfig),
            "GIT_CONFIG_NOSYSTEM": "1",
        }

    def git(self, *args: str, cwd: Path | None = None) -> str:
        return subprocess.run(
            ["git", *IDENTITY, *args],
            cwd=cwd or self.repo,
            check=True,
            capture_output=True,
            text=True,
            env=self.git_environ(),
        ).stdout.strip()

    def remote_git(self, *args: str) -> str:
        return self.git(*args, cwd=self.remote)

    def head(self) -> str:
        return self.remote_git("rev-parse", "main")

    def remote_file(self, path: str) -> str | None:
        """A file on the remote's main, or None."""
        try:
            return self.remote_git("show", f"main:{path}")
        except subprocess.CalledProcessError:
            return None

    def remote_files(self, folder: str) -> list[str]:
        listed = self.remote_git("ls-tree", "--name-only", "main", f"{folder}/")
        return [line for line in listed.splitlines() if line]

    def sync(self) -> None:
        """Make the workspace the remote's main, as a fresh checkout would be."""
        self.git("fetch", "-q", "origin", "main")
        self.git("reset", "-q", "--hard", "FETCH_HEAD")

    def merge_request(self, name: str, text: str, *, author: str, number: int) -> str:
        """Add ``requests/name`` as a merged pull request by ``author`` would; push it."""
        self.sync()
        (self.repo / "requests" / name).write_text(text, encoding="utf-8")
        self.git("add", "-A")
        self.git(
            "commit",
            "-qm",
            f"Merge pull request #{number} from {author}/{Path(name).stem}\n\nAdd {name}",
            f"--author={author} <{author}@users.noreply.github.com>",
        )
        self.git("push", "-q", "origin", "main")
        return self.git("rev-parse", "HEAD")

    # -- act ----------------------------------------------------------------------------

    def run_act(
        self,
        event_name: str,
        event: dict[str, Any],
        workflow: str,
        *,
        env: dict[str, str] | None = None,
        variables: dict[str, str] | None = None,
        github_token: str = "",
        timeout: float = 900,
        sync: bool = True,
        local_actions: dict[str, Path] | None = None,
    ) -> ActResult:
        """Run ``workflow`` for ``event_name``, on the remote's current main unless not ``sync``.

        ``local_actions`` maps ``owner/name@ref`` (as a ``uses:`` names it) to a folder
        act runs instead (its ``--local-repository``): act cannot fetch an action
        offline, and skips only the checkout of the repository itself.
        """
        if sync:
            self.sync()
        event_path = self.root / f"{event_name}-{time.monotonic_ns()}.json"
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
            "--env",
            f"GIT_CONFIG_GLOBAL={self.job_gitconfig}",
        ]
        for key, value in (env or {}).items():
            argv += ["--env", f"{key}={value}"]
        for key, value in (variables or {}).items():
            argv += ["--var", f"{key}={value}"]
        if github_token:
            argv += ["-s", f"GITHUB_TOKEN={github_token}"]
        for action, folder in (local_actions or {}).items():
            argv += ["--local-repository", f"{action}={folder}"]
        started = time.monotonic()
        completed = subprocess.run(
            argv,
            cwd=self.repo,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=self.git_environ(),
        )
        return ActResult(
            completed.returncode, completed.stdout + completed.stderr, time.monotonic() - started
        )


# -- events, as GitHub sends them -------------------------------------------------------


def repository_payload() -> dict[str, Any]:
    owner, name = org.REPOSITORY.split("/")
    return {
        "full_name": org.REPOSITORY,
        "name": name,
        "owner": {"login": owner},
        "default_branch": "main",
    }


def push_event(before: str, after: str) -> dict[str, Any]:
    return {
        "ref": "refs/heads/main",
        "before": before,
        "after": after,
        "repository": repository_payload(),
    }


def schedule_event() -> dict[str, Any]:
    return {"schedule": "*/15 * * * *", "repository": repository_payload()}


def dispatch_event(*, retry: str = "", dry_run: bool = False) -> dict[str, Any]:
    # workflow_dispatch inputs arrive as strings in the payload.
    return {
        "ref": "refs/heads/main",
        "inputs": {"retry": retry, "dry_run": "true" if dry_run else "false"},
        "repository": repository_payload(),
    }
