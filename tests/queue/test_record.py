"""Recording a run's outcome per request (queue/record.py): parking and the requester's issue,
back-off, closing the issue on success, unparking on retry, forgetting a removed request,
and a corrupt state file."""

from __future__ import annotations

from datetime import timedelta

from admin_requests.kinds.contract import Outcome
from admin_requests.queue.notify import FAILURE_LABEL, marker
from admin_requests.queue.report import Disposition
from admin_requests.queue.state import StateStore
from tests.fakes.clock import FakeClock
from tests.fakes.tracker import MemoryTracker
from tests.queue.support import (
    POLICY,
    STATE,
    Repo,
    ScriptedKind,
    make_runner,
    state_of,
    things,
)


def test_permanent_failure_parks_and_opens_one_issue_for_the_pr_author(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    added = repo.add_request("a.yml", things("one", "gone"))
    tracker.pulls[added] = ["alice-gh"]
    kind.always("gone", Outcome.failed("gone-feedstock does not exist; fix the name"))

    report = make_runner(repo, clock, tracker, kinds=[kind]).run()

    result = report.results[0]
    assert result.disposition is Disposition.PARKED
    assert result.issue == 1
    [issue] = tracker.issues.values()
    assert issue.labels == [FAILURE_LABEL]
    assert marker("requests/a.yml") in issue.body
    assert issue.body.count("@alice-gh") == 1
    assert "gone-feedstock does not exist" in issue.body
    assert "retry" in issue.body
    state = state_of(repo)
    assert state["parked"] is True
    assert state["issue"] == 1
    assert state["next_attempt"] is None
    assert repo.read("requests/a.yml") == things("gone")
    assert repo.subjects()[0].startswith("Park requests/a.yml")

    # Later runs leave a parked request alone: no attempt, no commit, no new issue.
    head = repo.head()
    for _ in range(5):
        clock.advance(timedelta(hours=7))
        again = make_runner(repo, clock, tracker, kinds=[kind]).run()
        assert again.results[0].disposition is Disposition.STILL_PARKED
    assert repo.head() == head
    assert kind.calls == ["one", "gone"]
    assert len(tracker.issues) == 1
    assert tracker.issues[1].comments == []


def test_transient_failures_back_off_and_park_after_the_limit_with_one_issue(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    repo.add_request("a.yml", things("flaky"))
    kind.always("flaky", Outcome.retry("the service answered 503"))
    runs, attempts_at = 0, []
    start = clock.now
    # The processing workflow runs every 15 minutes.
    while runs < 400:
        head = repo.head()
        report = make_runner(repo, clock, tracker, kinds=[kind]).run()
        runs += 1
        disposition = report.results[0].disposition
        if disposition is Disposition.WAITING:
            assert repo.head() == head  # a retry that is not due changes nothing
        else:
            attempts_at.append(clock.now - start)
        if disposition is Disposition.PARKED:
            break
        clock.advance(timedelta(minutes=15))

    minutes = [int(t.total_seconds() // 60) for t in attempts_at]
    # Waits of 15, 30, 60, 120, 240, 360 (capped), 360 minutes between the 8 attempts.
    assert minutes == [0, 15, 45, 105, 225, 465, 825, 1185]
    assert len(kind.calls) == POLICY.max_attempts
    state = state_of(repo)
    assert state["parked"] is True
    assert state["attempts"] == 8
    assert "8 times" in state["parked_reason"]
    assert len(tracker.issues) == 1
    # One commit per attempt: 8, not one per run.
    assert len(repo.subjects()) == 2 + 8

    clock.advance(timedelta(days=3))
    head = repo.head()
    make_runner(repo, clock, tracker, kinds=[kind]).run()
    assert repo.head() == head
    assert len(kind.calls) == 8


def test_a_later_success_closes_the_issue_with_a_comment(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    repo.add_request("a.yml", things("typo"))
    kind.always("typo", Outcome.failed("no such feedstock"))
    make_runner(repo, clock, tracker, kinds=[kind]).run()
    assert tracker.issues[1].state == "open"

    # The requester fixes the file in a pull request: changed content resumes it.
    (repo.root / "requests" / "a.yml").write_text(things("fixed"))
    repo.commit("Fix a.yml")
    clock.advance(timedelta(minutes=15))
    report = make_runner(repo, clock, tracker, kinds=[kind]).run()

    assert report.results[0].disposition is Disposition.COMPLETED
    assert report.results[0].issue == 1
    assert tracker.issues[1].state == "closed"
    assert len(tracker.issues[1].comments) == 1
    assert "complete" in tracker.issues[1].comments[0]["body"]
    assert not repo.exists("requests/a.yml")
    assert not repo.exists(STATE)
    assert repo.status() == ""


def test_retry_unparks_and_a_new_failure_reuses_the_issue(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    repo.add_request("a.yml", things("one"))
    kind.script["one"] = [Outcome.failed("the service refused"), Outcome.failed("still refused")]
    make_runner(repo, clock, tracker, kinds=[kind]).run()
    assert state_of(repo)["parked"] is True

    clock.advance(timedelta(hours=1))
    report = make_runner(repo, clock, tracker, kinds=[kind], retry=["requests/a.yml"]).run()
    assert report.results[0].disposition is Disposition.PARKED
    assert len(tracker.issues) == 1
    assert len(tracker.issues[1].comments) == 1  # "parked again", on the same issue
    assert "still refused" in tracker.issues[1].comments[0]["body"]

    clock.advance(timedelta(hours=1))
    report = make_runner(repo, clock, tracker, kinds=[kind], retry=["requests/a.yml"]).run()
    assert report.results[0].disposition is Disposition.COMPLETED
    assert tracker.issues[1].state == "closed"
    assert kind.calls == ["one", "one", "one"]


def test_removing_a_parked_request_closes_its_issue_and_forgets_its_state(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    repo.add_request("a.yml", things("x"))
    kind.always("x", Outcome.failed("cannot"))
    make_runner(repo, clock, tracker, kinds=[kind]).run()
    (repo.root / "requests" / "a.yml").unlink()
    repo.commit("Withdraw a.yml")

    report = make_runner(repo, clock, tracker, kinds=[kind]).run()

    assert not repo.exists(STATE)
    assert tracker.issues[1].state == "closed"
    assert "removed from the queue" in tracker.issues[1].comments[0]["body"]
    assert report.commits == 1
    assert repo.status() == ""
    head = repo.head()
    make_runner(repo, clock, tracker, kinds=[kind]).run()
    assert repo.head() == head


def test_a_corrupt_state_file_is_replaced_not_fatal(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    repo.add_request("a.yml", things("flaky"))
    (repo.root / "queue-state").mkdir()
    (repo.root / STATE).write_text("{not json")
    repo.commit("corrupt state")
    kind.always("flaky", Outcome.retry("timeout"))
    report = make_runner(repo, clock, tracker, kinds=[kind]).run()
    assert report.results[0].disposition is Disposition.RETRY_LATER
    assert state_of(repo)["attempts"] == 1


def test_a_completed_request_whose_issue_cannot_be_closed_is_closed_next_run(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    repo.add_request("a.yml", things("x"))
    kind.script["x"] = [Outcome.failed("no such feedstock")]
    make_runner(repo, clock, tracker, kinds=[kind]).run()
    [issue] = tracker.open_issues()

    tracker.fail = True  # GitHub is down when the request completes
    clock.advance(timedelta(hours=1))
    done = make_runner(repo, clock, tracker, kinds=[kind], retry=["requests/a.yml"]).run()
    assert done.results[0].disposition is Disposition.COMPLETED
    assert not repo.exists("requests/a.yml")
    state = StateStore(repo.root).load("requests/a.yml")
    assert state is not None
    assert (state.completed, state.issue) == (True, issue.number)
    assert "the next run tries again" in " ".join(done.results[0].notes)

    tracker.fail = False
    later = make_runner(repo, clock, tracker, kinds=[kind]).run()
    assert tracker.open_issues() == []
    assert (
        "is now complete" in issue.comments[-1]["body"]
    )  # the completion message, not 'withdrawn'
    assert StateStore(repo.root).load("requests/a.yml") is None
    assert later.commits == 1
    assert repo.subjects()[0].endswith("(completed, its issue is closed now)")
    assert repo.status() == ""


def test_a_withdrawn_request_keeps_its_state_until_its_issue_is_closed(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    repo.add_request("a.yml", things("x"))
    kind.script["x"] = [Outcome.failed("no such feedstock")]
    make_runner(repo, clock, tracker, kinds=[kind]).run()
    (repo.root / "requests" / "a.yml").unlink()
    repo.commit("Withdraw a.yml")

    tracker.fail = True
    first = make_runner(repo, clock, tracker, kinds=[kind]).run()
    assert first.commits == 0
    assert StateStore(repo.root).load("requests/a.yml") is not None

    tracker.fail = False
    make_runner(repo, clock, tracker, kinds=[kind]).run()
    assert tracker.open_issues() == []
    assert StateStore(repo.root).load("requests/a.yml") is None
