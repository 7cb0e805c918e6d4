"""Run configuration: read once from the environment, every base URL configurable."""

from __future__ import annotations

import pytest

from admin_requests.config import Settings, parse_installations
from admin_requests.errors import UsageError


def test_an_empty_environment_gives_the_production_defaults() -> None:
    assert Settings.from_environ({}) == Settings()
    assert Settings().github_api_url == "https://api.github.com"
    assert Settings().organisation == "conda-forge"


def test_the_environment_sets_urls_without_their_trailing_slash() -> None:
    settings = Settings.from_environ(
        {
            "ADMIN_REQUESTS_ORG": "acme",
            "GITHUB_REPOSITORY": "acme/admin-requests",
            "GITHUB_API_URL": "http://127.0.0.1:8080/",
            "ANACONDA_API_URL": "http://127.0.0.1:8081/",
            "ANACONDA_CHANNEL_URL": "http://127.0.0.1:8082/",
            "AZURE_DEVOPS_URL": "http://127.0.0.1:8083/",
            "GITHUB_SERVER_URL": "http://127.0.0.1:8084/",
            "ADMIN_REQUESTS_HTTP_TIMEOUT": "2.5",
            "REPODATA_PATCHES_BRANCH": "production",
            "CONDA_SMITHY": "/opt/conda/bin/conda-smithy",
            "ADMIN_REQUESTS_RENDERED": "/tmp/rendered",
        }
    )
    assert (settings.organisation, settings.repository) == ("acme", "acme/admin-requests")
    assert settings.github_api_url == "http://127.0.0.1:8080"
    assert settings.anaconda_api_url == "http://127.0.0.1:8081"
    assert settings.channel_url == "http://127.0.0.1:8082"
    assert settings.azure_devops_url == "http://127.0.0.1:8083"
    assert settings.git_base_url == "http://127.0.0.1:8084"
    assert settings.http_timeout_seconds == 2.5
    # The branch the rebuild commit goes to (main, where the feedstock builds on push).
    assert settings.repodata_patches_branch == "production"
    assert Settings().repodata_patches_branch == "main"
    assert settings.conda_smithy == "/opt/conda/bin/conda-smithy"
    assert settings.rendered_dir == "/tmp/rendered"
    assert settings.channel == "conda-forge"


def test_installations_accept_spaces_and_semicolons() -> None:
    assert parse_installations(" cirun=1 ; depot = 2,") == (("cirun", 1), ("depot", 2))
    settings = Settings.from_environ({"ADMIN_REQUESTS_CI_APPS": "depot=42"})
    assert settings.ci_app_installation("depot") == 42
    assert settings.ci_app_installation("cirun") is None


@pytest.mark.parametrize("text", ["cirun", "cirun=", "=5", "cirun=x1", "cirun=-1"])
def test_a_bad_installation_says_how_to_write_it(text: str) -> None:
    with pytest.raises(
        UsageError, match=rf"has {text!r}; write each provider as 'kind=installation-id'"
    ):
        parse_installations(text)


def test_every_infrastructure_repository_is_protected_by_default() -> None:
    # Issue 16, finding 7: no request may target the organisation's machinery.
    assert Settings().protected_repositories >= {
        "admin-requests",
        "feedstock-outputs",
        "feedstock-tokens",
        "conda-forge-repodata-patches-feedstock",
        "staged-recipes",
        ".github",
        ".cirun",
    }


def test_the_run_budget_is_40_minutes_unless_set() -> None:
    # Issue 16, finding 4: a run stops on its budget; the next one goes on.
    assert Settings.from_environ({}).run_budget_seconds == 2400
    assert Settings.from_environ({"ADMIN_REQUESTS_RUN_BUDGET": "240"}).run_budget_seconds == 240
    assert Settings.from_environ({"ADMIN_REQUESTS_RUN_BUDGET": "0"}).run_budget_seconds == 0


@pytest.mark.parametrize("text", ["soon", "-5", "nan", "inf"])
def test_a_bad_run_budget_says_how_to_write_it(text: str) -> None:
    with pytest.raises(
        UsageError, match=r"ADMIN_REQUESTS_RUN_BUDGET=.* is not a number of seconds"
    ):
        Settings.from_environ({"ADMIN_REQUESTS_RUN_BUDGET": text})
