"""The queue with a real request kind (archive) against FakeGitHub, with credentials
scoped to each request's Access, as the credentials work provides them in production."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from admin_requests.access import Access
from admin_requests.config import Settings
from admin_requests.queue.notify import GitHubIssueTracker
from admin_requests.queue.report import Disposition
from admin_requests.services import GitHubClient, Services
from tests.fakes import FakeGitHub
from tests.fakes.clock import FakeClock
from tests.queue.support import Repo, make_runner

HOME = "admin-requests"


def test_archive_request_with_a_typo_is_shrunk_parked_then_completed(
    fake_github: FakeGitHub, repo: Repo, clock: FakeClock
) -> None:
    fake_github.add_repo(HOME)
    fake_github.add_repo("old-one-feedstock")
    fake_github.add_repo("old-two-feedstock")
    settings = Settings(github_api_url=fake_github.url, repository=f"conda-forge/{HOME}")
    job_token = fake_github.add_token(
        "job", repositories=[HOME], permissions={"issues": "write", "pull_requests": "read"}
    )
    tracker = GitHubIssueTracker(GitHubClient.build(settings, job_token), settings.repository)
    minted: list[tuple[str, Access]] = []
    numbers = itertools.count(1)

    @contextmanager
    def scoped(access: Access, label: str) -> Iterator[Services]:
        token = fake_github.add_token(
            f"request-{next(numbers)}",
            repositories=list(access.github_repositories),
            permissions=dict(access.github_permissions),
        )
        minted.append((token, access))
        try:
            yield Services.build(settings, github_token=token, anaconda_token=None)
        finally:
            fake_github.revoke_token(token)

    added = repo.add_request(
        "archive-old.yml",
        "action: archive\n"
        "feedstocks:\n"
        "  - old-one   # unmaintained since 2019\n"
        "  # the second one moved to another org\n"
        "  - old-tow\n",
    )
    fake_github.add_commit_pull(HOME, added, 41, user="maintainer-gh")

    first = make_runner(repo, clock, tracker, services_for=scoped).run()

    result = first.results[0]
    assert result.disposition is Disposition.PARKED
    assert fake_github.repo("old-one-feedstock").archived
    assert repo.read("requests/archive-old.yml") == (
        "action: archive\nfeedstocks:\n  # the second one moved to another org\n  - old-tow\n"
    )
    [issue] = fake_github.issues(HOME)
    assert "@maintainer-gh" in issue.body
    assert "old-tow-feedstock" in issue.body
    # Least privilege: one token per request, for its repositories only, revoked after.
    [(token, access)] = minted
    assert access.github_repositories == ("old-one-feedstock", "old-tow-feedstock")
    assert access.github_permissions == {"administration": "write"}
    assert not fake_github.is_token_valid(token)

    # The maintainer fixes the typo in a pull request.
    (repo.root / "requests" / "archive-old.yml").write_text(
        "action: archive\nfeedstocks:\n  - old-two\n"
    )
    repo.commit("Fix the feedstock name")
    clock.advance(timedelta(minutes=15))
    second = make_runner(repo, clock, tracker, services_for=scoped).run()

    assert second.results[0].disposition is Disposition.COMPLETED
    assert fake_github.repo("old-two-feedstock").archived
    assert not repo.exists("requests/archive-old.yml")
    [issue] = fake_github.issues(HOME)
    assert issue.state == "closed"
    assert repo.status() == ""


def test_a_request_to_archive_an_infrastructure_repository_is_parked_not_carried_out(
    fake_github: FakeGitHub, repo: Repo, clock: FakeClock
) -> None:
    # Issue 16 finding 7: a request archived conda-forge-repodata-patches-feedstock.
    patches = "conda-forge-repodata-patches-feedstock"
    fake_github.add_repo(HOME)
    fake_github.add_repo(patches)
    settings = Settings(github_api_url=fake_github.url, repository=f"conda-forge/{HOME}")
    job_token = fake_github.add_token(
        "job", repositories=[HOME], permissions={"issues": "write", "pull_requests": "read"}
    )
    tracker = GitHubIssueTracker(GitHubClient.build(settings, job_token), settings.repository)
    admin = fake_github.add_token(
        "admin", repositories=[patches], permissions={"administration": "write"}
    )
    services = Services.build(settings, github_token=admin, anaconda_token=None)
    repo.add_request(
        "archive-patches.yml", "action: archive\nfeedstocks:\n  - conda-forge-repodata-patches\n"
    )

    result = make_runner(repo, clock, tracker, services=services).run().results[0]

    assert not fake_github.repo(patches).archived
    assert result.disposition is Disposition.PARKED
    assert any("protected-repository" in problem for problem in result.problems)
    [issue] = fake_github.issues(HOME)
    assert f"the repository '{patches}'" in issue.body
    assert "no request may act on" in issue.body
