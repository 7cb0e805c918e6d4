"""The clients one run uses (services/__init__.py): the client whose token covers a
repository, extra grants, and per-run lookups computed once."""

from __future__ import annotations

import threading

import pytest

from admin_requests.config import Settings
from admin_requests.errors import NotFoundError
from admin_requests.services import Services
from tests.fakes import FakeGitHub


@pytest.fixture
def services(fake_github: FakeGitHub) -> Services:
    for name in ("foo-feedstock", "feedstock-tokens"):
        fake_github.add_repo(name)
    fake_github.add_token(
        "foo-only", repositories=["foo-feedstock"], permissions={"contents": "read"}
    )
    fake_github.add_token(
        "tokens-only", repositories=["feedstock-tokens"], permissions={"contents": "write"}
    )
    settings = Settings(github_api_url=fake_github.url, http_timeout_seconds=2)
    return Services.build(settings, github_token="foo-only", anaconda_token=None)


def test_a_repository_without_a_grant_is_reached_with_the_main_token(services: Services) -> None:
    assert services.github_for("foo-feedstock") is services.github
    assert services.github_for("feedstock-tokens") is services.github
    with pytest.raises(NotFoundError):  # the main token does not cover it
        services.github_for("feedstock-tokens").repository("feedstock-tokens")


def test_a_grant_gives_its_repositories_one_client_with_its_token(services: Services) -> None:
    services.add_github_grant(("feedstock-tokens", "other-repo"), "tokens-only")
    granted = services.github_for("feedstock-tokens")
    assert granted is not services.github
    assert services.github_for("other-repo") is granted
    assert granted.retrier is services.github.retrier
    granted.repository("feedstock-tokens")  # reachable with the grant's token
    assert services.github_for("foo-feedstock") is services.github
    with pytest.raises(NotFoundError):  # and the grant's token reaches nothing else
        granted.repository("foo-feedstock")


def test_memo_computes_once_per_key_even_from_threads(services: Services) -> None:
    calls: list[str] = []
    started = threading.Barrier(4)

    def compute() -> str:
        calls.append("config")
        return "value"

    def look_up() -> None:
        started.wait()
        assert services.memo("config.json", compute) == "value"

    threads = [threading.Thread(target=look_up) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == ["config"]
    assert services.memo("other.json", lambda: 42) == 42
    assert services.memo("config.json", lambda: "not computed again") == "value"
