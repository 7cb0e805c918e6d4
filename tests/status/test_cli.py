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
    assert (
        main(["status", "--root", str(scenario.root), "--output", str(site), "--recent", "3"]) == 0
    )
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
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    site = tmp_path / "site"
    assert main(["status", "--root", str(scenario.root), "--output", str(site)]) == 0
    out = capsys.readouterr().out
    assert "::warning title=status page::no GitHub token" in out
    data = json.loads((site / "status.json").read_text())
    assert data["workflows"] == []
    assert data["summary"]["queued"] == 4


def test_status_needs_an_output_folder(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["status"])
    assert exit_info.value.code == 2
    assert "--output" in capsys.readouterr().err
