"""The CI Apps' installations through the user-token endpoints (services/installations.py):
every page of an installation's repositories, and adding and removing one."""

from __future__ import annotations

import pytest

from admin_requests.config import Settings
from admin_requests.errors import InstallationRemovalRefused
from admin_requests.services import AppInstallationsClient
from tests.fakes import FakeGitHub


def test_installation_repositories_are_read_across_pages(fake_github: FakeGitHub) -> None:
    names = [f"r{n}-feedstock" for n in range(130)]
    for name in names:
        fake_github.add_repo(name)
    fake_github.add_installation(7, "depot", tuple(names))
    fake_github.add_user_token("ghp_admin")
    settings = Settings(github_api_url=fake_github.url, http_timeout_seconds=2)
    ids = AppInstallationsClient(settings, "ghp_admin").repository_ids(7)
    assert ids == {fake_github.repo(n).id for n in names}
    assert fake_github.count("GET", r"/user/installations/7/repositories") == 2


def test_a_full_last_page_costs_one_more_request_and_adds_nothing(
    fake_github: FakeGitHub,
) -> None:
    names = [f"r{n}-feedstock" for n in range(100)]
    for name in names:
        fake_github.add_repo(name)
    fake_github.add_installation(7, "depot", tuple(names))
    settings = Settings(github_api_url=fake_github.url, http_timeout_seconds=2)
    client = AppInstallationsClient(settings, fake_github.add_user_token("ghp_admin"))
    assert len(client.repository_ids(7)) == 100
    assert fake_github.count("GET", r"/user/installations/7/repositories") == 2


def test_a_repository_is_added_to_and_removed_from_an_installation(
    fake_github: FakeGitHub,
) -> None:
    foo = fake_github.add_repo("foo-feedstock")
    bar = fake_github.add_repo("bar-feedstock")
    fake_github.add_installation(7, "depot", ("bar-feedstock",))
    settings = Settings(github_api_url=fake_github.url, http_timeout_seconds=2)
    client = AppInstallationsClient(settings, fake_github.add_user_token("ghp_admin"))
    client.add(7, foo.id)
    assert fake_github.installation_repositories(7) == {"foo-feedstock", "bar-feedstock"}
    assert client.repository_ids(7) == {foo.id, bar.id}
    client.remove(7, foo.id)
    assert fake_github.installation_repositories(7) == {"bar-feedstock"}
    assert "ghp_admin" not in repr(client)


@pytest.mark.parametrize(
    ("all_repositories", "why"),
    [(True, "installed on all repositories"), (False, "the last repository")],
)
def test_github_refusing_a_removal_says_why_and_what_to_do(
    fake_github: FakeGitHub, all_repositories: bool, why: str
) -> None:
    """GitHub answers 422 for an App on all repositories, or for its last repository."""
    foo = fake_github.add_repo("foo-feedstock")
    fake_github.add_installation(7, "depot", ("foo-feedstock",), all_repositories=all_repositories)
    settings = Settings(github_api_url=fake_github.url, http_timeout_seconds=2)
    client = AppInstallationsClient(settings, fake_github.add_user_token("ghp_admin"))
    with pytest.raises(InstallationRemovalRefused, match=why) as refused:
        client.remove(7, foo.id)
    assert "organisation owner" in str(refused.value)
    assert fake_github.installation_repositories(7) == {"foo-feedstock"}
