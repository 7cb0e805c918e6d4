"""What the next run does with a request file: one rule (queue/decision.py), and the
queue, ``admin-requests plan`` and the status page agree on it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from admin_requests.cli import main
from admin_requests.queue.decision import Verdict, decide
from admin_requests.queue.gitops import Git
from admin_requests.queue.report import Disposition
from admin_requests.queue.state import RequestState, StateStore, content_digest
from admin_requests.status import QueueState, StatusCollector, StatusOptions
from tests.fakes.clock import START, FakeClock
from tests.fakes.tracker import MemoryTracker
from tests.queue.support import Repo, make_runner

REQUEST = "requests/a.yml"
NOW = START
PARKED = RequestState(
    REQUEST,
    content_digest("old"),
    attempts=8,
    last_error="it kept failing",
    parked=True,
    parked_reason="it failed 8 times in a row",
    issue=3,
)


# -- the rule -------------------------------------------------------------------------------


def test_a_request_never_attempted_runs_now() -> None:
    decision = decide(REQUEST, None, "d", NOW)
    assert (decision.verdict, decision.state, decision.changed) == (Verdict.RUN, None, False)
    assert decision.describe() == "next run: carried out (no earlier attempt)"


def test_a_parked_request_waits_for_a_person() -> None:
    decision = decide(REQUEST, PARKED, PARKED.content_sha256, NOW)
    assert decision.verdict is Verdict.PARKED
    assert decision.state == PARKED
    assert decision.describe().startswith("parked (issue #3): it failed 8 times in a row;")


def test_an_edited_parked_request_starts_again_and_keeps_its_issue() -> None:
    decision = decide(REQUEST, PARKED, content_digest("new"), NOW)
    assert (decision.verdict, decision.changed) == (Verdict.RUN, True)
    assert decision.state == RequestState(REQUEST, content_digest("new"), issue=3)
    assert "afresh" in decision.describe()


def test_a_retry_unparks_with_a_fresh_budget() -> None:
    decision = decide(REQUEST, PARKED, PARKED.content_sha256, NOW, retry={REQUEST})
    assert (decision.verdict, decision.retried) == (Verdict.RUN, True)
    assert decision.state is not None
    assert (decision.state.attempts, decision.state.parked, decision.state.issue) == (0, False, 3)
    # A retry of another file changes nothing here.
    assert decide(
        REQUEST, PARKED, PARKED.content_sha256, NOW, retry={"requests/b.yml"}
    ).verdict is (Verdict.PARKED)


def test_a_request_in_backoff_waits_until_its_next_attempt() -> None:
    later = NOW + timedelta(minutes=30)
    state = RequestState(REQUEST, "d", attempts=2, next_attempt=later)
    waiting = decide(REQUEST, state, "d", NOW)
    assert (waiting.verdict, waiting.not_before) == (Verdict.WAIT, later)
    assert waiting.describe() == "2 failed attempt(s); next attempt not before 2026-01-05T12:30:00Z"
    due = decide(REQUEST, state, "d", later)
    assert (due.verdict, due.retrying, due.not_before) == (Verdict.RUN, True, None)
    # An edit during the backoff starts it again now.
    assert decide(REQUEST, state, "other", NOW).verdict is Verdict.RUN


# -- one rule, three readers ------------------------------------------------------------------


def test_plan_queue_and_status_agree_that_an_edited_parked_request_runs_again(
    repo: Repo,
    clock: FakeClock,
    tracker: MemoryTracker,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Parked (as the queue records it), then edited by its requester.
    repo.add_request("a.yml", "action: archive\nfeedstocks:\n  - foo\n")
    StateStore(repo.root).save(PARKED)
    repo.commit("Park requests/a.yml")
    repo.add_request("a.yml", "action: archive\nfeedstocks:\n  - foo  # still wanted\n")

    monkeypatch.chdir(repo.root)
    assert main(["plan", REQUEST]) == 0
    header, next_run, *_ = capsys.readouterr().out.splitlines()
    assert header == f"{REQUEST}: archive, 1 item(s)"
    assert "parked" not in next_run
    assert "carried out afresh" in next_run

    status = StatusCollector(
        repo.root,
        git=Git(repo.root),
        github=None,
        clock=clock,
        options=StatusOptions(repository="conda-forge/admin-requests"),
    ).collect()
    [row] = status.queue
    assert (row.state, row.note) == (
        QueueState.PENDING,
        "Changed since its last attempt: the next run starts it afresh.",
    )

    [would] = make_runner(repo, clock, tracker, dry_run=True).run().results
    assert would.disposition is Disposition.WOULD_RUN
    # A real run attempts it (no services here, so the item fails transiently): its
    # attempts start again from one, and it keeps the issue it had.
    [ran] = make_runner(repo, clock, tracker).run().results
    assert ran.disposition is Disposition.RETRY_LATER
    assert ran.state is not None
    assert (ran.state.attempts, ran.state.parked, ran.state.issue) == (1, False, 3)
