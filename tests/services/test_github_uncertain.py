"""Writes that are not safe to repeat (an issue, a comment): a lost answer never makes
a second one, through the client, the issue tracker and the notifier."""

from __future__ import annotations

from pathlib import Path

import pytest

from admin_requests.config import Settings
from admin_requests.errors import TransientError, UncertainWriteError
from admin_requests.kinds.contract import OutcomeStatus
from admin_requests.queue.gitops import Git
from admin_requests.queue.notify import FAILURE_LABEL, GitHubIssueTracker, IssueContext, Notifier
from admin_requests.services import GitHubClient
from admin_requests.services.http import RetryPolicy
from tests.fakes import FakeCirun, FakeGitHub, Fault, sha
from tests.fakes.clock import FakeClock
from tests.fakes.wiring import retrier_for
from tests.kinds.cirun.hooks import soak_request as build_cirun
from tests.kinds.helpers import load
from tests.queue.support import BOT, Repo
from tests.soak.world import World, seed_common, world_services

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


# -- pull requests (the cirun kind's enabling pull request) -----------------------------


def feature_branch(fake: FakeGitHub) -> None:
    fake.add_repo("x-feedstock", branches={"main": sha("main"), "feature": sha("feature")})


def test_a_lost_answer_to_opening_a_pull_request_finds_the_one_it_opened(
    fake_github: FakeGitHub,
) -> None:
    client = client_for(fake_github)
    feature_branch(fake_github)
    fake_github.faults.on_call(1, fault=Fault.lost_response(), method="POST", path=r"/pulls$")
    pull = client.create_pull("x-feedstock", title="t", body="b", head="feature", base="main")
    [only] = fake_github.pulls("x-feedstock")
    assert pull.number == only.number
    assert fake_github.effects["create_pull"] == 1
    # Asked again (a rerun): GitHub says it exists, and it is the one returned.
    again = client.create_pull("x-feedstock", title="t", body="b", head="feature", base="main")
    assert again.number == only.number
    assert len(fake_github.pulls("x-feedstock")) == 1


def test_an_uncertain_pull_request_that_did_not_happen_is_left_to_a_later_run(
    fake_github: FakeGitHub,
) -> None:
    client = client_for(fake_github)
    feature_branch(fake_github)
    fake_github.faults.on_call(1, fault=Fault.server_error(502), method="POST", path=r"/pulls$")
    with pytest.raises(UncertainWriteError):
        client.create_pull("x-feedstock", title="t", body="b", head="feature", base="main")
    assert fake_github.pulls("x-feedstock") == []


class AlwaysSendPr:
    """An rng for the soak world's cirun builder: one feedstock, with the pull request."""

    def random(self) -> float:
        return 0.0

    def randint(self, low: int, high: int) -> int:
        return low


@pytest.mark.parametrize("path", [r"/pulls$", r"-feedstock/git/refs$"])
def test_cirun_survives_a_lost_answer_on_its_branch_or_its_pull_request(
    fake_github: FakeGitHub, fake_cirun: FakeCirun, path: str
) -> None:
    world = World(fake_github, None, fake_cirun)
    seed_common(fake_github, None, fake_cirun)
    request = build_cirun(world, AlwaysSendPr(), 1)  # type: ignore[arg-type]
    fake_github.faults.on_call(1, fault=Fault.lost_response(), method="POST", path=path)
    services = world_services(
        fake_github,
        None,
        clock=FakeClock(),
        policy=RetryPolicy(),
        http_timeout_seconds=0.5,
        cirun=fake_cirun,
    )
    loaded = load(request.text)
    [outcome] = [loaded.kind.execute(item, services) for item in loaded.items]
    assert outcome.status is OutcomeStatus.DONE, outcome.detail
    assert world.all_done() == []
    assert fake_github.effects["create_pull"] == 1
