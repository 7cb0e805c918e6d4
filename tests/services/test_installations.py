"""The CI Apps' installations through the user-token endpoints (services/installations.py):
every page of an installation's repositories, and adding and removing one."""

from __future__ import annotations

from admin_requests.config import Settings
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
    fake_github.add_installation(7, "depot")
    settings = Settings(github_api_url=fake_github.url, http_timeout_seconds=2)
    client = AppInstallationsClient(settings, fake_github.add_user_token("ghp_admin"))
    client.add(7, foo.id)
    assert fake_github.installation_repositories(7) == {"foo-feedstock"}
    assert client.repository_ids(7) == {foo.id}
    client.remove(7, foo.id)
    assert fake_github.installation_repositories(7) == set()
    assert "ghp_admin" not in repr(client)
