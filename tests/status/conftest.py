"""One scenario (a queue and history made by the real runner) for the status tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from admin_requests.queue.gitops import Git
from admin_requests.status import StatusCollector, StatusOptions, StatusReport
from tests.fakes import FakeGitHub
from tests.status.scenario import REPOSITORY, Scenario, build_scenario


@pytest.fixture(scope="session")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    with FakeGitHub(org="conda-forge") as github:
        yield build_scenario(tmp_path_factory.mktemp("status") / "repo", github)


@pytest.fixture(scope="session")
def scenario_report(scenario: Scenario) -> StatusReport:
    """The status as the status job's token (STATUS_PERMISSIONS) sees it."""
    return StatusCollector(
        scenario.root,
        git=Git(scenario.root),
        github=scenario.client(),
        clock=lambda: scenario.now,
        options=StatusOptions(repository=REPOSITORY),
    ).collect()
