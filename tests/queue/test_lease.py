"""The run lease against a real bare remote, with a fake clock."""

from __future__ import annotations

import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from admin_requests.errors import GitError
from admin_requests.queue.dispatch import QueueRunner
from admin_requests.queue.gitops import Git
from admin_requests.queue.lease import (
    LEASE_REF,
    MAX_TTL,
    LeaseBusyError,
    LeaseInfo,
    LeaseLostError,
    LeaseStuckError,
    RunLease,
)
from admin_requests.queue.report import Disposition
from tests.fakes.clock import START, FakeClock
from tests.fakes.tracker import MemoryTracker
from tests.fakes.wiring import unreachable_services
from tests.queue.support import BOT, Repo, ScriptedKind, registry_with, state_of, things

pytestmark = pytest.mark.soak

TTL = timedelta(minutes=20)


def git_out(*args: str, cwd: Path | None = None, stdin: str | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True, input=stdin
    ).stdout


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    origin = Repo(tmp_path / "origin")
    bare = tmp_path / "remote.git"
    git_out("clone", "--quiet", "--bare", str(origin.root), str(bare))
    return bare


def checkout(remote: Path, target: Path) -> Git:
    git_out("clone", "--quiet", str(remote), str(target))
    return Git(target, BOT)


def lease_for(git: Git, clock: FakeClock, holder: str) -> RunLease:
    return RunLease(git, "origin", holder=holder, clock=clock, ttl=TTL)


def remote_lease(remote: Path) -> LeaseInfo | None:
    listed = git_out("--git-dir", str(remote), "for-each-ref", "--format=%(objectname)", LEASE_REF)
    if not listed.strip():
        return None
    return LeaseInfo.from_message(
        git_out("--git-dir", str(remote), "log", "-1", "--format=%B", LEASE_REF)
    )


def test_one_holder_at_a_time_then_released(remote: Path, tmp_path: Path) -> None:
    clock = FakeClock(START)
    first = lease_for(checkout(remote, tmp_path / "a"), clock, "run A")
    second = lease_for(checkout(remote, tmp_path / "b"), clock, "run B")

    first.acquire()
    info = remote_lease(remote)
    assert info is not None
    assert (info.holder, info.expires) == ("run A", clock.now + TTL)
    with pytest.raises(LeaseBusyError, match="'run A' holds the run lease"):
        second.acquire()

    first.release()
    assert remote_lease(remote) is None
    second.acquire()
    assert remote_lease(remote) is not None
    second.release()


def test_the_lease_is_a_ref_outside_the_branches(remote: Path, tmp_path: Path) -> None:
    main_before = git_out("--git-dir", str(remote), "rev-parse", "main")
    with lease_for(checkout(remote, tmp_path / "a"), FakeClock(START), "run A"):
        refs = git_out("--git-dir", str(remote), "for-each-ref", "--format=%(refname)").split()
        assert LEASE_REF in refs
    assert git_out("--git-dir", str(remote), "rev-parse", "main") == main_before
    assert LEASE_REF not in git_out("--git-dir", str(remote), "for-each-ref").split()


def test_a_stale_lease_of_a_killed_run_is_taken_over(remote: Path, tmp_path: Path) -> None:
    clock = FakeClock(START)
    killed = lease_for(checkout(remote, tmp_path / "a"), clock, "killed run")
    killed.acquire()  # ... and never released
    later = lease_for(checkout(remote, tmp_path / "b"), clock, "next run")

    clock.advance(TTL - timedelta(seconds=1))
    with pytest.raises(LeaseBusyError):
        later.acquire()
    clock.advance(timedelta(seconds=2))
    later.acquire()
    info = remote_lease(remote)
    assert info is not None
    assert info.holder == "next run"
    # The killed run, were it only slow, finds out at its next check and stops.
    with pytest.raises(LeaseLostError):
        killed.keep()


def test_keep_renews_only_when_due_and_detects_a_takeover(remote: Path, tmp_path: Path) -> None:
    clock = FakeClock(START)
    lease = lease_for(checkout(remote, tmp_path / "a"), clock, "run A")
    lease.acquire()
    first = lease.held
    clock.advance(TTL / 8)
    lease.keep()
    assert lease.held == first  # not due yet: no push at all
    clock.advance(TTL / 4)
    lease.keep()
    assert lease.held != first
    info = remote_lease(remote)
    assert info is not None
    assert info.expires == clock.now + TTL
    assert info.acquired == clock.now - TTL / 8 - TTL / 4  # still when it was taken

    # Someone takes it over (its renewals stopped for longer than the time to live).
    clock.advance(TTL * 2)
    lease_for(checkout(remote, tmp_path / "b"), clock, "run B").acquire()
    with pytest.raises(LeaseLostError, match="took over"):
        lease.keep()
    lease.release()  # not ours any more: left alone
    info = remote_lease(remote)
    assert info is not None
    assert info.holder == "run B"


def test_two_takeovers_of_the_same_stale_lease_cannot_both_win(
    remote: Path, tmp_path: Path
) -> None:
    clock = FakeClock(START)
    lease_for(checkout(remote, tmp_path / "dead"), clock, "dead").acquire()
    clock.advance(TTL * 2)
    one = lease_for(checkout(remote, tmp_path / "one"), clock, "one")
    two = lease_for(checkout(remote, tmp_path / "two"), clock, "two")
    # Both saw the same stale commit; the swap is a compare-and-swap on that commit.
    seen = one.current()
    assert seen is not None
    stale = seen[0]
    assert one._swap(stale, one._lease_commit(clock.now, clock.now))
    assert not two._swap(stale, two._lease_commit(clock.now, clock.now))


