"""Writes that are not safe to repeat (an issue, a comment): a lost answer never makes
a second one, through the client, the issue tracker and the notifier."""

from __future__ import annotations

from pathlib import Path

import pytest

from admin_requests.config import Settings
from admin_requests.errors import TransientError, UncertainWriteError
from admin_requests.gitops import Git
from admin_requests.notify import FAILURE_LABEL, GitHubIssueTracker, IssueContext, Notifier
from admin_requests.services import GitHubClient
from tests.fakes import FakeGitHub, Fault
from tests.fakes.wiring import FakeClock, retrier_for
from tests.queue.support import BOT, Repo

REPO = "admin-requests"
ISSUES = r"/issues$"
COMMENTS = r"/issues/\d+/comments$"


def client_for(fake: FakeGitHub) -> GitHubClient:
    fake.add_repo(REPO)
    fake.add_token("job")
    settings = Settings(
        github_api_url=fake.url, repository=f"conda-forge/{REPO}", http_timeout_seconds=0.5
    )
    return GitHubClient.build(settings, "job", retrier=retrier_for(FakeClock()))


@pytest.mark.parametrize(
    "fault",
    [Fault.lost_response(), Fault.server_error(502), Fault.reset(), Fault.timeout(1.2)],
    ids=["lost", "502", "reset", "timeout"],
)
def test_creating_an_issue_is_never_retried_blindly(fake_github: FakeGitHub, fault: Fault) -> None:
    client = client_for(fake_github)
    fake_github.faults.on_call(1, fault=fault, method="POST", path=ISSUES)
    with pytest.raises(UncertainWriteError, match="may or may not have happened"):
        client.create_issue(REPO, "t", "b")
    # One attempt only (a retry would have succeeded: the fault hits the first call).
    assert fake_github.faults.injected == 1
    assert len(fake_github.issues(REPO)) == (1 if fault.kind == "lost_response" else 0)


def test_rate_limits_cannot_have_happened_and_are_retried(fake_github: FakeGitHub) -> None:
    client = client_for(fake_github)
    fake_github.faults.on_call(1, fault=Fault.too_many_requests("2"), method="POST", path=ISSUES)
    fake_github.faults.on_call(2, fault=Fault.secondary_rate_limit("3"), method="POST", path=ISSUES)
    assert client.create_issue(REPO, "t", "b").number == 1
    assert fake_github.effects["create_issue"] == 1


def test_idempotent_calls_still_retry_every_transient_failure(fake_github: FakeGitHub) -> None:
    client = client_for(fake_github)
    fake_github.add_repo("x-feedstock")
    fake_github.faults.on_call(1, fault=Fault.lost_response(), method="PATCH")
    fake_github.faults.on_call(2, fault=Fault.server_error(502), method="PATCH")
    client.set_archived("x-feedstock", True)
    assert fake_github.repo("x-feedstock").archived
    assert fake_github.effects["archive"] == 1


def test_the_tracker_finds_the_issue_a_lost_answer_opened(fake_github: FakeGitHub) -> None:
    tracker = GitHubIssueTracker(client_for(fake_github), f"conda-forge/{REPO}")
    fake_github.faults.on_call(1, fault=Fault.lost_response(), method="POST", path=ISSUES)
    number = tracker.create_issue("Request x needs attention", "body\n", [FAILURE_LABEL])
    [issue] = fake_github.issues(REPO)
    assert number == issue.number
    assert fake_github.effects["create_issue"] == 1


def test_the_tracker_opens_again_when_the_failure_did_nothing(fake_github: FakeGitHub) -> None:
    tracker = GitHubIssueTracker(client_for(fake_github), f"conda-forge/{REPO}")
    fake_github.faults.on_call(1, fault=Fault.server_error(502), method="POST", path=ISSUES)
    tracker.create_issue("Request x needs attention", "body", [FAILURE_LABEL])
    assert len(fake_github.issues(REPO)) == 1
    assert fake_github.count("POST", ISSUES) == 2


def test_the_tracker_gives_up_after_a_few_uncertain_tries(fake_github: FakeGitHub) -> None:
    tracker = GitHubIssueTracker(client_for(fake_github), f"conda-forge/{REPO}")
    fake_github.faults.at_rate(1.0, Fault.server_error(503), method="POST", path=ISSUES)
    with pytest.raises(TransientError, match="later run"):
        tracker.create_issue("t", "b", [FAILURE_LABEL])
    assert fake_github.issues(REPO) == []


def test_a_comment_is_posted_once_even_when_its_answer_is_lost(fake_github: FakeGitHub) -> None:
    tracker = GitHubIssueTracker(client_for(fake_github), f"conda-forge/{REPO}")
    number = tracker.create_issue("t", "b", [FAILURE_LABEL])
    fake_github.faults.on_call(1, fault=Fault.lost_response(), method="POST", path=COMMENTS)
    tracker.comment_on_issue(number, "done now")
    tracker.comment_on_issue(number, "done now")  # a re-run after a crash says it again
    [issue] = fake_github.issues(REPO)
    assert [c["body"] for c in issue.comments] == ["done now"]
    tracker.comment_on_issue(number, "something else")
    assert len(issue.comments) == 2


def context(request: str = "requests/a.yml") -> IssueContext:
    return IssueContext(
        request, "archive", "a permanent failure", "x", [("x", "why")], [], 1, "retry"
    )


def test_the_notifier_adopts_an_issue_that_already_says_it(
    fake_github: FakeGitHub, tmp_path: Path
) -> None:
    """A run opened the issue and was killed before recording it: the re-run adopts
    it, silently, instead of commenting 'parked again'."""
    repo = Repo(tmp_path / "q")
    repo.add_request("a.yml", "action: archive\nfeedstocks: [x]\n")
    tracker = GitHubIssueTracker(client_for(fake_github), f"conda-forge/{REPO}")
    notifier = Notifier(tracker, Git(repo.root, BOT))
    first = notifier.report_parked(context())
    again = notifier.report_parked(context())
    assert again == first
    [issue] = fake_github.issues(REPO)
    assert issue.comments == []
    # Something new to say (the file changed and failed differently): a comment.
    changed = IssueContext("requests/a.yml", "archive", "failed 8 times", "y", [], [], 8, "r")
    assert notifier.report_parked(changed) == first
    assert len(issue.comments) == 1
