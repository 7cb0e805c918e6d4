"""check.yml run for real under act on pull_request events."""

from __future__ import annotations

from pathlib import Path

import pytest

from .act import git, make_repository, run_act

pytestmark = pytest.mark.act


def _pull_request(repo: Path, files: dict[str, str]) -> dict[str, object]:
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", "pr")
    for name, text in files.items():
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "request")
    return {
        "pull_request": {
            "number": 7,
            "base": {"sha": base, "ref": "main"},
            "head": {"sha": git(repo, "rev-parse", "HEAD"), "ref": "pr"},
        },
        "repository": {"full_name": "example/admin-requests"},
    }


@pytest.fixture(scope="module")
def check_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[bool, str]]:
    """Run the workflow once for a valid and once for an invalid PR (each ~1 min)."""
    results = {}
    cases = {
        "valid": {"requests/archive-old.yml": "action: archive\nfeedstocks:\n  - old-thing\n"},
        "invalid": {"requests/bad.yml": "action: archive\nfeedstocks: numpy\n"},
    }
    for name, files in cases.items():
        repo = make_repository(tmp_path_factory.mktemp(name) / "repo")
        result = run_act(repo, "pull_request", _pull_request(repo, files), "check.yml")
        results[name] = (result.ok, result.output)
    return results


def test_valid_request_passes(check_runs: dict[str, tuple[bool, str]]) -> None:
    ok, output = check_runs["valid"]
    assert ok, output[-3000:]
    assert "1 file(s) checked: 1 valid, 0 with problems." in output
    assert "archive the repository old-thing-feedstock" in output  # the job summary


def test_invalid_request_fails_with_annotation(check_runs: dict[str, tuple[bool, str]]) -> None:
    ok, output = check_runs["invalid"]
    assert not ok
    assert "::error file=requests/bad.yml,line=2,col=13,title=expected-list::" in output


def test_pull_request_job_holds_no_credentials(check_runs: dict[str, tuple[bool, str]]) -> None:
    for _ok, output in check_runs.values():
        assert "prove this job holds no credentials" in output
        assert "OIDC token available in a PR job" not in output
        assert "credentials in a PR job" not in output
