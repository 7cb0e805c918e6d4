"""``admin-requests status`` as the workflow runs it: environment in, a site out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from admin_requests.cli import main
from tests.status.scenario import REPOSITORY, Scenario


@pytest.fixture
def actions_env(monkeypatch: pytest.MonkeyPatch, scenario: Scenario) -> None:
    """What Actions sets for the status job (status.yml passes GITHUB_TOKEN)."""
    monkeypatch.setenv("GITHUB_TOKEN", scenario.status_token)
    monkeypatch.setenv("GITHUB_API_URL", scenario.github.url)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPOSITORY)
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.example")
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


@pytest.mark.usefixtures("actions_env")
def test_status_writes_the_site(
    scenario: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    config = tmp_path / "status-page.yml"
    config.write_text("bots: []\nmigrations: null\nincidents: null\noci_mirror: null\n")
    argv = ["status", "--root", str(scenario.root), "--output", str(site), "--recent", "3"]
    assert main([*argv, "--config", str(config)]) == 0
    out = capsys.readouterr()
    assert out.err == ""
    assert f"to {site}: 4 queued, 9 completed, 3 workflow(s)" in out.out
    data = json.loads((site / "status.json").read_text())
    assert data["repository_url"] == f"https://github.example/{REPOSITORY}"
    assert len(data["completed"]) == 3
    assert data["summary"]["completed_total"] == 9
    assert data["problems"] == []
    assert (site / "style.css").is_file()
    assert "https://github.example/typist" in (site / "index.html").read_text()


def test_status_offline_still_renders_and_warns(
    scenario: Scenario,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    # Offline: anaconda.org (the OCI mirror's first read) is a closed local port.
    monkeypatch.setenv("ANACONDA_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    site = tmp_path / "site"
    assert main(["status", "--root", str(scenario.root), "--output", str(site)]) == 0
    out = capsys.readouterr().out
    assert "::warning title=status page::no GitHub token" in out
    data = json.loads((site / "status.json").read_text())
    assert data["workflows"] == []
    assert data["summary"]["queued"] == 4
    # The OCI mirror needs no token: it is tried, and says what failed.
    assert "anaconda.org (conda-forge) cannot be read" in out
    assert data["oci_mirror"]["counts"]["unknown"] == len(data["oci_mirror"]["packages"]) == 6


def test_status_needs_an_output_folder(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["status"])
    assert exit_info.value.code == 2
    assert "--output" in capsys.readouterr().err


@pytest.mark.usefixtures("actions_env")
def test_status_with_the_organisation_and_the_previous_page(
    scenario: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "status-page.yml"
    config.write_text(
        "bots:\n"
        "  - {name: autotick bot, repository: regro/cf-scripts, workflow: bot-bot.yml,"
        " cadence: 1d, team: regro/auto-tick-triage}\n"
        "  - {name: gone, repository: regro/cf-scripts, workflow: gone.yml, cadence: 1h}\n"
        "migrations: {repository: regro/cf-graph-countyfair, branch: master}\n"
        "incidents: {repository: conda-forge/status}\n"
        "oci_mirror: null\n"
    )
    first = tmp_path / "first"
    argv = ["status", "--root", str(scenario.root), "--config", str(config)]
    assert main([*argv, "--output", str(first)]) == 0
    err = capsys.readouterr().err
    assert "workflow runs of regro/cf-scripts cannot be read: gone.yml:" in err
    data = json.loads((first / "status.json").read_text())
    assert [b["name"] for b in data["bots"]] == ["autotick bot", "gone"]
    assert data["summary"]["open_incidents"] == 2
    badge = json.loads((first / "badges" / "regro-cf-scripts-bot-bot-yml.json").read_text())
    # The CLI's clock is the real one (the scenario is in March 2026): the bot is stale.
    assert (badge["schemaVersion"], badge["label"], badge["message"]) == (
        1,
        "autotick bot",
        "stale",
    )
    assert json.loads((first / "badges" / "queue.json").read_text())["message"] == (
        "4 queued, 2 parked"
    )

    second = tmp_path / "second"
    previous = ["--previous", str(first / "status.json")]
    assert main([*argv, "--output", str(second), *previous]) == 0
    again = json.loads((second / "status.json").read_text())
    [source] = [s for s in again["sources"] if not s["ok"]]
    assert source["failing_since"] == data["generated_at"]  # carried from the first page
    assert again["bots"][0]["days"] == data["bots"][0]["days"]

    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert main([*argv, "--output", str(tmp_path / "third"), "--previous", str(broken)]) == 0
    assert "the previous status" in capsys.readouterr().err


@pytest.mark.usefixtures("actions_env")
def test_a_broken_configuration_is_said_on_the_page_which_is_still_written(
    scenario: Scenario, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "status-page.yml"
    config.write_text(
        "bots:\n  - name: a\n    repository: o/r\n    workflow: w.yml\n    cadence: weekly\n"
    )
    site = tmp_path / "site"
    argv = ["status", "--root", str(scenario.root), "--output", str(site), "--config", str(config)]
    assert main(argv) == 0
    data = json.loads((site / "status.json").read_text())
    [problem] = data["problems"]
    assert f"{config}, line 2: cadence 'weekly'" in problem
    assert data["bots"] == []
    assert data["summary"]["queued"] == 4
    assert "cadence 'weekly'" in capsys.readouterr().err
