"""The few git operations the queue needs: commit one request's results, find who added
a file, and push with a bounded rebase-and-retry.

Commits use a bot identity given by the caller and never the machine's git config, so
the history says plainly that automation made them.

Reads (fetch, ls-remote) authenticate with ``token`` (the job's GITHUB_TOKEN). Every
push (the results, and the run lease's updates) authenticates with a token from
``push_token`` when one is given: a context manager that yields a token for that one
``git push`` and ends it afterwards (``CredentialBroker.push_token``: an installation
token of the organisation's App, the ruleset's only bypass actor; docs/security.md W1).
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from admin_requests.errors import CredentialError, GitError, PushRejectedError
from admin_requests.git_auth import token_environment
from admin_requests.queue.checkpoints import Checkpoint, no_checkpoint

log = logging.getLogger(__name__)


# Yields a token good for one push, and ends it when the block exits.
PushToken = Callable[[], AbstractContextManager[str]]

# 'https://user:secret@host' in git's messages: the push remote carries the job token.
CREDENTIALS_IN_URL = re.compile(r"(?<=://)[^/@\s]+@")


def redact(text: str) -> str:
    return CREDENTIALS_IN_URL.sub("***@", text)


@dataclass(frozen=True)
class Identity:
    """GitHub Actions' own bot, so commits show as automation with its avatar."""

    name: str = "github-actions[bot]"
    email: str = "41898282+github-actions[bot]@users.noreply.github.com"


@dataclass(frozen=True)
class Author:
    name: str
    email: str


