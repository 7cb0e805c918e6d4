"""``admin-requests run`` from the command line."""

from __future__ import annotations

import pytest

from admin_requests.cli import main
from tests.queue.support import Repo


def test_run_dry_run_prints_the_plan_and_changes_nothing(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.add_request("a.yml", "action: archive\nfeedstocks:\n  - foo\n")
    head = repo.head()
    code = main(["run", "--root", str(repo.root), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert "[dry run] requests/a.yml: would run" in out
    assert "archive the repository foo-feedstock" in out
    assert repo.head() == head
    assert repo.status() == ""


def test_retry_of_a_missing_file_is_a_usage_error(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", "--root", str(repo.root), "--dry-run", "--retry", "nope.yml"])
    assert code == 2
    assert "no 'requests/nope.yml'" in capsys.readouterr().err


def test_an_empty_retry_input_means_no_retry(repo: Repo) -> None:
    assert main(["run", "--root", str(repo.root), "--dry-run", "--retry", ""]) == 0


def test_plan_shows_what_the_queue_will_do(
    repo: Repo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.add_request("a.yml", "action: archive\nfeedstocks:\n  - foo\n")
    monkeypatch.chdir(repo.root)
    assert main(["plan", "requests/a.yml"]) == 0
    assert "next run: carried out" in capsys.readouterr().out
