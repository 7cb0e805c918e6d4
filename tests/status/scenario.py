"""A realistic queue and history for the status page, made through the real code paths.

A throwaway git repository receives merged request files at fixed past times (commit
dates set through GIT_AUTHOR_DATE / GIT_COMMITTER_DATE), and the real ``QueueRunner``
processes them at later times against FakeGitHub with the real request kinds (archive,
unarchive, archive_branch): it completes, retries and parks them, opens issues and
writes the queue state, exactly as in production. FakeGitHub also knows the pull
requests that merged each file and the Actions workflows with their runs.

What happened, relative to NOW (2026-03-02 12:00 UTC):

- 9 requests completed, merge to done between 5 minutes and 3 hours; five of them in the
  last 30 days, one needed two runs (a GitHub outage), one came through a merge commit,
  one was pushed by core directly (no pull request).
- one withdrawn by its author (removed by a person, not by the queue).
- in the queue: ``typo.yml`` (unknown action 'archve', parked, issue), ``gone.yml``
  (archive of a feedstock that does not exist, parked, issue), ``flaky.yml`` (GitHub
  answers 503, six failed attempts, retrying), ``new.yml`` (merged 20 minutes ago, pending).
- workflows: 'process requests' failed its last three runs and is running again;
  'check requests' (pull requests) is fine; 'status page' is fine.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from admin_requests.config import Settings
from admin_requests.queue.dispatch import QueueConfig, QueueRunner
from admin_requests.queue.gitops import Git
from admin_requests.queue.notify import GitHubIssueTracker
from admin_requests.queue.report import RunReport
from admin_requests.services import GitHubClient, Services
from tests.fakes import FakeGitHub, Fault, sha
from tests.fakes.clock import FakeClock
from tests.fakes.wiring import retrier_for

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
HOME = "admin-requests"
REPOSITORY = f"conda-forge/{HOME}"
# What the status job's GITHUB_TOKEN holds in status.yml.
STATUS_PERMISSIONS = {
    "contents": "read",
    "issues": "read",
    "actions": "read",
    "pull_requests": "read",
}


def archive(*names: str, action: str = "archive") -> str:
    return f"action: {action}\nfeedstocks:\n" + "".join(f"  - {n}\n" for n in names)


@dataclass(frozen=True)
class Expected:
    """What the page must show for the scenario (the tests compare against it)."""

    completed: dict[str, timedelta]  # request path -> merge to done
    queue_states: dict[str, str]  # request path -> pending / retrying / parked
    requesters: dict[str, str]  # request path -> '@login' or the commit author's name
    retry_next_attempt: datetime
    withdrawn: str


@dataclass
class Scenario:
    root: Path
    github: FakeGitHub
    settings: Settings
    now: datetime
    expected: Expected
    status_token: str
    reports: list[RunReport] = field(default_factory=list)

    def client(self, token: str | None = None) -> GitHubClient:
        return GitHubClient.build(
            self.settings, token or self.status_token, retrier=retrier_for(FakeClock())
        )


class DatedRepo:
    """A git repository whose commits carry the times we give them."""

    def __init__(self, root: Path, start: datetime) -> None:
        self.root = root
        self.now = start
        root.mkdir(parents=True)
        self.git("init", "--quiet", "--initial-branch=main")
        (root / "requests").mkdir()
        (root / "requests" / "README.md").write_text("The queue: one file per request.\n")
        (root / "queue-state").mkdir()
        (root / "queue-state" / "README.md").write_text("What the queue remembers.\n")
        self.commit("Set up the queue", "Core <core@example.invalid>")

    def environ(self) -> dict[str, str]:
        stamp = f"@{int(self.now.timestamp())} +0000"
        return {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}

    def git(self, *args: str) -> str:
        return subprocess.run(
            [
                "git",
                "-c",
                "user.name=Merge Button",
                "-c",
                "user.email=noreply@example.invalid",
                "-c",
                "commit.gpgsign=false",
                *args,
            ],
            cwd=self.root,
            env=self.environ(),
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def commit(self, message: str, author: str) -> str:
        self.git("add", "--all")
        self.git("commit", "--quiet", "--allow-empty", "-m", message, f"--author={author}")
        return self.git("rev-parse", "HEAD").strip()

    def merge_request(self, name: str, text: str, author: str, *, merge_commit: bool) -> str:
        """Land a request file as a merged pull request would; return the commit on main."""
        if not merge_commit:  # squash merge: one commit on main
            (self.root / "requests" / name).write_text(text)
            return self.commit(f"Add requests/{name}", author)
        self.git("checkout", "--quiet", "-b", f"pr-{name}")
        (self.root / "requests" / name).write_text(text)
        self.commit(f"Add requests/{name}", author)
        self.git("checkout", "--quiet", "main")
        self.git("merge", "--quiet", "--no-ff", f"pr-{name}", "-m", f"Merge pull request: {name}")
        return self.git("rev-parse", "HEAD").strip()

    def withdraw(self, name: str, author: str) -> str:
        (self.root / "requests" / name).unlink()
        return self.commit(f"Withdraw requests/{name}", author)


def build_scenario(root: Path, github: FakeGitHub) -> Scenario:
    settings = Settings(github_api_url=github.url, repository=REPOSITORY, http_timeout_seconds=5.0)
    github.add_repo(HOME)
    for name in ("alpha", "beta", "gamma", "epsilon", "zeta", "eta", "theta", "iota"):
        github.add_repo(f"{name}-feedstock", archived=name == "beta")
    github.add_repo("delta-feedstock", branches={"main": sha("d"), "1.x": sha("d1")})
    github.add_repo("flaky-feedstock")
    github.add_repo("kappa-feedstock")
    github.add_token("gh-admin")  # the requests' credentials (scoping is tested elsewhere)
    job = github.add_token(
        "process-job", repositories=[HOME], permissions={"issues": "write", "pull_requests": "read"}
    )
    status_token = github.add_token(
        "status-job", repositories=[HOME], permissions=dict(STATUS_PERMISSIONS)
    )
    services = Services.build(
        settings, github_token="gh-admin", anaconda_token=None, retrier=retrier_for(FakeClock())
    )
    tracker = GitHubIssueTracker(
        GitHubClient.build(settings, job, retrier=retrier_for(FakeClock())), REPOSITORY
    )
    repo = DatedRepo(root, NOW - timedelta(days=400))
    scenario_reports: list[RunReport] = []

    def at(moment: datetime) -> None:
        repo.now = moment

    def run_queue(moment: datetime) -> RunReport:
        at(moment)
        runner = QueueRunner(
            root,
            services=services,
            git=Git(root, environ=repo.environ()),
            clock=lambda: moment,
            tracker=tracker,
            config=QueueConfig(),
        )
        report = runner.run()
        scenario_reports.append(report)
        return report

    pull_numbers = iter(range(101, 200))

    def merged(
        name: str,
        text: str,
        moment: datetime,
        login: str | None,
        author: str = "Requester <requester@example.invalid>",
        *,
        merge_commit: bool = False,
    ) -> str:
        at(moment)
        commit = repo.merge_request(name, text, author, merge_commit=merge_commit)
        if login is not None:
            github.add_commit_pull(HOME, commit, next(pull_numbers), user=login)
        return commit

    def faults(*paths: str) -> None:
        github.faults.clear()
        for path in paths:
            github.faults.at_rate(1.0, Fault.server_error(503), path=path)

    flaky = r"^/repos/conda-forge/flaky-feedstock$"
    completed: dict[str, timedelta] = {}
    requesters: dict[str, str] = {}

    def complete(
        name: str,
        text: str,
        days_ago: float,
        latency: timedelta,
        login: str | None,
        author: str = "Requester <requester@example.invalid>",
        *,
        merge_commit: bool = False,
        outage: str | None = None,
    ) -> None:
        start = NOW - timedelta(days=days_ago)
        merged(name, text, start, login, author, merge_commit=merge_commit)
        if outage is not None:  # the first run meets a GitHub outage for this feedstock
            faults(flaky, outage)
            report = run_queue(start + timedelta(minutes=15))
            assert any(r.request == f"requests/{name}" for r in report.results)
            faults(flaky)
        report = run_queue(start + latency)
        done = {r.request for r in report.results if r.disposition.value == "completed"}
        assert f"requests/{name}" in done, report
        completed[f"requests/{name}"] = latency
        requesters[f"requests/{name}"] = f"@{login}" if login else author.split(" <")[0]

    faults(flaky)
    complete("archive-alpha.yml", archive("alpha"), 300, timedelta(minutes=12), "ana")
    complete(
        "unarchive-beta.yml", archive("beta", action="unarchive"), 200, timedelta(hours=3), "bo"
    )
    complete(
        "archive-gamma.yml",
        archive("gamma"),
        100,
        timedelta(minutes=40),
        None,
        "Core Member <core@example.invalid>",
    )
    complete(
        "archive-branch-delta.yml",
        "action: archive_branch\nfeedstocks:\n  delta:\n    - 1.x\n",
        45,
        timedelta(minutes=25),
        "dee",
    )
    complete("archive-epsilon.yml", archive("epsilon"), 25, timedelta(minutes=5), "eps")
    complete(
        "archive-zeta.yml",
        archive("zeta"),
        20,
        timedelta(minutes=18),
        None,
        "Zed Branch <zed@example.invalid>",
        merge_commit=True,
    )
    at(NOW - timedelta(days=15))
    merged("oops.yml", archive("eta"), NOW - timedelta(days=15), "oopsie")
    at(NOW - timedelta(days=15) + timedelta(minutes=3))
    repo.withdraw("oops.yml", "Oopsie <oopsie@example.invalid>")
    complete(
        "unarchive-eta.yml",
        archive("eta", action="unarchive"),
        10,
        timedelta(hours=2, minutes=30),
        "etta",
    )
    complete(
        "archive-theta.yml",
        archive("theta"),
        5,
        timedelta(minutes=45),
        "theo",
        outage=r"^/repos/conda-forge/theta-feedstock$",
    )
    complete("archive-iota.yml", archive("iota"), 2, timedelta(minutes=9), "io")

    # The queue as it is now.
    typo_at = NOW - timedelta(days=3)
    merged("typo.yml", "action: archve\nfeedstocks:\n  - lambda\n", typo_at, "typist")
    run_queue(typo_at + timedelta(minutes=15))
    gone_at = NOW - timedelta(days=2, hours=1)
    merged("gone.yml", archive("gone"), gone_at, "ghost")
    run_queue(gone_at + timedelta(minutes=15))
    flaky_at = NOW - timedelta(hours=10, minutes=15)
    merged("flaky.yml", archive("flaky"), flaky_at, "flake")
    attempt = flaky_at + timedelta(minutes=15)
    for delay in (15, 30, 60, 120, 240, 360):  # the backoff: each run when it is due
        run_queue(attempt)
        attempt += timedelta(minutes=delay)
    next_attempt = attempt  # the last delay was capped at 6 h
    merged("new.yml", archive("kappa"), NOW - timedelta(minutes=20), "newbie")
    requesters.update(
        {
            "requests/typo.yml": "@typist",
            "requests/gone.yml": "@ghost",
            "requests/flaky.yml": "@flake",
            "requests/new.yml": "@newbie",
        }
    )
    _seed_workflows(github)
    return Scenario(
        root,
        github,
        settings,
        NOW,
        Expected(
            completed=completed,
            queue_states={
                "requests/typo.yml": "parked",
                "requests/gone.yml": "parked",
                "requests/flaky.yml": "retrying",
                "requests/new.yml": "pending",
            },
            requesters=requesters,
            retry_next_attempt=next_attempt,
            withdrawn="requests/oops.yml",
        ),
        status_token,
        scenario_reports,
    )


def _seed_workflows(github: FakeGitHub) -> None:
    process = github.add_workflow(HOME, ".github/workflows/process.yml", "process requests")
    add = github.add_workflow_run
    for hours in range(48, 1, -4):
        add(HOME, process, conclusion="success", created_at=NOW - timedelta(hours=hours))
    for minutes in (75, 60, 45):  # the vault was down: three failed runs in a row
        add(HOME, process, conclusion="failure", created_at=NOW - timedelta(minutes=minutes))
    add(HOME, process, conclusion="cancelled", created_at=NOW - timedelta(minutes=40))
    add(
        HOME,
        process,
        conclusion=None,
        status="in_progress",
        created_at=NOW - timedelta(minutes=2),
        event="push",
    )
    check = github.add_workflow(HOME, ".github/workflows/check.yml", "check requests")
    for hours, conclusion in ((30, "success"), (20, "failure"), (2, "success")):
        add(
            HOME,
            check,
            conclusion=conclusion,
            created_at=NOW - timedelta(hours=hours),
            event="pull_request",
            branch=f"request-{hours}",
        )
    status = github.add_workflow(HOME, ".github/workflows/status.yml", "status page")
    add(HOME, status, conclusion="success", created_at=NOW - timedelta(minutes=50))
