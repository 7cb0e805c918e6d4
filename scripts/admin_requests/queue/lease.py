"""The run lease: at most one processing run carries requests out at a time.

The workflow's ``concurrency`` group already serialises runs; the lease is what still
holds when it does not (a group misconfigured or renamed, a second workflow, a run
started by hand from a laptop with ``--push``). Two runs that both executed the queue
would both carry out the same requests.

The lease is a branch of its own on the remote, ``admin-requests/lease``, so taking it
never adds a commit to ``main``. A ruleset in ``deploy/github/repository.yml`` lets only
the organisation's App create, update or delete it, and processing writes it with the
App's token, as it pushes ``main`` (docs/security.md, W13). It points at a parentless
commit with an empty tree whose message says who holds it and until when. Every change
is a compare-and-swap on the remote, which git does atomically (``git push
--force-with-lease=REF:EXPECTED``; an empty EXPECTED means "must not exist"):

- take: create the reference; when it exists and its ``expires`` has passed (its run
  was killed), replace exactly that commit (a stale-lease takeover);
- keep: while working, replace our own commit with a later ``expires`` once a
  quarter of the time to live has passed; failing means another run took over, so we
  stop before starting anything else;
- release: delete the reference if it is still ours.

After taking the lease the run fast-forwards its checkout to the remote branch, so it
never redoes what the previous holder already recorded there.

Runs on different machines compare their clocks: keep the time to live well above any
clock skew (GitHub's runners are NTP-synchronised).

Where that ruleset is missing (a deployment not yet applied, a fork), the lease is data
anyone who can push to the repository can write, so it is checked before it is obeyed
(issue 16, finding 8):

- a lease that expires further ahead than ``MAX_TTL`` (plus clock skew), or that was
  taken in the future, was written by hand or by a broken run, never by this code: it
  is taken over, and the takeover is reported (``RunLease.notes``, the job summary);
- a valid lease held for longer than ``STUCK_RUNS`` times ``MAX_TTL`` (a processing job
  is stopped by Actions after 60 minutes) means the queue is stuck: ``acquire`` raises
  ``LeaseStuckError``, and the run fails visibly instead of exiting 0 while nothing is
  processed. Its message says how to clear the lease.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType

from admin_requests.errors import AdminRequestsError, GitError
from admin_requests.queue.gitops import Git

log = logging.getLogger(__name__)

# A branch, not another namespace: only branches and tags can be protected by a ruleset.
LEASE_REF = "refs/heads/admin-requests/lease"
# Feedstock creation's lease (create-feedstocks.yml): the same mechanism, a branch of its
# own, so creation and processing never wait for each other, and the same ruleset
# ("the run lease", refs/heads/admin-requests/**) lets only the App write it.
CREATION_LEASE_REF = "refs/heads/admin-requests/create-feedstocks-lease"
# Where the run keeps its copy of the remote lease commit (a local reference only).
SEEN_REF = "refs/admin-requests/seen-lease"
DEFAULT_TTL = timedelta(minutes=20)
# The longest a run may make its lease last; --lease-ttl cannot go beyond it. A lease
# further ahead than this was not written by a run.
MAX_TTL = timedelta(hours=1)
# How far another runner's clock may be ahead of ours.
CLOCK_SKEW = timedelta(minutes=5)
# A lease held this many maximum lifetimes (3 h; a job lasts at most 60 minutes) is stuck.
STUCK_RUNS = 3
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

Clock = Callable[[], datetime]


class LeaseBusyError(AdminRequestsError):
    """Another run holds the lease and it has not expired: this run must not process."""


class LeaseStuckError(AdminRequestsError):
    """A valid-looking lease has been held for far longer than any run lasts."""


class LeaseLostError(AdminRequestsError):
    """The lease was taken over while this run worked: it must stop and push nothing."""


@dataclass(frozen=True)
class LeaseInfo:
    holder: str
    acquired: datetime
    expires: datetime

    def to_message(self) -> str:
        data = {
            "holder": self.holder,
            "acquired": self.acquired.strftime(TIME_FORMAT),
            "expires": self.expires.strftime(TIME_FORMAT),
        }
        return "admin-requests run lease\n\n" + json.dumps(data, sort_keys=True) + "\n"

    @classmethod
    def from_message(cls, message: str) -> LeaseInfo | None:
        """The lease in a commit message, or None when it is not one (a stale one, then)."""
        try:
            data = json.loads(message.split("\n\n", 1)[1])
            return cls(
                str(data["holder"]),
                datetime.strptime(data["acquired"], TIME_FORMAT).replace(tzinfo=UTC),
                datetime.strptime(data["expires"], TIME_FORMAT).replace(tzinfo=UTC),
            )
        except (IndexError, ValueError, KeyError, TypeError):
            return None


class RunLease:
    """See the module docstring. Use as a context manager, or acquire/keep/release."""

    def __init__(
        self,
        git: Git,
        remote: str,
        *,
        holder: str,
        clock: Clock,
        ttl: timedelta = DEFAULT_TTL,
        ref: str = LEASE_REF,
        work: str = "processing the queue",
        what: str = "the queue",
    ) -> None:
        if not timedelta(0) <= ttl <= MAX_TTL:
            raise ValueError(f"a lease's time to live must be between 0 and {MAX_TTL}")
        self.git = git
        self.remote = remote
        self.holder = holder
        self.clock = clock
        self.ttl = ttl
        self.ref = ref
        # What the holder does and what waits for it, in the words of the messages.
        self.work, self.what = work, what
        self.renew_every = ttl / 4
        self.held: str | None = None  # the lease commit we pushed, while we hold it
        self.acquired: datetime | None = None
        self.renewed_at: datetime | None = None
        self.lost = False
        # What the job summary must say about the lease (a forged one taken over...).
        self.notes: list[str] = []
        self._lock = threading.Lock()  # keep() may be called from item threads

    # -- the remote reference -----------------------------------------------------------

    def current(self) -> tuple[str, LeaseInfo | None] | None:
        """(commit, lease) of the remote reference, or None when nobody holds it."""
        try:
            commit = self._remote_commit()
        except GitError as exc:
            raise GitError(
                f"cannot read the run lease {self.ref!r} on {self.remote!r}; check that the "
                f"remote exists and this job may push to it ({exc})"
            ) from None
        if not commit:
            return None
        self.git.run("fetch", "--quiet", "--no-tags", self.remote, f"+{self.ref}:{SEEN_REF}")
        message = self.git.run("log", "-1", "--format=%B", commit).stdout
        return commit, LeaseInfo.from_message(message)

    def _lease_commit(self, now: datetime, acquired: datetime) -> str:
        info = LeaseInfo(self.holder, acquired, now + self.ttl)
        tree = self.git.run("mktree", stdin="").stdout.strip()
        return self.git.run("commit-tree", tree, "-m", info.to_message()).stdout.strip()

    def _swap(self, expected: str, new: str) -> bool:
        """Set the remote reference to ``new`` ("" deletes) if it is ``expected`` ("" absent)."""
        # git.push: with the App's token for this one command when the run has one.
        pushed = self.git.push(
            "--quiet",
            "--porcelain",
            f"--force-with-lease={self.ref}:{expected}",
            self.remote,
            f"{new}:{self.ref}",
            check=False,
        )
        if pushed.returncode == 0:
            return True
        # Rejected ('stale info' when our view was old; 'failed to update ref' when
        # another run's push won the server's lock at the same moment): it is a lost
        # race exactly when the reference is no longer what we expected.
        if self._remote_commit() != expected:
            return False
        raise GitError(
            f"cannot update the run lease {self.ref!r} on {self.remote!r}: "
            f"{pushed.stderr.strip() or pushed.stdout.strip()}"
        )

    def _remote_commit(self) -> str:
        """The commit the remote reference points at ("" when it does not exist)."""
        listed = self.git.run("ls-remote", "--quiet", self.remote, self.ref).stdout.split()
        return listed[0] if listed else ""

    # -- taking, keeping, releasing ------------------------------------------------------

    def acquire(self) -> None:
        """Take the lease, or raise LeaseBusyError; a lease past its expiry is taken over."""
        for _ in range(3):  # lost a race to another run taking it: look again
            now = self.clock()
            found = self.current()
            expected = ""
            if found is not None:
                commit, info = found
                invalid = self._invalid(info, now)
                if invalid is None and info is not None and info.expires > now:
                    self._refuse(info, now)
                if invalid is not None:
                    log.warning("taking over an invalid run lease: %s", invalid)
                    self.notes.append(f"The run lease was taken over: {invalid}.")
                else:
                    log.warning(
                        "taking over a stale run lease (%s); its run stopped without releasing it",
                        f"held by {info.holder!r} until {info.expires:%Y-%m-%dT%H:%M:%SZ}"
                        if info
                        else "unreadable",
                    )
                expected = commit
            new = self._lease_commit(now, now)
            if self._swap(expected, new):
                self.held, self.acquired, self.renewed_at = new, now, now
                return
        raise LeaseBusyError(
            "another run took the run lease at the same moment; this run does nothing."
        )

    def _invalid(self, info: LeaseInfo | None, now: datetime) -> str | None:
        """Why the remote lease cannot have been written by a run, or None if it can."""
        if info is None:
            return None  # unreadable: treated as stale, as before
        latest = now + MAX_TTL + CLOCK_SKEW
        if info.expires > latest:
            return (
                f"it said {info.holder!r} holds it until {info.expires:%Y-%m-%dT%H:%M:%SZ}, "
                f"further ahead than a run's lease can last ({_hours(MAX_TTL)}), so it was "
                "written by hand or by a broken run"
            )
        if info.acquired > now + CLOCK_SKEW:
            return (
                f"it said {info.holder!r} took it at {info.acquired:%Y-%m-%dT%H:%M:%SZ}, in the "
                "future, so it was written by hand or by a broken run"
            )
        return None

    def _refuse(self, info: LeaseInfo, now: datetime) -> None:
        """A valid lease is held: busy, or stuck when held for longer than any run lasts."""
        since, until = info.acquired.strftime(TIME_FORMAT), info.expires.strftime(TIME_FORMAT)
        branch = self.ref.removeprefix("refs/heads/")
        if now - info.acquired > STUCK_RUNS * MAX_TTL:
            raise LeaseStuckError(
                f"{self.what} is stuck: {info.holder!r} has held the run lease {branch!r} "
                f"since {since} (more than {STUCK_RUNS} x {_hours(MAX_TTL)}, longer than any "
                "run lasts), so nothing is being done. If no such run is in progress, find "
                "out who keeps renewing it, and remove the lease (only the App may: have an "
                "organisation owner disable the ruleset 'the run lease' for "
                f"'git push origin :{branch}', then enable it again)."
            )
        raise LeaseBusyError(
            f"another run is {self.work}: {info.holder!r} holds the run lease "
            f"{branch!r} since {since}, until {until} at the latest; this run does "
            "nothing. If that run was killed, its lease expires by itself."
        )

    def keep(self) -> None:
        """Renew the lease when due; LeaseLostError when another run took it over."""
        with self._lock:
            if self.held is None or self.lost:
                raise LeaseLostError("this run does not hold the run lease (any more)")
            now = self.clock()
            if self.renewed_at is not None and now - self.renewed_at < self.renew_every:
                return
            new = self._lease_commit(now, self.acquired or now)
            try:
                swapped = self._swap(self.held, new)
            except GitError:
                swapped = False  # cannot tell: behave as if lost, the safe side
            if not swapped:
                self.lost = True
                raise LeaseLostError(
                    "another run took over the run lease while this one worked (this run "
                    "was slower than the lease's time to live); stopping here, pushing nothing"
                )
            self.held, self.renewed_at = new, now

    def release(self) -> None:
        """Give the lease up if it is still ours (never raises: it expires anyway)."""
        if self.held is None:
            return
        try:
            if not self._swap(self.held, ""):
                log.warning("the run lease was taken over before this run released it")
        except GitError as exc:
            log.warning("cannot release the run lease (%s); it expires by itself", exc)
        self.held = None

    def __enter__(self) -> RunLease:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:g} h"
