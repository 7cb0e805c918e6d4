"""Carrying out one request (queue/execute.py): items of a pooled kind, services scoped to each
request's access, and what happens without credentials or services."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from admin_requests.access import Access
from admin_requests.config import Settings
from admin_requests.kinds.contract import Item, Outcome, OutcomeStatus
from admin_requests.queue.dispatch import QueueConfig, QueueRunner
from admin_requests.queue.execute import execute_batch, execute_item
from admin_requests.queue.gitops import Git
from admin_requests.queue.report import Disposition
from tests.fakes.clock import FakeClock
from tests.fakes.tracker import MemoryTracker
from tests.fakes.wiring import unreachable_services
from tests.queue.support import (
    BOT,
    POLICY,
    Repo,
    ScriptedKind,
    ThingParams,
    make_runner,
    registry_with,
    things,
)


class PooledKind(ScriptedKind):
    parallel_items: ClassVar[int] = 4

    def __init__(self) -> None:
        super().__init__("pooled")
        self.together = threading.Barrier(4, timeout=30)
        self.threads: set[str] = set()

    def execute(self, item: Item, services: Any) -> Outcome:
        self.threads.add(threading.current_thread().name)
        if item.target != "slow":
            self.together.wait()  # all four at once, or this breaks
        return super().execute(item, services)


def test_items_of_a_pooled_kind_run_at_once_and_keep_their_order(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker
) -> None:
    pooled = PooledKind()
    repo.add_request("a.yml", things("a", "b", "c", "d", "e", "f", "g", "h", action="pooled"))
    pooled.script["c"] = [Outcome.retry("flaky")]
    pooled.script["f"] = [Outcome.retry("flaky")]

    report = make_runner(repo, clock, tracker, kinds=[pooled]).run()

    [result] = report.results
    assert [r.item.target for r in result.items] == ["a", "b", "c", "d", "e", "f", "g", "h"]
    assert [r.done for r in result.items] == [True, True, False, True, True, False, True, True]
    assert len(pooled.threads) == 4
    # The write-back is the same as one by one: the file keeps c and f, in order.
    assert repo.read("requests/a.yml") == things("c", "f", action="pooled")


def test_the_pool_can_be_turned_off(repo: Repo, clock: FakeClock, tracker: MemoryTracker) -> None:
    pooled = PooledKind()
    repo.add_request("a.yml", things("slow", "slow2", action="pooled"))
    pooled.together = threading.Barrier(1)
    runner = QueueRunner(
        repo.root,
        services=unreachable_services(),
        git=Git(repo.root, BOT),
        clock=clock,
        config=QueueConfig(policy=POLICY, max_parallel_items=1),
        registry=registry_with(pooled),
    )
    runner.run()
    assert pooled.threads == {threading.current_thread().name}


def test_each_request_gets_services_scoped_to_its_access(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    repo.add_request("a.yml", things("one"))
    repo.add_request("b.yml", things("two"))
    events: list[str] = []

    @contextmanager
    def scoped(access: Access, label: str) -> Iterator[str]:
        events.append(f"enter {label} {','.join(access.github_repositories)}")
        yield "scoped"
        events.append("exit")

    make_runner(repo, clock, tracker, kinds=[kind], services_for=scoped).run()
    assert events == [
        "enter requests/a.yml one-feedstock",
        "exit",
        "enter requests/b.yml two-feedstock",
        "exit",
        # The kind's follow-up: once for the run, with its own access, not a request's.
        "enter follow-up of 'fake' follow-up-repo",
        "exit",
    ]
    assert kind.after_run_services == ["scoped"]


def test_failing_to_get_credentials_is_a_transient_failure(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    repo.add_request("a.yml", things("one"))

    def broken(access: Access, label: str) -> Any:
        raise PermissionError("vault said no")

    report = make_runner(repo, clock, tracker, kinds=[kind], services_for=broken).run()
    assert report.results[0].disposition is Disposition.RETRY_LATER
    assert kind.calls == []
    assert "access" in report.results[0].items[0].outcome.detail


def test_a_run_without_services_carries_nothing_out_and_retries_later(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    # No GITHUB_TOKEN: the kind is never called with services it was not given, and
    # no follow-up runs; the file waits for a run that has them.
    repo.add_request("a.yml", things("one"))
    report = QueueRunner(
        repo.root,
        services=None,
        git=Git(repo.root, BOT),
        clock=clock,
        tracker=tracker,
        config=QueueConfig(policy=POLICY),
        registry=registry_with(kind),
    ).run()
    assert kind.calls == []
    assert kind.after_runs == []
    assert report.results[0].disposition is Disposition.RETRY_LATER
    assert "no services" in report.results[0].items[0].outcome.detail


class FeedstockKind(ScriptedKind):
    """Targets '<thing>-feedstock', as the feedstock kinds map their names."""

    def target_repositories(self, item: Item) -> tuple[str, ...]:
        return (f"{item.target}-feedstock",)


def test_an_item_that_targets_a_protected_repository_fails_without_reaching_the_kind() -> None:
    # Issue 16 finding 7: the queue refuses it at execution too, with the run's own list
    # (here one more repository than the checker's default list knows).
    kind = FeedstockKind()
    services = dataclasses.replace(
        unreachable_services(),
        settings=Settings.from_environ({"ADMIN_REQUESTS_PROTECTED_REPOSITORIES": "core-feedstock"}),
    )
    core = Item("fake:core", "fake", "core", "do core", ThingParams("core"))
    other = Item("fake:other", "fake", "other", "do other", ThingParams("other"))

    refused = execute_item(kind, core, services)
    done = execute_item(kind, other, services)

    assert refused.status is OutcomeStatus.FAILED
    assert "'core-feedstock', one of the organisation's infrastructure" in refused.detail
    assert done.status is OutcomeStatus.DONE
    assert kind.calls == ["other"]


class BatchedKind(FeedstockKind):
    """Carries out a request's items in one call (as add_feedstock_output's one commit)."""

    batched: ClassVar[bool] = True

    def __init__(self) -> None:
        super().__init__("batched")
        self.batches: list[list[str]] = []
        self.answer: Any = None  # None: each item's scripted outcome

    def execute_batch(self, items: list[Item], services: Any) -> list[Outcome]:
        self.batches.append([item.target for item in items])
        if isinstance(self.answer, Exception):
            raise self.answer
        if self.answer is not None:
            return self.answer  # type: ignore[no-any-return]
        return [self.execute(item, services) for item in items]


def test_a_batched_kind_gets_one_call_per_request_and_the_file_keeps_what_is_left(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker
) -> None:
    batched = BatchedKind()
    repo.add_request("a.yml", things("a", "b", "c", action="batched"))
    repo.add_request("b.yml", things("d", action="batched"))
    batched.script["b"] = [Outcome.retry("flaky")]

    report = make_runner(repo, clock, tracker, kinds=[batched]).run()

    assert batched.batches == [["a", "b", "c"], ["d"]]
    assert [[r.done for r in result.items] for result in report.results] == [
        [True, False, True],
        [True],
    ]
    assert repo.read("requests/a.yml") == things("b", action="batched")


def test_a_batch_keeps_the_guarantees_of_one_item() -> None:
    kind = BatchedKind()
    services = dataclasses.replace(
        unreachable_services(),
        settings=Settings.from_environ({"ADMIN_REQUESTS_PROTECTED_REPOSITORIES": "core-feedstock"}),
    )
    items = [Item(f"batched:{t}", "batched", t, f"do {t}", ThingParams(t)) for t in ("core", "x")]

    # A protected target fails without reaching the kind; the rest goes on.
    outcomes = execute_batch(kind, items, services)
    assert [o.status for o in outcomes] == [OutcomeStatus.FAILED, OutcomeStatus.DONE]
    assert kind.batches == [["x"]]
    # Whatever the kind raises is a retry of every item it was given, type only.
    kind.answer = RuntimeError("https://secret.example/?token=abc")
    outcomes = execute_batch(kind, items, services)
    assert [o.status for o in outcomes] == [OutcomeStatus.FAILED, OutcomeStatus.RETRY]
    assert "RuntimeError" in outcomes[1].detail
    assert "secret" not in outcomes[1].detail
    # An answer that is not one Outcome per item is a retry too, never a lost item.
    kind.answer = []
    assert [o.status for o in execute_batch(kind, items[1:], services)] == [OutcomeStatus.RETRY]
