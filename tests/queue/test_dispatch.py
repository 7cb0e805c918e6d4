"""The queue runner end to end, against a scripted kind and a temporary git repository."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from admin_requests.access import Access
from admin_requests.kinds.contract import Outcome
from admin_requests.queue.notify import FAILURE_LABEL, marker
from admin_requests.queue.report import Disposition, render_summary
from tests.fakes.clock import FakeClock
from tests.fakes.tracker import MemoryTracker
from tests.queue.support import (
    STATE,
    Repo,
    ScriptedKind,
    make_runner,
    state_of,
    things,
)


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


# Issue 16 finding 9: text that came from a request cannot steer the log, the issue, or
# the files the run reads and writes.

EVIL_NAME = "evil\n::stop-commands::pwned.yml"


def test_a_badly_named_file_is_parked_and_its_issue_shows_the_name_escaped(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    repo.add_request(EVIL_NAME, things("one"))

    [result] = make_runner(repo, clock, tracker, kinds=[kind]).run().results

    assert result.disposition is Disposition.PARKED
    assert kind.calls == []
    assert any("bad-file-name" in problem for problem in result.problems)
    [issue] = tracker.issues.values()
    assert "\n" not in issue.title
    assert "evil\\n::stop-commands::pwned.yml" in issue.title
    assert "evil\\\\n::stop-commands::pwned.yml" in issue.body  # markdown-escaped backslash
    assert "rename it, e.g. to 'evil-stop-commands-pwned.yml'" in issue.body
    assert "\n" not in repo.subjects()[0]


def test_an_issue_mentions_its_requester_and_nobody_else(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    added = repo.add_request("a.yml", things("ping-@octocat"))
    tracker.pulls[added] = ["maintainer-gh"]
    kind.always("ping-@octocat", Outcome.failed("ask @conda-forge/core about it"))

    make_runner(repo, clock, tracker, kinds=[kind]).run()

    [issue] = tracker.issues.values()
    assert issue.body.count("@maintainer-gh") == 1
    mentions = [word for word in issue.body.split() if "@" in word]
    assert all(w.startswith("@maintainer-gh") or "@\u200b" in w for w in mentions), mentions
    assert "@\u200bconda-forge/core" in issue.body
    assert "@\u200boctocat" in issue.body


def test_a_symlinked_request_is_parked_without_reading_or_writing_through_it(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    # Two things: one done, one left, so the old run shrank the file through the link.
    outside = repo.root.parent / "outside.yml"
    outside.write_text(things("one", "two") + "# SECRET_LINE: hunter2\n")
    (repo.root / "requests" / "a.yml").symlink_to(outside)
    repo.commit("Add a link")
    kind.always("two", Outcome.retry("later"))

    [result] = make_runner(repo, clock, tracker, kinds=[kind]).run().results

    assert result.disposition is Disposition.PARKED
    assert kind.calls == []
    assert outside.read_text() == things("one", "two") + "# SECRET_LINE: hunter2\n"
    [issue] = tracker.issues.values()
    assert "symbolic link" in issue.body
    assert "hunter2" not in issue.body
    assert (repo.root / "requests" / "a.yml").is_symlink()


def test_a_symlinked_state_file_is_replaced_not_written_through(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    target = repo.root / "docs" / "index.md"
    target.parent.mkdir()
    target.write_text("# the docs\n")
    (repo.root / "queue-state").mkdir()
    (repo.root / STATE).symlink_to(target)
    repo.add_request("a.yml", things("one"))
    kind.always("one", Outcome.retry("later"))

    make_runner(repo, clock, tracker, kinds=[kind]).run()

    assert target.read_text() == "# the docs\n"
    assert not (repo.root / STATE).is_symlink()
    assert state_of(repo)["attempts"] == 1
