"""Any request, however large, completes, and nothing churns (issue 16, finding 4).

- a request of a few thousand items gets a commit message git accepts (it went as one
  argument, over the kernel's limit for one, and every run failed with E2BIG);
- progress is committed chunk by chunk, so a run killed half-way loses one chunk;
- the run stops on its time budget, cleanly, and the next run goes on from there;
- due requests take turns, a chunk each, so a small one is not stuck behind a big one;
- the runner's own failure on a request still counts an attempt (backoff, parking);
- credentials near their end are renewed before the next item, and a 401 from our own
  token is one fresh mint and a retry, never the requester's failure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from admin_requests.access import Access
from admin_requests.errors import AccessDeniedError
from admin_requests.kinds.contract import Item, Outcome
from admin_requests.kinds.execution import guarded
from admin_requests.queue.dispatch import QueueConfig, QueueRunner
from admin_requests.queue.gitops import Git
from admin_requests.queue.report import MESSAGE_MAX_ITEMS, Disposition
from admin_requests.services import Services
from tests.fakes.clock import FakeClock
from tests.fakes.tracker import MemoryTracker
from tests.fakes.wiring import unreachable_services
from tests.queue.support import (
    BOT,
    POLICY,
    Repo,
    ScriptedKind,
    ThingParams,
    registry_with,
    state_of,
    things,
)

# Long enough that 1,200 of them, one line per item, exceed the 128 KiB that Linux allows
# one argument (MAX_ARG_STRLEN).
LONG = "x" * 60


def runner_for(
    repo: Repo,
    clock: FakeClock,
    kind: ScriptedKind,
    *,
    chunk_items: int = 1000,
    budget: timedelta | None = None,
    services_for: Any = None,
    max_parallel_items: int = 8,
) -> QueueRunner:
    return QueueRunner(
        repo.root,
        services=unreachable_services(),
        git=Git(repo.root, BOT),
        clock=clock,
        tracker=MemoryTracker(),
        config=QueueConfig(
            policy=POLICY,
            chunk_items=chunk_items,
            time_budget=budget,
            max_parallel_items=max_parallel_items,
        ),
        services_for=services_for,
        registry=registry_with(kind),
    )


class SlowKind(ScriptedKind):
    """Each item takes ``minutes`` of the fake clock."""

    def __init__(self, clock: FakeClock, minutes: float = 1.0) -> None:
        super().__init__()
        self.clock = clock
        self.minutes = minutes

    def execute(self, item: Item[ThingParams], services: Any) -> Outcome:
        self.clock.advance(timedelta(minutes=self.minutes))
        return super().execute(item, services)


def names(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{n}" for n in range(1, count + 1)]


def test_a_request_of_1200_items_completes_with_a_commit_message_git_takes(
    repo: Repo, clock: FakeClock, kind: ScriptedKind
) -> None:
    many = [f"thing-{n:05d}-{LONG}" for n in range(1200)]
    repo.add_request("a.yml", things(*many))

    report = runner_for(repo, clock, kind).run()

    [result] = report.results
    assert result.disposition is Disposition.COMPLETED, result.notes
    assert not repo.exists("requests/a.yml")
    message = repo.git("log", "-1", "--format=%B")
    assert message.startswith("Complete requests/a.yml: fake, 1200 item(s) done")
    listed = [line for line in message.splitlines() if line.startswith("- done: ")]
    assert len(listed) == MESSAGE_MAX_ITEMS
    assert f"- ... and {1200 - MESSAGE_MAX_ITEMS} more ({1200 - MESSAGE_MAX_ITEMS} done)" in message
    assert len(message) < 10_000


def test_progress_is_committed_chunk_by_chunk_so_a_killed_run_loses_one_chunk(
    repo: Repo, clock: FakeClock, kind: ScriptedKind
) -> None:
    repo.add_request("a.yml", things(*names("t", 7)))
    # The machine goes away while the third chunk runs: nothing after it is recorded.
    kind.script["t6"] = [KeyboardInterrupt()]
    with pytest.raises(KeyboardInterrupt):
        runner_for(repo, clock, kind, chunk_items=2, max_parallel_items=1).run()

    assert repo.subjects()[:2] == [
        "Progress on requests/a.yml: fake, 4 of 7 item(s) done in this run, 3 left",
        "Progress on requests/a.yml: fake, 2 of 7 item(s) done in this run, 5 left",
    ]
    assert repo.git("show", "HEAD:requests/a.yml") == things("t5", "t6", "t7")
    assert state_of(repo)["attempts"] == 0  # progress is not a failed attempt

    repo.git("checkout", "--quiet", "HEAD", "--", ".")  # what the next run starts from
    kind.calls.clear()
    report = runner_for(repo, clock, kind, chunk_items=2).run()
    assert kind.calls == ["t5", "t6", "t7"]  # only the lost chunk is redone
    assert report.results[0].disposition is Disposition.COMPLETED
    assert not repo.exists("requests/a.yml")
    assert not repo.exists("queue-state/a.yml.json")


def test_the_time_budget_stops_the_run_cleanly_and_the_next_run_goes_on(
    repo: Repo, clock: FakeClock
) -> None:
    kind = SlowKind(clock)
    repo.add_request("a.yml", things(*names("t", 10)))

    report = runner_for(repo, clock, kind, chunk_items=2, budget=timedelta(minutes=5)).run()

    # Chunks start at 0, 2 and 4 minutes; at 6 the budget is spent.
    assert kind.calls == names("t", 6)
    [result] = report.results
    assert result.disposition is Disposition.UNFINISHED
    assert "4 of 10 item(s) left for the next run" in result.notes[0]
    assert report.out_of_time
    assert not report.needs_attention
    assert any("time budget (5 min) was spent" in note for note in report.notes)
    assert repo.read("requests/a.yml") == things(*names("t", 10)[6:])
    assert repo.status() == ""
    state = state_of(repo)
    assert (state["attempts"], state["next_attempt"], state["parked"]) == (0, None, False)

    kind.calls.clear()
    report = runner_for(repo, clock, kind, chunk_items=2, budget=timedelta(minutes=5)).run()
    assert kind.calls == names("t", 10)[6:]
    assert report.results[0].disposition is Disposition.COMPLETED
    assert not repo.exists("requests/a.yml")


def test_a_small_request_is_not_stuck_behind_a_big_one(repo: Repo, clock: FakeClock) -> None:
    kind = SlowKind(clock)
    repo.add_request("a.yml", things(*names("a", 12)))
    repo.add_request("b.yml", things("b1"))

    report = runner_for(repo, clock, kind, chunk_items=3, budget=timedelta(minutes=5)).run()

    assert kind.calls == ["a1", "a2", "a3", "b1", "a4", "a5", "a6"]
    assert [(r.request, r.disposition) for r in report.results] == [
        ("requests/a.yml", Disposition.UNFINISHED),
        ("requests/b.yml", Disposition.COMPLETED),
    ]


def test_the_runners_own_failure_still_counts_an_attempt(
    repo: Repo, clock: FakeClock, kind: ScriptedKind, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.add_request("a.yml", things("one", "two"))
    runner = runner_for(repo, clock, kind)
    commit = runner.git.commit
    failures = iter([OSError(7, "Argument list too long")])

    def fails_once(paths: Any, message: str) -> bool:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return commit(paths, message)

    monkeypatch.setattr(runner.git, "commit", fails_once)
    report = runner.run()

    [result] = report.results
    assert result.disposition is Disposition.ERROR
    assert "Argument list too long" in result.notes[0]
    assert result.committed
    assert repo.status() == ""
    assert repo.exists("requests/a.yml")  # as it was: its completion was not committed
    state = state_of(repo)
    assert state["attempts"] == 1
    assert state["next_attempt"] == "2026-01-05T12:15:00Z"  # the first backoff
    assert "the queue runner failed" in state["last_error"]

    clock.advance(timedelta(minutes=14))
    again = runner_for(repo, clock, kind).run()
    assert again.results[0].disposition is Disposition.WAITING


class ExpiringScopes:
    """A services factory like the broker's: each scope's credentials live ``lifetime``
    minutes of the fake clock and are renewed with 3 minutes left (None: never)."""

    def __init__(self, clock: FakeClock, lifetime: float | None = None) -> None:
        self.clock = clock
        self.lifetime = timedelta(minutes=lifetime) if lifetime is not None else None
        self.opened: list[Any] = []  # when each request scope was opened

    @contextmanager
    def __call__(self, access: Access, label: str) -> Iterator[Services]:
        services = unreachable_services()
        if self.lifetime is not None:
            ends = self.clock() + self.lifetime
            services = dataclasses.replace(
                services, credentials_expiring=lambda: self.clock() >= ends - timedelta(minutes=3)
            )
        if label.startswith("requests/"):  # not the follow-up step's
            self.opened.append(self.clock())
        yield services


def test_credentials_near_their_end_are_renewed_before_the_next_item(
    repo: Repo, clock: FakeClock
) -> None:
    kind = SlowKind(clock, minutes=5)
    repo.add_request("a.yml", things(*names("t", 6)))
    scopes = ExpiringScopes(clock, lifetime=15)

    report = runner_for(repo, clock, kind, services_for=scopes, max_parallel_items=1).run()

    assert report.results[0].disposition is Disposition.COMPLETED
    # Items start at 0, 5 and 10; at 15 the first credentials have less than 3 minutes
    # left, so the next three start with fresh ones.
    start = clock.now - timedelta(minutes=30)
    assert scopes.opened == [start, start + timedelta(minutes=15)]


class GuardedKind(ScriptedKind):
    """Maps service errors the way the real kinds do (``guarded``)."""

    def execute(self, item: Item[ThingParams], services: Any) -> Outcome:
        return guarded(
            item.description, lambda: super(GuardedKind, self).execute(item, services), not_found=""
        )


def expired() -> AccessDeniedError:
    return AccessDeniedError("label: access denied (401): Invalid or expired token", status=401)


def test_a_401_from_our_own_token_is_one_fresh_mint_and_a_retry_never_parked(
    repo: Repo, clock: FakeClock
) -> None:
    kind = GuardedKind()
    repo.add_request("a.yml", things("one", "two", "three"))
    kind.script["two"] = [expired()]
    scopes = ExpiringScopes(clock)

    report = runner_for(repo, clock, kind, services_for=scopes, max_parallel_items=1).run()

    [result] = report.results
    assert result.disposition is Disposition.COMPLETED
    # After the 401 nothing more starts with those credentials: two and three go on
    # with fresh ones.
    assert kind.calls == ["one", "two", "two", "three"]
    assert len(scopes.opened) == 2  # the fresh mint


def test_a_401_even_with_fresh_credentials_is_retried_later_not_parked(
    repo: Repo, clock: FakeClock
) -> None:
    kind = GuardedKind()
    repo.add_request("a.yml", things("one", "two"))
    kind.always("two", expired())
    scopes = ExpiringScopes(clock)

    report = runner_for(repo, clock, kind, services_for=scopes).run()

    [result] = report.results
    assert result.disposition is Disposition.RETRY_LATER
    assert kind.calls.count("two") == 2
    state = state_of(repo)
    assert (state["attempts"], state["parked"]) == (1, False)
    assert "(401) even when fresh" in state["pending"]["fake:two"]


def test_a_big_request_that_fails_keeps_a_small_state_and_issue(
    repo: Repo, clock: FakeClock, kind: ScriptedKind
) -> None:
    many = names("t", 300)
    repo.add_request("a.yml", things(*many))
    for name in many:
        kind.always(name, Outcome.failed(f"{name} is not there; check its name"))

    report = runner_for(repo, clock, kind).run()

    [result] = report.results
    assert result.disposition is Disposition.PARKED
    state = state_of(repo)
    assert len(state["pending"]) == 101
    assert state["pending"]["... and 200 more"] == "not listed here: the request file has them all"
    assert state["last_error"].endswith("; and 295 more item(s)")
    assert len(repo.read("queue-state/a.yml.json")) < 20_000
