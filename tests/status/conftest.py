"""One scenario (a queue and history made by the real runner) for the status tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from admin_requests.queue.gitops import Git
from admin_requests.status import StatusCollector, StatusOptions, StatusReport
from tests.fakes import FakeGitHub
from tests.status.creation_data import seed_creation
from tests.status.organisation_data import CONFIG, seed_organisation
from tests.status.scenario import REPOSITORY, Scenario, build_scenario


@pytest.fixture(scope="session")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    with FakeGitHub(org="conda-forge") as github:
        scenario = build_scenario(tmp_path_factory.mktemp("status") / "repo", github)
        seed_organisation(github, scenario.now)  # bots, migrations, incidents around it
        seed_creation(scenario.root, scenario.now)  # feedstock creation's left-overs
        yield scenario


@pytest.fixture(scope="session")
def scenario_report(scenario: Scenario) -> StatusReport:
    """The status as the status job's token (STATUS_PERMISSIONS) sees it, with the
    organisation's bots, migrations and incidents (organisation_data.CONFIG)."""
    return StatusCollector(
        scenario.root,
        git=Git(scenario.root),
        github=scenario.client(),
        clock=lambda: scenario.now,
        options=StatusOptions(repository=REPOSITORY, dashboard=CONFIG),
    ).collect()
