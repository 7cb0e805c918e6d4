"""The dashboard's configuration: .github/status-page.yml and the conda-forge defaults."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from admin_requests.errors import StatusConfigError
from admin_requests.status.config import (
    CONFIG_PATH,
    DEFAULT_CONFIG,
    DashboardConfig,
    load_config,
    parse_cadence,
    parse_config,
)

ROOT = Path(__file__).resolve().parents[2]


# -- configuration --------------------------------------------------------------------


def test_the_repository_file_is_the_default_configuration() -> None:
    assert load_config(ROOT) == DEFAULT_CONFIG
    names = {(b.repository, b.workflow) for b in DEFAULT_CONFIG.bots}
    # The issue's list: this suite, feedstock creation, staged-recipes' linting, the
    # autotick bot, the webservices' deploy, admin-migrations.
    for wanted in (
        (".", "process.yml"),
        (".", "create-feedstocks.yml"),
        ("conda-forge/staged-recipes", "staged-recipes-linter.yml"),
        ("regro/cf-scripts", "bot-bot.yml"),
        ("conda-forge/conda-forge-webservices", "release.yml"),
        ("conda-forge/admin-migrations", "migrate.yml"),
    ):
        assert wanted in names
    assert load_config(ROOT / "nowhere") == DEFAULT_CONFIG
    resolved = DEFAULT_CONFIG.resolved("org/home")
    assert resolved.bots[0].repository == "org/home"


def test_cadences() -> None:
    assert parse_cadence("10m") == timedelta(minutes=10)
    assert parse_cadence("1h") == timedelta(hours=1)
    assert parse_cadence("7d") == timedelta(days=7)
    for bad in ("0m", "15", "1w", "1.5h", "hourly"):
        with pytest.raises(StatusConfigError, match="cadence"):
            parse_cadence(bad)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bots:\n  - name: a\n    repository: o/r\n    workflow: w.yml\n    cadence: 2w\n",
         f"{CONFIG_PATH}, line 2: cadence '2w'"),
        ("bots:\n  - name: a\n    repository: o/r\n    workflow: w.yml\n  - name: b\n"
         "    repository: o/r\n    workflow: w.yml\n    shedule: 1h\n",
         f"{CONFIG_PATH}, line 5: unknown key(s) ['shedule']"),
        ("bots:\n  - name: a\n    repository: just-a-name\n    workflow: w.yml\n",
         "line 2: 'repository' 'just-a-name' is not valid"),
        ("bots:\n  - name: a\n    repository: o/r\n    workflow: ../x.sh\n",
         "'workflow' '../x.sh' is not valid"),
        ("bot: []\n", "unknown key(s) ['bot']; use 'bots', 'migrations', 'incidents' and "
         "'oci_mirror'"),
        ("bots: [\n", f"{CONFIG_PATH}:"),
    ],
)  # fmt: skip
def test_configuration_errors_name_the_line_and_the_fix(text: str, message: str) -> None:
    with pytest.raises(StatusConfigError) as error:
        parse_config(text)
    assert message in str(error.value)


def test_sources_can_be_turned_off() -> None:
    config = parse_config("bots: []\nmigrations: null\nincidents: null\n")
    assert config == DashboardConfig((), None, None)
