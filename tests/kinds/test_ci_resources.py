"""The CI-resource kinds against FakeGitHub: provider App installations (through the
user-token endpoints), the organisation's .access_control.yml, Cirun's .access.yml and
the cirun pull request, with tokens scoped exactly to each kind's Access."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from admin_requests.access import Access
from admin_requests.config import Settings
from admin_requests.errors import AccessDeniedError, NotFoundError
from admin_requests.kinds.contract import OutcomeStatus
from admin_requests.queue.notify import GitHubIssueTracker
from admin_requests.queue.report import Disposition
from admin_requests.services import AppInstallationsClient, GitHubClient, Services
from tests.fakes import FakeGitHub, Fault
from tests.fakes.clock import FakeClock
from tests.fakes.wiring import services_for
from tests.kinds.ci_resources_world import (
    ACCESS_CONTROL,
    INSTALLATIONS,
    RECORDS,
    SETTINGS,
    records,
    services,
    with_ci_repositories,
)
from tests.kinds.helpers import load, run, statuses
from tests.kinds.scoped import Minted, scoped_services
from tests.queue.support import Repo, make_runner


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:
    return with_ci_repositories(fake_github)


@pytest.mark.parametrize("action", ["travis", "blacksmith", "namespace", "depot", "cirrus_runners"])
def test_grant_adds_the_app_and_the_record_then_a_rerun_changes_nothing(
    gh: FakeGitHub, action: str
) -> None:
    loaded = load(f"action: {action}\nfeedstocks:\n  - foo\n  - bar\n")
    outcomes = run(loaded, services(gh, loaded))
    assert statuses(outcomes) == [("done", True), ("done", True)]
    assert gh.installation_repositories(INSTALLATIONS[action]) == {
        "old-feedstock",
        "foo-feedstock",
        "bar-feedstock",
    }
    text = records(gh)
    added = "\n    - feedstock: foo-feedstock\n    - feedstock: bar-feedstock\n"
    if action in ("travis", "blacksmith"):  # already listed (blacksmith as null)
        start = "    - feedstock: example   # added by hand in 2023\n" if action == "travis" else ""
        assert text == ACCESS_CONTROL.replace(
            f"  {action}:{' null' if action == 'blacksmith' else ''}\n{start}",
            f"  {action}:\n{start}{added[1:]}",
        )
    else:  # a new resource goes at the end, the rest as it was
        assert text == ACCESS_CONTROL + f"  {action}:{added}"
    effects = dict(gh.effects)
    assert effects == {"installation_add": 2, "put_file": 2}
    again = run(loaded, services(gh, loaded))
    assert statuses(again) == [("done", False), ("done", False)]
    assert "already in place" in again[0].detail
    assert dict(gh.effects) == effects


def test_revoke_removes_the_app_and_the_record(gh: FakeGitHub) -> None:
    grant = load("action: blacksmith\nfeedstocks: [foo]\n")
    run(grant, services(gh, grant))
    revoke = load("action: blacksmith\nfeedstocks: [foo]\nrevoke: true\n")
    [outcome] = run(revoke, services(gh, revoke))
    assert outcome.status is OutcomeStatus.DONE
    assert "removed from the Blacksmith runners App installation" in outcome.detail
    assert gh.installation_repositories(502) == {"old-feedstock"}
    assert "foo-feedstock" not in records(gh)
    assert "    - feedstock: example   # added by hand in 2023\n" in records(gh)
    assert statuses(run(revoke, services(gh, revoke))) == [("done", False)]


@pytest.mark.parametrize("all_repositories", [True, False])
def test_a_removal_github_refuses_fails_with_why_and_the_record_still_changes(
    gh: FakeGitHub, all_repositories: bool
) -> None:
    """GitHub will not take a repository out of an installation on all repositories, nor
    the last one out of any (422): the record is updated, a person is told what to do."""
    gh.add_installation(502, "blacksmith", ("foo-feedstock",), all_repositories=all_repositories)
    grant = load("action: blacksmith\nfeedstocks: [foo]\n")
    run(grant, services(gh, grant))
    revoke = load("action: blacksmith\nfeedstocks: [foo]\nrevoke: true\n")
    [outcome] = run(revoke, services(gh, revoke))
    assert outcome.status is OutcomeStatus.FAILED
    assert "foo-feedstock" in gh.installation_repositories(502)
    assert "foo-feedstock" not in records(gh)
    assert f"recorded in {RECORDS}/.access_control.yml" in outcome.detail
    why = "installed on all repositories" if all_repositories else "the last repository"
    assert "still in the Blacksmith runners App installation: GitHub refused" in outcome.detail
    assert why in outcome.detail
    assert "organisation owner" in outcome.detail


def test_an_unconfigured_provider_fails_with_words_and_changes_nothing(gh: FakeGitHub) -> None:
    loaded = load("action: depot\nfeedstocks: [foo]\n")
    reader = scoped_services(gh, Access())
    svc = scoped_services(gh, loaded.kind.access(loaded.model, reader))  # no installation ids
    [outcome] = run(loaded, svc)
    assert outcome.status is OutcomeStatus.FAILED
    assert "installation id is not configured" in outcome.detail
    assert "ADMIN_REQUESTS_CI_APPS, key 'depot'" in outcome.detail
    assert gh.effects == {}


def test_a_crash_between_the_provider_and_the_record_is_finished_by_the_rerun(
    gh: FakeGitHub,
) -> None:
    loaded = load("action: namespace\nfeedstocks: [foo]\n")
    gh.faults.at_rate(1.0, Fault.server_error(503), method="PUT", path="access_control")
    [outcome] = run(loaded, services(gh, loaded))
    assert outcome.status is OutcomeStatus.RETRY
    assert "foo-feedstock" in gh.installation_repositories(503)
    assert "foo-feedstock" not in records(gh)
    gh.faults.clear()
    [outcome] = run(loaded, services(gh, loaded))
    assert outcome.status is OutcomeStatus.DONE
    assert "added to" not in outcome.detail  # already there: not added twice
    assert "recorded in ci-access-control/.access_control.yml" in outcome.detail
    assert gh.effects["installation_add"] == 1


def test_each_token_is_refused_outside_what_access_declares(gh: FakeGitHub) -> None:
    loaded = load("action: blacksmith\nfeedstocks: [foo]\n")
    minted = Minted()
    svc = services(gh, loaded, minted)
    access = loaded.kind.access(loaded.model, svc)
    assert access.github_repositories == ("foo-feedstock",)
    assert access.github_permissions == {"metadata": "read"}
    assert [(g.repositories, dict(g.permissions)) for g in access.github_extra] == [
        ((RECORDS,), {"contents": "write"})
    ]
    assert access.github_app_installations
    assert statuses(run(loaded, svc)) == [("done", True)]
    settings = svc.settings
    feedstock = GitHubClient.build(settings, minted.main)
    with pytest.raises(NotFoundError):  # the records are out of the feedstock token's reach
        feedstock.put_file(RECORDS, ".access_control.yml", b"x", "x", "0" * 40)
    with pytest.raises(AccessDeniedError):  # and it cannot write the feedstock either
        feedstock.put_file("foo-feedstock", "x", b"x", "x", None)
    with pytest.raises(NotFoundError):  # the records' token cannot reach the feedstock
        GitHubClient.build(settings, minted.grants[(RECORDS,)]).repository("foo-feedstock")
    # No App installation token may change another App's installation: GitHub takes
    # only a user's classic token there, and so does the fake.
    with pytest.raises(AccessDeniedError):
        AppInstallationsClient(settings, minted.main).add(502, gh.repo("bar-feedstock").id)
    assert "bar-feedstock" not in gh.installation_repositories(502)


def test_a_missing_feedstock_fails_and_the_file_keeps_only_it(
    gh: FakeGitHub, repo: Repo, clock: FakeClock
) -> None:
    gh.add_repo("admin-requests")
    settings = Settings(
        github_api_url=gh.url,
        repository="conda-forge/admin-requests",
        **SETTINGS,  # type: ignore[arg-type]
    )
    job = gh.add_token(
        "job",
        repositories=["admin-requests"],
        permissions={"issues": "write", "pull_requests": "read"},
    )
    tracker = GitHubIssueTracker(GitHubClient.build(settings, job), settings.repository)

    @contextmanager
    def scoped(access: Access, label: str) -> Iterator[Services]:
        gh.add_repo("gone-feedstock") if "gone-feedstock" not in gh.repos else None
        svc = scoped_services(gh, access, **SETTINGS)
        del gh.repos["gone-feedstock"]  # deleted after the token was minted
        yield svc

    repo.add_request("depot.yml", "action: depot\nfeedstocks:\n  - gone\n  - foo  # ours\n")
    shared = Services.build(settings, github_token=job, anaconda_token=None)
    report = make_runner(repo, clock, tracker, services=shared, services_for=scoped).run()
    assert report.results[0].disposition is Disposition.PARKED
    assert repo.read("requests/depot.yml") == "action: depot\nfeedstocks:\n  - gone\n"
    assert "foo-feedstock" in gh.installation_repositories(504)
    [issue] = gh.issues("admin-requests")
    assert "there is no repository 'gone-feedstock'" in issue.body.replace("\\", "")


def test_preflight_flags_a_missing_feedstock(gh: FakeGitHub) -> None:
    loaded = load("action: blacksmith\nfeedstocks:\n  - foo\n  - nope\n")
    problems = loaded.kind.preflight(loaded.model, services_for(gh, None, github_token="job-token"))
    assert [(p.code, p.line) for p in problems] == [("no-such-feedstock", 4)]