def test_an_unreachable_remote_is_an_error_not_a_lease(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "lonely")
    repo.git("remote", "add", "origin", str(tmp_path / "nowhere.git"))
    lease = lease_for(Git(repo.root, BOT), FakeClock(START), "run A")
    with pytest.raises(GitError):
        lease.acquire()
    assert lease.held is None


def test_a_runner_that_loses_its_lease_stops_before_the_next_request(
    tmp_path: Path, kind: ScriptedKind
) -> None:
    repo = Repo(tmp_path / "queue")
    for name in ("a.yml", "b.yml", "c.yml"):
        repo.add_request(name, things(f"{name[0]}1", f"{name[0]}2"))
    checks = 0

    def guard() -> None:
        nonlocal checks
        checks += 1
        # Checked before reading requests a, b and c, then before a's chunk, a1, a2, b's
        # chunk, b1; lost before b2.
        if checks > 8:
            raise LeaseLostError("another run took over")

    runner = QueueRunner(
        repo.root,
        services=unreachable_services(),
        git=Git(repo.root, BOT),
        clock=FakeClock(START),
        tracker=MemoryTracker(),
        registry=registry_with(kind),
    )
    report = runner.run(guard=guard)

    assert kind.calls == ["a1", "a2", "b1"]
    # b and c are left for the next run, as they are: no attempt counted (issue 16).
    assert [(r.request, r.disposition) for r in report.results] == [
        ("requests/a.yml", Disposition.COMPLETED),
        ("requests/b.yml", Disposition.UNFINISHED),
        ("requests/c.yml", Disposition.UNFINISHED),
    ]
    assert "not attempted" in report.results[1].items[1].outcome.detail
    assert report.stopped is not None
    assert report.needs_attention
    assert repo.exists("requests/c.yml")
    # b1's progress is committed (the file shrinks to b2), and no attempt is counted.
    assert "b1" not in repo.read("requests/b.yml")
    assert state_of(repo, "queue-state/b.yml.json")["attempts"] == 0


def test_two_runs_taking_a_free_lease_at_the_same_moment(remote: Path, tmp_path: Path) -> None:
    """The server's lock decides; the loser finds the lease busy, never an error.

    (Pushing at the same moment, the loser's push is refused by the server with
    'failed to update ref', not as stale: it must still read as a lost race.)
    """
    clock = FakeClock(START)
    leases = [lease_for(checkout(remote, tmp_path / n), clock, n) for n in ("one", "two")]
    for _ in range(10):
        outcomes: list[str] = []

        def take(lease: RunLease, outcomes: list[str]) -> None:
            try:
                lease.acquire()
                outcomes.append("held")
            except LeaseBusyError:
                outcomes.append("busy")

        threads = [threading.Thread(target=take, args=(lease, outcomes)) for lease in leases]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["busy", "held"]
        for lease in leases:
            lease.release()
        assert remote_lease(remote) is None


# Issue 16 finding 8: a lease pushed by hand cannot stop processing.


def forge(remote: Path, holder: str, acquired: datetime, expires: datetime) -> None:
    """Push a lease commit the way anyone with push access could, outside our code."""
    message = LeaseInfo(holder, acquired, expires).to_message()
    tree = git_out("--git-dir", str(remote), "mktree", cwd=None, stdin="")
    commit = git_out(
        "--git-dir",
        str(remote),
        "-c",
        "user.name=x",
        "-c",
        "user.email=x@example.invalid",
        "commit-tree",
        tree.strip(),
        "-m",
        message,
    ).strip()
    git_out("--git-dir", str(remote), "update-ref", LEASE_REF, commit)


def test_a_lease_that_expires_beyond_the_maximum_is_taken_over_and_reported(
    remote: Path, tmp_path: Path
) -> None:
    clock = FakeClock(START)
    forge(remote, "forged", START, datetime(2099, 1, 1, tzinfo=UTC))
    run = lease_for(checkout(remote, tmp_path / "a"), clock, "next run")

    run.acquire()

    info = remote_lease(remote)
    assert info is not None
    assert info.holder == "next run"
    [note] = run.notes
    assert "'forged' holds it until 2099-01-01T00:00:00Z" in note
    assert "further ahead than a run's lease can last (1 h)" in note


def test_a_lease_taken_in_the_future_is_taken_over(remote: Path, tmp_path: Path) -> None:
    clock = FakeClock(START)
    forge(remote, "time traveller", START + timedelta(hours=2), START + timedelta(minutes=30))
    run = lease_for(checkout(remote, tmp_path / "a"), clock, "next run")
    run.acquire()
    assert "in the future" in run.notes[0]


def test_the_maximum_itself_and_a_little_clock_skew_are_still_obeyed(
    remote: Path, tmp_path: Path
) -> None:
    clock = FakeClock(START)
    forge(remote, "slow clock", START, START + MAX_TTL + timedelta(minutes=4))
    with pytest.raises(LeaseBusyError):
        lease_for(checkout(remote, tmp_path / "a"), clock, "next run").acquire()


def test_a_lease_held_for_more_than_a_few_runs_fails_loudly(remote: Path, tmp_path: Path) -> None:
    clock = FakeClock(START)
    # Renewed in time, but taken over three maximum lifetimes ago: no run lasts that long.
    forge(remote, "stuck", START - 3 * MAX_TTL - timedelta(minutes=1), START + timedelta(minutes=5))
    run = lease_for(checkout(remote, tmp_path / "a"), clock, "next run")
    with pytest.raises(LeaseStuckError, match="the queue is stuck: 'stuck' has held"):
        run.acquire()
    # Held for less: an ordinary busy queue.
    forge(remote, "long run", START - 2 * MAX_TTL, START + timedelta(minutes=5))
    with pytest.raises(LeaseBusyError):
        run.acquire()
