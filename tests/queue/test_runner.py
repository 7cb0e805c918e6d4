"""The queue runner end to end, against a scripted kind and a temporary git repository."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from admin_requests.access import Access
from admin_requests.kinds.contract import Outcome
from admin_requests.queue.dispatch import QueueConfig, QueueRunner
from admin_requests.queue.gitops import Git
from admin_requests.queue.notify import FAILURE_LABEL, marker
from admin_requests.queue.report import Disposition, render_summary
from tests.fakes.clock import FakeClock
from tests.fakes.tracker import MemoryTracker
from tests.queue.support import (
    BOT,
    POLICY,
    Repo,
    ScriptedKind,
    make_runner,
    registry_with,
    things,
)

STATE = "queue-state/a.yml.json"


def state_of(repo: Repo, path: str = STATE) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(repo.read(path))
    return data


def test_happy_path_removes_the_file_in_one_commit(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    repo.add_request("a.yml", things("one", "two"))
    before = repo.head()

    report = make_runner(repo, clock, tracker, kinds=[kind]).run()

    assert [r.disposition for r in report.results] == [Disposition.COMPLETED]
    assert not repo.exists("requests/a.yml")
    assert not repo.exists(STATE)
    assert repo.git("rev-list", f"{before}..HEAD").split() == [repo.head()]
    assert repo.subjects()[0].startswith("Complete requests/a.yml: fake, 2 item(s) done")
    assert repo.git("log", "-1", "--format=%an <%ae>").strip() == "test-bot <bot@example.invalid>"
    assert repo.status() == ""
    assert kind.calls == ["one", "two"]
    assert kind.after_runs == [["one", "two"]]
    assert tracker.issues == {}


def test_partial_failure_keeps_only_what_is_left_with_comments(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    repo.add_request(
        "a.yml",
        "# please do these\n"
        "action: fake\n"
        "things:\n"
        "  - one   # easy\n"
        "  # two needs the service to be up\n"
        "  - two   # hard\n"
        "  - three\n",
    )
    kind.always("two", Outcome.retry("the service is down"))

    report = make_runner(repo, clock, tracker, kinds=[kind]).run()

    assert report.results[0].disposition is Disposition.RETRY_LATER
    assert repo.read("requests/a.yml") == (
        "# please do these\n"
        "action: fake\n"
        "things:\n"
        "  # two needs the service to be up\n"
        "  - two   # hard\n"
    )
    state = state_of(repo)
    assert state["attempts"] == 1
    assert state["next_attempt"] == "2026-01-05T12:15:00Z"
    assert state["pending"] == {"fake:two": "the service is down"}
    assert state["parked"] is False
    assert repo.subjects()[0].startswith("Retry requests/a.yml later: 1 of 3 item(s) left")
    assert len(repo.subjects()) == 3  # initial, add, one result commit
    assert repo.status() == ""
    assert kind.after_runs == [["one", "three"]]


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


def test_a_bad_file_is_isolated_and_the_others_complete(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    repo.add_request("a-bad-yaml.yml", "action: fake\nthings:\n  - [unclosed\n")
    repo.add_request("b-unknown.yml", "action: archive_everything\nthings: [x]\n")
    repo.add_request("c-raises.yml", things("boom"))
    repo.add_request("d-good.yml", things("fine"))
    repo.add_request("e-not-utf8.yml", "")
    (repo.root / "requests" / "e-not-utf8.yml").write_bytes(b"action: fake\n\xff\n")
    repo.commit("add e")
    kind.always("boom", KeyError("secret-looking detail"))

    report = make_runner(repo, clock, tracker, kinds=[kind]).run()

    by_name = {r.request: r for r in report.results}
    assert by_name["requests/d-good.yml"].disposition is Disposition.COMPLETED
    assert by_name["requests/c-raises.yml"].disposition is Disposition.RETRY_LATER
    detail = by_name["requests/c-raises.yml"].items[0].outcome.detail
    assert "KeyError" in detail
    assert "secret-looking" not in detail
    for bad in ("a-bad-yaml", "b-unknown", "e-not-utf8"):
        result = by_name[f"requests/{bad}.yml"]
        assert result.disposition is Disposition.PARKED
        assert result.problems
    assert "did you mean" in by_name["requests/b-unknown.yml"].problems[0]
    assert len(tracker.issues) == 3
    assert not repo.exists("requests/d-good.yml")
    assert repo.status() == ""


def test_a_crash_in_the_runner_itself_is_isolated(
    repo: Repo,
    clock: FakeClock,
    tracker: MemoryTracker,
    kind: ScriptedKind,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo.add_request("a.yml", things("one"))
    repo.add_request("b.yml", things("two"))
    runner = make_runner(repo, clock, tracker, kinds=[kind])
    original = runner.recorder.completed

    def explode(request: str, *args: Any) -> Any:
        if request == "requests/a.yml":
            raise OSError("disk full")
        return original(request, *args)

    monkeypatch.setattr(runner.recorder, "completed", explode)
    report = runner.run()
    assert [r.disposition for r in report.results] == [Disposition.ERROR, Disposition.COMPLETED]
    assert "disk full" in report.results[0].notes[0]


def test_no_commit_when_nothing_changed(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    repo.add_request("a.yml", things("flaky"))
    kind.always("flaky", Outcome.retry("timeout"))
    make_runner(repo, clock, tracker, kinds=[kind]).run()
    head = repo.head()

    clock.advance(timedelta(minutes=14))
    report = make_runner(repo, clock, tracker, kinds=[kind]).run()

    assert report.results[0].disposition is Disposition.WAITING
    assert report.commits == 0
    assert repo.head() == head
    assert repo.status() == ""
    assert kind.calls == ["flaky"]


def test_an_empty_queue_does_nothing(repo: Repo, clock: FakeClock, tracker: MemoryTracker) -> None:
    head = repo.head()
    report = make_runner(repo, clock, tracker).run()
    assert report.results == []
    assert report.commits == 0
    assert repo.head() == head
    assert "The queue is empty" in render_summary(report)


def test_dry_run_writes_nothing(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    repo.add_request("a.yml", things("parks"))
    kind.always("parks", Outcome.failed("nope"))
    make_runner(repo, clock, tracker, kinds=[kind]).run()  # a parked request, with its issue
    repo.add_request("b.yml", things("one", "two"))
    repo.add_request("c.yml", "action: fake\nthings: 3\n")
    (repo.root / "queue-state").mkdir(exist_ok=True)
    calls = list(kind.calls)
    head = repo.head()
    issues_before = {n: (i.state, list(i.comments)) for n, i in tracker.issues.items()}

    report = make_runner(
        repo, clock, tracker, kinds=[kind], dry_run=True, retry=["requests/a.yml"]
    ).run()

    assert repo.head() == head
    assert repo.status() == ""
    assert kind.calls == calls
    assert {n: (i.state, list(i.comments)) for n, i in tracker.issues.items()} == issues_before
    by_name = {r.request: r for r in report.results}
    assert by_name["requests/a.yml"].disposition is Disposition.WOULD_RUN  # retry un-parks
    assert by_name["requests/b.yml"].disposition is Disposition.WOULD_RUN
    assert [what for what, _ in by_name["requests/b.yml"].pending] == ["do one", "do two"]
    assert by_name["requests/c.yml"].disposition is Disposition.PARKED
    assert "would park" in by_name["requests/c.yml"].notes[0]
    assert kind.after_runs == []
    assert "dry run" in render_summary(report)


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


def test_an_issue_left_by_an_interrupted_run_is_reused(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    repo.add_request("a.yml", things("x"))
    kind.always("x", Outcome.failed("cannot"))
    # A run opened the issue, then died before its state commit was pushed.
    tracker.create_issue("earlier", f"{marker('requests/a.yml')}\nbody", [FAILURE_LABEL])

    report = make_runner(repo, clock, tracker, kinds=[kind]).run()

    assert report.results[0].issue == 1
    assert len(tracker.issues) == 1
    assert len(tracker.issues[1].comments) == 1


def test_the_requester_falls_back_to_the_commit_author_without_a_pull_request(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    repo.add_request("a.yml", things("x"), author="Bob Builder <bob@example.invalid>")
    kind.always("x", Outcome.failed("cannot"))
    make_runner(repo, clock, tracker, kinds=[kind]).run()
    body = tracker.issues[1].body
    assert body.splitlines()[1].startswith("Bob Builder, your request")
    assert "@" not in body.splitlines()[1]


def test_an_unreachable_tracker_is_retried_on_the_next_run(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    repo.add_request("a.yml", things("x"))
    kind.always("x", Outcome.failed("cannot"))
    tracker.fail = True
    report = make_runner(repo, clock, tracker, kinds=[kind]).run()
    assert report.results[0].disposition is Disposition.PARKED
    assert state_of(repo)["issue"] is None
    assert "could not open the issue" in report.results[0].notes[0]

    tracker.fail = False
    report = make_runner(repo, clock, tracker, kinds=[kind]).run()
    assert report.results[0].issue == 1
    assert state_of(repo)["issue"] == 1
    assert repo.subjects()[0] == "Record issue #1 for parked requests/a.yml"
    head = repo.head()
    make_runner(repo, clock, tracker, kinds=[kind]).run()
    assert repo.head() == head
    assert len(tracker.issues) == 1


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


def test_a_follow_up_without_its_credentials_fails_the_job_not_the_requests(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    repo.add_request("a.yml", things("one"))

    @contextmanager
    def scoped(access: Access, label: str) -> Iterator[str]:
        if label.startswith("follow-up"):
            raise RuntimeError("the vault refused")
        yield "scoped"

    report = make_runner(repo, clock, tracker, kinds=[kind], services_for=scoped).run()
    assert report.results[0].disposition is Disposition.COMPLETED
    assert kind.after_runs == []
    assert report.failed_follow_ups == ["fake"]
    assert report.needs_attention


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


def test_an_after_run_failure_is_reported_not_raised(
    repo: Repo,
    clock: FakeClock,
    tracker: MemoryTracker,
    kind: ScriptedKind,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo.add_request("a.yml", things("one"))

    def fail(done: Any, services: Any) -> None:
        raise RuntimeError("rebuild failed")

    monkeypatch.setattr(kind, "after_run", fail)
    report = make_runner(repo, clock, tracker, kinds=[kind]).run()
    assert report.results[0].disposition is Disposition.COMPLETED
    assert "follow-up step" in report.notes[0]
    assert report.needs_attention


def test_the_summary_lists_every_request_and_item(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    repo.add_request("a.yml", things("ok", "flaky"))
    repo.add_request("b.yml", "action: fake\n")
    kind.always("flaky", Outcome.retry("HTTP 503 from [api]"))
    summary = render_summary(make_runner(repo, clock, tracker, kinds=[kind]).run())
    assert "| requests/a.yml | fake | 🔁 retry later |" in summary
    assert "requests/b.yml" in summary
    assert "parked" in summary
    assert "do ok" in summary
    assert "do flaky" in summary
    assert r"HTTP 503 from \[api\]" in summary


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


def test_an_issue_for_a_long_request_lists_the_first_items_only(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    names = [f"thing{n}" for n in range(120)]
    repo.add_request("a.yml", things(*names))
    for name in names:
        kind.always(name, Outcome.failed(f"{name} is gone"))
    make_runner(repo, clock, tracker, kinds=[kind]).run()
    body = tracker.issues[1].body
    assert "thing49 is gone" in body
    assert "thing50 is gone" not in body
    assert "and 70 more" in body


def test_kinds_sharing_a_follow_up_run_it_once(
    repo: Repo,
    clock: FakeClock,
    tracker: MemoryTracker,
    kind: ScriptedKind,
) -> None:
    # As broken and not_broken share one repodata rebuild per run.
    undo = ScriptedKind("unfake")
    kind.follow_up = undo.follow_up = "shared"
    repo.add_request("a.yml", things("one"))
    repo.add_request("b.yml", things("two", action="unfake"))
    report = make_runner(repo, clock, tracker, kinds=[kind, undo]).run()
    assert report.count(Disposition.COMPLETED) == 2
    assert kind.after_runs == [["one", "two"]]
    assert undo.after_runs == []
