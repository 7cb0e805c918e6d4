"""GitHubClient.list_workflows / workflow_runs against FakeGitHub, with its token checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from admin_requests.config import Settings
from admin_requests.errors import AccessDeniedError, NotFoundError
from admin_requests.services import GitHubClient
from tests.fakes import FakeGitHub
from tests.fakes.clock import FakeClock
from tests.fakes.wiring import retrier_for

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
HOME = "admin-requests"


def _client(gh: FakeGitHub, token: str) -> GitHubClient:
    settings = Settings(github_api_url=gh.url, http_timeout_seconds=5)
    return GitHubClient.build(settings, token, retrier=retrier_for(FakeClock()))


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_repo(HOME)
    fake_github.add_repo("other")
    fake_github.add_token("reader", repositories=[HOME], permissions={"actions": "read"})
    return fake_github


def test_workflows_and_their_runs_newest_first(gh: FakeGitHub) -> None:
    process = gh.add_workflow(HOME, ".github/workflows/process.yml", "process requests")
    gh.add_workflow(HOME, ".github/workflows/old.yml", "old", state="disabled_manually")
    for hours, conclusion in ((3, "success"), (2, "failure"), (1, None)):
        gh.add_workflow_run(
            HOME,
            process,
            conclusion=conclusion,
            status="completed" if conclusion else "queued",
            created_at=NOW - timedelta(hours=hours),
        )
    client = _client(gh, "reader")

    workflows = client.list_workflows(HOME)
    runs = client.workflow_runs(HOME, workflows[0].id, limit=2)

    assert [(w.name, w.path, w.state) for w in workflows] == [
        ("process requests", ".github/workflows/process.yml", "active"),
        ("old", ".github/workflows/old.yml", "disabled_manually"),
    ]
    assert workflows[0].url.endswith("/actions/workflows/process.yml")
    assert [(r.number, r.status, r.conclusion) for r in runs] == [
        (3, "queued", None),
        (2, "completed", "failure"),
    ]
    assert runs[0].created_at == "2026-03-02T11:00:00Z"
    assert runs[0].event == "schedule"
    assert runs[0].branch == "main"
    assert gh.calls[-1].path.endswith(f"/actions/workflows/{workflows[0].id}/runs")


def test_many_workflows_are_paged(gh: FakeGitHub) -> None:
    for n in range(101):
        gh.add_workflow(HOME, f".github/workflows/w{n}.yml", f"w{n}")
    assert len(_client(gh, "reader").list_workflows(HOME)) == 101
    assert gh.count(method="GET", path=r"/actions/workflows$") == 2


def test_runs_need_actions_read_on_that_repository(gh: FakeGitHub) -> None:
    workflow = gh.add_workflow(HOME, ".github/workflows/process.yml", "process requests")
    gh.add_token("issues-only", repositories=[HOME], permissions={"issues": "read"})
    with pytest.raises(AccessDeniedError):
        _client(gh, "issues-only").list_workflows(HOME)
    with pytest.raises(AccessDeniedError):
        _client(gh, "issues-only").workflow_runs(HOME, workflow.id)
    with pytest.raises(NotFoundError):
        _client(gh, "reader").list_workflows("other")  # not the token's repository
    with pytest.raises(NotFoundError):
        _client(gh, "reader").workflow_runs(HOME, 424242)  # no such workflow