class Git:
    def __init__(
        self,
        root: Path,
        identity: Identity | None = None,
        environ: Mapping[str, str] | None = None,
        checkpoint: Checkpoint = no_checkpoint,
        token: str | None = None,
        push_token: PushToken | None = None,
    ) -> None:
        self.root = root
        self.identity = identity or Identity()
        self.environ = dict(environ) if environ is not None else None
        if token:
            # Fetches and pushes authenticate per command (git_auth.py); the checkout's
            # own config never holds the token.
            self.environ = {**(self.environ or os.environ), **token_environment(token)}
        self.push_token = push_token
        self.checkpoint = checkpoint  # see checkpoints.py (crash-safety tests)

    def run(
        self,
        *args: str,
        check: bool = True,
        stdin: str | None = None,
        auth: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """``git ARGS``; ``auth`` (git_auth.token_environment) replaces the read token's
        header for this one command."""
        argv = [
            "git",
            "-c",
            f"user.name={self.identity.name}",
            "-c",
            f"user.email={self.identity.email}",
            "-c",
            "commit.gpgsign=false",
            *args,
        ]
        result = subprocess.run(
            argv,
            cwd=self.root,
            capture_output=True,
            text=True,
            check=False,
            env={**(self.environ or os.environ), **auth} if auth else self.environ,
            input=stdin,
        )
        if check and result.returncode != 0:
            detail = redact(result.stderr.strip() or result.stdout.strip())
            raise GitError(
                f"'git {redact(' '.join(args))}' failed in {str(self.root)!r} with exit code "
                f"{result.returncode}: {detail}"
            )
        return result

    def push(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``git push ARGS``, with a token from ``push_token`` minted for this command only.

        Without ``push_token`` (a local run, or no credentials backend) the push uses the
        read token, which a ruleset that requires pull requests refuses on ``main``.
        """
        if self.push_token is None:
            return self.run("push", *args, check=check)
        try:
            with self.push_token() as token:
                return self.run("push", *args, check=check, auth=token_environment(token))
        except CredentialError as exc:
            # A GitError, so the callers' handling applies: the run lease counts it as
            # lost (the safe side), the results' push fails the job and is redone next run.
            raise GitError(f"cannot get a token to push with: {exc}") from None

    def _known(self, paths: Sequence[str]) -> list[str]:
        """The paths git can take: present on disk or tracked (deleted ones)."""
        tracked = set(self.run("ls-files", "--", *paths).stdout.splitlines()) if paths else set()
        return [p for p in paths if (self.root / p).exists() or p in tracked]

    def commit(self, paths: Sequence[str], message: str) -> bool:
        """Commit the current content of ``paths`` (deletions too); False if unchanged."""
        known = self._known(paths)
        if not known:
            return False
        self.run("add", "--all", "--", *known)
        staged = self.run("diff", "--cached", "--quiet", "--", *known, check=False)
        if staged.returncode == 0:
            return False
        # The message goes through stdin: as an argument, a long one (a request of a few
        # thousand items) exceeds the kernel's limit on one argument (E2BIG).
        self.run("commit", "--quiet", "--file", "-", "--", *known, stdin=message)
        return True

    def head(self) -> str:
        return self.run("rev-parse", "HEAD").stdout.strip()

    def discard_interrupted(self, paths: Sequence[str]) -> list[str]:
        """Put ``paths`` back as HEAD has them; return what an interrupted run left changed.

        A run killed between changing a request's files and committing them leaves them
        changed in a checkout that is used again (a self-hosted runner): without this,
        a request file deleted on disk but never committed would never be processed nor
        removed. Its work is redone idempotently.
        """
        status = self.run(
            "status", "--porcelain", "--no-renames", "--untracked-files=all", "--", *paths
        )
        entries = [(line[:2], line[3:]) for line in status.stdout.splitlines() if line.strip()]
        changed = [path for _, path in entries]
        if not changed:
            return []
        self.run("reset", "--quiet", "HEAD", "--", *changed)  # unstage
        in_head = set(self.run("ls-tree", "--name-only", "HEAD", "--", *changed).stdout.split())
        if in_head:
            self.run("checkout", "--quiet", "HEAD", "--", *sorted(in_head))
        for path in changed:
            if path not in in_head:
                (self.root / path).unlink(missing_ok=True)
        return changed

    def sync(self, remote: str, branch: str) -> str:
        """Bring HEAD up to ``remote``/``branch``, keeping local commits on top of it.

        Taken after the run lease, so the run starts from what the previous run pushed
        and never redoes a request that run already recorded. Returns the remote's
        commit: the commits after it are this checkout's own, still to push (an
        interrupted run's included).
        """
        tip, conflict = self._rebase_onto(remote, branch)
        if conflict is not None:
            raise GitError(
                f"cannot bring this checkout up to {remote}/{branch}: its own commits "
                f"conflict with it ({conflict}). Start from a fresh checkout of the branch."
            )
        return tip

    def _rebase_onto(self, remote: str, branch: str) -> tuple[str, str | None]:
        """Fetch ``remote``/``branch`` and rebase HEAD's own commits onto it.

        Returns the fetched commit and, when the rebase conflicted (it is then aborted,
        leaving HEAD as it was), git's redacted explanation.
        """
        self.run("fetch", "--quiet", remote, branch)
        tip = self.run("rev-parse", "FETCH_HEAD").stdout.strip()
        rebased = self.run("rebase", "--quiet", "FETCH_HEAD", check=False)
        if rebased.returncode == 0:
            return tip, None
        self.run("rebase", "--abort", check=False)
        return tip, redact(rebased.stderr.strip())

    def commits_since(self, base: str) -> int:
        """How many commits HEAD has that ``base`` does not."""
        return int(self.run("rev-list", "--count", f"{base}..HEAD").stdout.strip())

    def commit_that_added(self, path: str) -> str | None:
        """The latest commit that added ``path`` (a reused name counts from its re-adding).

        Needs the history: check out with ``fetch-depth: 0``.
        """
        out = self.run(
            "log", "--diff-filter=A", "--format=%H", "--", path, check=False
        ).stdout.split()
        return out[0] if out else None

    def author_of(self, sha: str) -> Author | None:
        result = self.run("show", "--no-patch", "--format=%an%x00%ae", sha, check=False)
        if result.returncode != 0 or "\x00" not in result.stdout:
            return None
        name, email = result.stdout.strip().split("\x00", 1)
        return Author(name, email)

    def push_with_rebase(self, remote: str, branch: str, attempts: int = 5) -> None:
        """Push HEAD to ``remote``/``branch``; on rejection rebase onto it and try again.

        Other merges may land while a run is processing; our commits only touch request
        and state files, so a rebase normally applies cleanly. A conflict (someone edited
        the same request meanwhile) aborts: the next run redoes the work idempotently.
        """
        for attempt in range(1, attempts + 1):
            self.checkpoint("push")
            pushed = self.push("--quiet", remote, f"HEAD:refs/heads/{branch}", check=False)
            if pushed.returncode == 0:
                self.checkpoint("pushed")
                return
            self.checkpoint("push rejected")
            log.warning(
                "push attempt %d of %d was rejected: %s",
                attempt,
                attempts,
                redact(pushed.stderr.strip()),
            )
            if attempt == attempts:
                break
            _, conflict = self._rebase_onto(remote, branch)
            if conflict is not None:
                raise PushRejectedError(
                    f"our commits conflict with changes pushed to {branch!r} meanwhile "
                    f"({conflict}); nothing was pushed. The next run starts "
                    "from the new state and redoes this work."
                )
        raise PushRejectedError(
            f"pushing to {branch!r} was rejected {attempts} times in a row; nothing was "
            "pushed. The next run redoes this work; if it keeps happening, check the "
            "branch protection rules allow the workflow to push."
        )
