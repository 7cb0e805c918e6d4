"""Collecting the status: the pure rules, and the collector when sources fail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from admin_requests.config import Settings
from admin_requests.queue.gitops import Git
from admin_requests.queue.notify import marker
from admin_requests.queue.state import RequestState, StateStore, content_digest
from admin_requests.services import GitHubClient
from admin_requests.services.github import WorkflowInfo, WorkflowRunInfo
from admin_requests.status import QueueState, StatusCollector, StatusOptions, StatusReport
from admin_requests.status.collect import (
    describe_request,
    latency_window,
    queued_request,
    request_of_issue,
    workflow_health,
)
from admin_requests.status.history import Commit, Lifetime
from admin_requests.status.model import UNKNOWN
from tests.fakes import FakeGitHub, Fault
from tests.fakes.clock import FakeClock
from tests.fakes.wiring import retrier_for
from tests.status.scenario import HOME, REPOSITORY, STATUS_PERMISSIONS, DatedRepo

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


# -- latency windows ------------------------------------------------------------------


def _life(path: str, added: datetime, removed: datetime | None, subject: str) -> Lifetime:
    return Lifetime(
        path,
        Commit("a" * 40, added, "Ann", ("p",), f"Add {path}"),
        Commit("b" * 40, removed, "bot", ("q",), subject) if removed else None,
    )


def test_latency_window_counts_completions_inside_it_only() -> None:
    done = [
        _life(f"requests/{i}.yml", NOW - timedelta(days=d, minutes=m), NOW - timedelta(days=d), s)
        for i, (d, m, s) in enumerate(
            [
                (1, 10, "Complete requests/0.yml: archive, 1 item(s) done"),
                (2, 30, "Complete requests/1.yml: archive, 1 item(s) done"),
                (40, 600, "Complete requests/2.yml: archive, 1 item(s) done"),
                (400, 5, "Complete requests/3.yml: archive, 1 item(s) done"),
            ]
        )
    ]
    last_30 = latency_window(done, NOW, 30)
    assert (last_30.count, last_30.median) == (2, timedelta(minutes=20))
    last_365 = latency_window(done, NOW, 365)
    assert last_365.count == 3
    assert last_365.median == timedelta(minutes=30)
    assert last_365.p99 == timedelta(minutes=30 + 570 * 0.98)
    empty = latency_window(done, NOW - timedelta(days=500), 30)
    assert (empty.count, empty.median, empty.p90, empty.p99) == (0, None, None, None)


# -- queue rows -------------------------------------------------------------------------


def _row(state: RequestState | None, digest: str = "d1") -> QueueState | str | None:
    row = queued_request(
        "requests/x.yml",
        kind="archive",
        items=1,
        requester=UNKNOWN,
        pull=None,
        merged_at=NOW - timedelta(hours=30),
        now=NOW,
        state=state,
        digest=digest,
        issue=None,
    )
    assert row.age == timedelta(hours=30)
    return row.state


def test_queue_states_as_the_next_run_sees_them() -> None:
    base = RequestState("requests/x.yml", "d1")
    assert _row(None) is QueueState.PENDING
    retrying = RequestState("requests/x.yml", "d1", attempts=2, next_attempt=NOW)
    assert _row(retrying) is QueueState.RETRYING
    parked = RequestState("requests/x.yml", "d1", attempts=8, parked=True, parked_reason="r")
    assert _row(parked) is QueueState.PARKED
    # Someone edited the parked file: the next run starts afresh.
    assert _row(parked, digest="d2") is QueueState.PENDING
    assert _row(base) is QueueState.PENDING


def test_retrying_row_says_whether_it_is_due() -> None:
    def note(next_attempt: datetime) -> str | None:
        state = RequestState("requests/x.yml", "d", attempts=1, next_attempt=next_attempt)
        return queued_request(
            "requests/x.yml",
            kind=None,
            items=None,
            requester=UNKNOWN,
            pull=None,
            merged_at=None,
            now=NOW,
            state=state,
            digest="d",
            issue=None,
        ).note

    assert note(NOW - timedelta(minutes=1)) == "Due: the next run tries it again."
    assert note(NOW + timedelta(minutes=1)) is None


def test_long_errors_are_cut() -> None:
    state = RequestState("requests/x.yml", "d", attempts=1, last_error="x" * 5000)
    row = queued_request(
        "requests/x.yml",
        kind=None,
        items=None,
        requester=UNKNOWN,
        pull=None,
        merged_at=None,
        now=NOW,
        state=state,
        digest="d",
        issue=None,
    )
    assert row.age is None
    assert row.last_error is not None
    assert len(row.last_error) == 400
    assert row.last_error.endswith("…")


def test_describe_request_names_the_action_even_when_it_is_wrong() -> None:
    assert describe_request(b"action: archive\nfeedstocks:\n  - a\n  - b\n", "r.yml") == (
        "archive",
        2,
    )
    assert describe_request(b"action: archive\nfeedstocks: a\n", "r.yml") == ("archive", None)
    assert describe_request(b"action: archve\n", "r.yml") == ("archve", None)
    assert describe_request(b"- not a mapping\n", "r.yml") == (None, None)
    assert describe_request(b"\xff\xfe", "r.yml") == (None, None)
    assert describe_request(b"action: [1]\n", "r.yml") == (None, None)


def test_issue_marker_round_trip() -> None:
    for request in ("requests/a.yml", "requests/a--b.yml"):
        assert request_of_issue(f"text\n{marker(request)}\nmore") == request
    assert request_of_issue("no marker") is None


# -- workflow health --------------------------------------------------------------------


def _run(number: int, minutes_ago: int, conclusion: str | None, **kw: str) -> WorkflowRunInfo:
    at = (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return WorkflowRunInfo(
        number,
        number,
        kw.get("event", "schedule"),
        kw.get("status", "completed"),
        conclusion,
        "main",
        at,
        at,
        f"https://example.invalid/runs/{number}",
    )


WORKFLOW = WorkflowInfo(1, "process requests", ".github/workflows/process.yml", "active", "u")


def test_failure_streak_skips_cancelled_and_running_runs() -> None:
    runs = [
        _run(1, 100, "success"),
        _run(2, 90, "failure"),
        _run(3, 80, "success"),
        _run(4, 70, "timed_out"),
        _run(5, 60, "cancelled"),
        _run(6, 50, "failure"),
        _run(7, 40, "skipped"),
        _run(8, 30, "failure"),
        _run(9, 5, None, status="in_progress"),
    ]
    health = workflow_health(WORKFLOW, list(reversed(runs)))
    assert health.failure_streak == 3
    assert health.failing_since == NOW - timedelta(minutes=70)
    assert health.last_success == NOW - timedelta(minutes=80)
    assert health.last_run is not None
    assert health.last_run.outcome == "running"
    assert health.unhealthy
    assert health.runs_examined == 9


def test_healthy_empty_and_pull_request_workflows() -> None:
    healthy = workflow_health(WORKFLOW, [_run(1, 10, "failure"), _run(2, 5, "success")])
    assert (healthy.failure_streak, healthy.unhealthy) == (0, False)
    assert healthy.last_success == NOW - timedelta(minutes=5)
    empty = workflow_health(WORKFLOW, [])
    assert (empty.last_run, empty.failure_streak, empty.pull_request_only) == (None, 0, False)
    checks = workflow_health(WORKFLOW, [_run(1, 5, "failure", event="pull_request")])
    assert checks.failure_streak == 1
    assert checks.pull_request_only
    assert not checks.unhealthy  # an invalid request file fails its check: that is fine


# -- the collector when sources are missing or fail -------------------------------------


def _small_repo(tmp_path: Path) -> DatedRepo:
    repo = DatedRepo(tmp_path / "repo", NOW - timedelta(days=2))
    repo.merge_request(
        "a.yml", "action: archive\nfeedstocks:\n  - a\n", "Ann <a@x>", merge_commit=False
    )
    return repo


def _collect(repo: DatedRepo, github: GitHubClient | None, **options: Any) -> StatusReport:
    return StatusCollector(
        repo.root,
        git=Git(repo.root),
        github=github,
        clock=lambda: NOW,
        options=StatusOptions(repository=REPOSITORY, **options),
    ).collect()


def test_offline_the_page_still_shows_the_queue_and_says_what_is_missing(tmp_path: Path) -> None:
    repo = _small_repo(tmp_path)
    report = _collect(repo, None)
    [row] = report.queue
    assert row.requester.display == "Ann"
    assert row.age == timedelta(days=2)
    assert report.workflows == ()
    assert report.problems == (
        "no GitHub token: issues, workflow runs and pull request authors are not shown",
    )


def _client(github: FakeGitHub, token: str) -> GitHubClient:
    settings = Settings(github_api_url=github.url, repository=REPOSITORY, http_timeout_seconds=5)
    return GitHubClient.build(settings, token, retrier=retrier_for(FakeClock()))


def test_without_pull_request_access_requesters_fall_back_after_one_call(
    tmp_path: Path, fake_github: FakeGitHub
) -> None:
    repo = _small_repo(tmp_path)
    repo.merge_request(
        "b.yml", "action: archive\nfeedstocks:\n  - b\n", "Bo <b@x>", merge_commit=False
    )
    fake_github.add_repo(HOME)
    narrow = {k: v for k, v in STATUS_PERMISSIONS.items() if k != "pull_requests"}
    token = fake_github.add_token("narrow", repositories=[HOME], permissions=narrow)

    report = _collect(repo, _client(fake_github, token))

    assert [r.requester.display for r in report.queue] == ["Ann", "Bo"]
    assert fake_github.count(method="GET", path=r"/commits/.*/pulls") == 1
    [problem] = report.problems
    assert "cannot look up pull requests" in problem
    assert "Resource not accessible by integration" in problem


def test_without_actions_access_the_workflows_are_a_problem_not_a_crash(
    tmp_path: Path, fake_github: FakeGitHub
) -> None:
    repo = _small_repo(tmp_path)
    fake_github.add_repo(HOME)
    narrow = {k: v for k, v in STATUS_PERMISSIONS.items() if k != "actions"}
    token = fake_github.add_token("narrow", repositories=[HOME], permissions=narrow)
    fake_github.add_workflow(HOME, ".github/workflows/process.yml", "process requests")

    report = _collect(repo, _client(fake_github, token))

    assert report.workflows == ()
    assert any("cannot list the workflows" in p for p in report.problems)
    assert len(report.queue) == 1


def test_pull_request_lookups_stop_at_the_budget(tmp_path: Path, fake_github: FakeGitHub) -> None:
    repo = _small_repo(tmp_path)
    fake_github.add_repo(HOME)
    for name in ("b", "c", "d"):
        commit = repo.merge_request(
            f"{name}.yml", "action: archive\n", "Bo <b@x>", merge_commit=False
        )
        fake_github.add_commit_pull(HOME, commit, 7, user=f"user-{name}")
    token = fake_github.add_token("status", repositories=[HOME], permissions=STATUS_PERMISSIONS)

    report = _collect(repo, _client(fake_github, token), max_pull_lookups=2)

    shown = {r.path: r.requester.display for r in report.queue}
    assert shown == {
        "requests/a.yml": "Ann",  # no pull request: one lookup spent
        "requests/b.yml": "@user-b",
        "requests/c.yml": "Bo",  # over the budget: the commit author
        "requests/d.yml": "Bo",
    }
    assert fake_github.count(method="GET", path=r"/commits/.*/pulls") == 2


def test_a_broken_state_file_is_a_problem_and_the_request_pending(tmp_path: Path) -> None:
    repo = _small_repo(tmp_path)
    store = StateStore(repo.root)
    (repo.root / store.relative_path("requests/a.yml")).write_text("{not json")
    report = _collect(repo, None)
    [row] = report.queue
    assert row.state is QueueState.PENDING
    assert any("queue-state/a.yml.json is broken" in p for p in report.problems)


def test_the_queue_lists_parked_then_retrying_then_pending_oldest_first(tmp_path: Path) -> None:
    repo = DatedRepo(tmp_path / "repo", NOW - timedelta(days=5))
    store = StateStore(repo.root)
    for days, name in ((4, "old-pending"), (3, "retrying"), (2, "parked"), (1, "new-pending")):
        repo.now = NOW - timedelta(days=days)
        text = "action: archive\nfeedstocks:\n  - x\n"
        repo.merge_request(f"{name}.yml", text, "Ann <a@x>", merge_commit=False)
        path = f"requests/{name}.yml"
        digest = content_digest(text.encode())
        if name == "retrying":
            store.save(RequestState(path, digest, attempts=1, next_attempt=NOW, last_error="e"))
        if name == "parked":
            store.save(RequestState(path, digest, attempts=1, parked=True, issue=12))
    report = _collect(repo, None)
    rows = report.queue
    assert [r.name for r in rows] == [
        "parked.yml",
        "retrying.yml",
        "old-pending.yml",
        "new-pending.yml",
    ]
    assert rows[0].issue.url == f"https://github.com/{REPOSITORY}/issues/12"
    assert report.latency.older_than_stale == 3  # exactly 24 h is not older than 24 h


def test_not_a_git_repository_or_a_shallow_one_is_said_on_the_page(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    (plain / "requests").mkdir(parents=True)
    (plain / "requests" / "a.yml").write_text("action: archive\nfeedstocks:\n  - a\n")
    report = StatusCollector(
        plain,
        git=Git(plain),
        github=None,
        clock=lambda: NOW,
        options=StatusOptions(repository=REPOSITORY),
    ).collect()
    [row] = report.queue
    assert row.merged_at is None
    assert any(p.startswith("cannot read the git history") for p in report.problems)

    repo = _small_repo(tmp_path)
    clone = tmp_path / "clone"
    Git(tmp_path).run("clone", "--quiet", "--depth=1", repo.root.as_uri(), str(clone))
    shallow = StatusCollector(
        clone,
        git=Git(clone),
        github=None,
        clock=lambda: NOW,
        options=StatusOptions(repository=REPOSITORY),
    ).collect()
    assert any("fetch-depth: 0" in p for p in shallow.problems)


def test_one_commit_adding_two_files_costs_one_lookup_and_failures_stay_local(
    tmp_path: Path, fake_github: FakeGitHub
) -> None:
    repo = DatedRepo(tmp_path / "repo", NOW - timedelta(days=1))
    for name in ("a", "b"):
        (repo.root / "requests" / f"{name}.yml").write_text("action: archive\n")
    commit = repo.commit("Add two requests", "Ann <a@x>")
    fake_github.add_repo(HOME)
    fake_github.add_commit_pull(HOME, commit, 9, user="ann-gh")
    good = fake_github.add_workflow(HOME, ".github/workflows/good.yml", "good")
    fake_github.add_workflow_run(HOME, good, conclusion="success", created_at=NOW)
    broken = fake_github.add_workflow(HOME, ".github/workflows/broken.yml", "broken")
    fake_github.faults.at_rate(
        1.0, Fault.server_error(503), path=rf"/actions/workflows/{broken.id}/runs$"
    )
    no_issues = {k: v for k, v in STATUS_PERMISSIONS.items() if k != "issues"}
    token = fake_github.add_token("status", repositories=[HOME], permissions=no_issues)

    report = _collect(repo, _client(fake_github, token))

    assert [r.requester.display for r in report.queue] == ["@ann-gh", "@ann-gh"]
    assert fake_github.count(method="GET", path=r"/commits/.*/pulls") == 1
    assert [(w.name, w.last_run is not None) for w in report.workflows] == [
        ("broken", False),
        ("good", True),
    ]
    assert any("cannot list the runs of 'broken'" in p for p in report.problems)
    assert any("cannot list the open 'admin-request-failure' issues" in p for p in report.problems)
    assert report.issues == ()


def test_a_bot_requester_links_to_its_app(tmp_path: Path, fake_github: FakeGitHub) -> None:
    repo = _small_repo(tmp_path)
    fake_github.add_repo(HOME)
    commit = repo.git("rev-parse", "HEAD").strip()
    fake_github.add_commit_pull(HOME, commit, 3, user="regro-cf-autotick-bot[bot]")
    token = fake_github.add_token("status", repositories=[HOME], permissions=STATUS_PERMISSIONS)
    [row] = _collect(repo, _client(fake_github, token)).queue
    assert row.requester.display == "@regro-cf-autotick-bot[bot]"
    assert row.requester.url == "https://github.com/apps/regro-cf-autotick-bot"
