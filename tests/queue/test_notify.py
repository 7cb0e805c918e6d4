"""The queue's issues through the real GitHub client, against FakeGitHub."""

from __future__ import annotations

from datetime import timedelta

from admin_requests.config import Settings
from admin_requests.kinds.contract import Outcome
from admin_requests.queue.notify import FAILURE_LABEL, GitHubIssueTracker, marker
from admin_requests.queue.report import Disposition
from admin_requests.services import GitHubClient
from tests.fakes import FakeGitHub
from tests.fakes.clock import FakeClock
from tests.queue.support import Repo, ScriptedKind, make_runner, things

REPO = "admin-requests"


def tracker_for(fake: FakeGitHub, permissions: dict[str, str]) -> GitHubIssueTracker:
    fake.add_repo(REPO)
    token = fake.add_token("job-token", repositories=[REPO], permissions=permissions)
    settings = Settings(github_api_url=fake.url, repository=f"conda-forge/{REPO}")
    return GitHubIssueTracker(GitHubClient.build(settings, token), settings.repository)


def test_park_then_complete_through_fake_github(
    fake_github: FakeGitHub, repo: Repo, clock: FakeClock, kind: ScriptedKind
) -> None:
    tracker = tracker_for(
        fake_github, {"issues": "write", "contents": "write", "pull_requests": "read"}
    )
    added = repo.add_request("a.yml", things("x"))
    fake_github.add_commit_pull(REPO, added, 12, user="alice-gh")
    kind.script["x"] = [Outcome.failed("x-feedstock does not exist")]

    first = make_runner(repo, clock, tracker, kinds=[kind]).run()
    second = make_runner(repo, clock, tracker, kinds=[kind]).run()  # parked: no new issue

    assert first.results[0].disposition is Disposition.PARKED
    assert second.results[0].disposition is Disposition.STILL_PARKED
    [issue] = fake_github.issues(REPO)
    assert issue.labels == [FAILURE_LABEL]
    assert marker("requests/a.yml") in issue.body
    assert "@alice-gh" in issue.body
    assert fake_github.effects["create_issue"] == 1

    clock.advance(timedelta(hours=1))
    done = make_runner(repo, clock, tracker, kinds=[kind], retry=["requests/a.yml"]).run()
    assert done.results[0].disposition is Disposition.COMPLETED
    [issue] = fake_github.issues(REPO)
    assert issue.state == "closed"
    assert len(issue.comments) == 1
    assert "complete" in issue.comments[0]["body"]


def test_without_pull_request_access_the_commit_author_is_addressed(
    fake_github: FakeGitHub, repo: Repo, clock: FakeClock, kind: ScriptedKind
) -> None:
    # The job token has only issues and contents, as in process.yml.
    tracker = tracker_for(fake_github, {"issues": "write", "contents": "write"})
    added = repo.add_request("a.yml", things("x"), author="Carol <carol@example.invalid>")
    fake_github.add_commit_pull(REPO, added, 12, user="carol-gh")
    kind.script["x"] = [Outcome.failed("nope")]

    make_runner(repo, clock, tracker, kinds=[kind]).run()

    [issue] = fake_github.issues(REPO)
    assert "Carol, your request" in issue.body
