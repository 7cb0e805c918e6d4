"""The CI Apps' installations through the user-token endpoints (services/installations.py)."""

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
