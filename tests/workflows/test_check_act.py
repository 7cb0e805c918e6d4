"""check.yml run for real under act on pull_request events.

Its online job reads a fake GitHub (public reads, as github.com) holding the requests'
feedstocks and real feedstock-outputs shards, with a job token scoped like GitHub's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox.workflow import Workspace, repository_payload

from tests.fakes import FakeGitHub

from .act import require_act

DATA = Path(__file__).resolve().parents[1] / "data" / "feedstock-outputs"
JOB_TOKEN = "ghs_check_job_token"

# One worker runs the whole module under pytest-xdist: its tests share the module's act runs.
pytestmark = [pytest.mark.act, pytest.mark.xdist_group("check_act")]


def _pull_request(workspace: Workspace, files: dict[str, str]) -> dict[str, object]:
    base = workspace.git("rev-parse", "HEAD")
    workspace.git("checkout", "-q", "-b", "pr")
    for name, text in files.items():
        (workspace.repo / name).write_text(text)
    workspace.git("add", "-A")
    workspace.git("commit", "-qm", "request")
    return {
        "pull_request": {
            "number": 7,
            "base": {"sha": base, "ref": "main"},
            "head": {"sha": workspace.git("rev-parse", "HEAD"), "ref": "pr"},
        },
        "repository": repository_payload(),
    }


@pytest.fixture(scope="module")
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(public_reads=True) as gh:
        gh.add_repo("admin-requests")
        gh.add_repo("old-thing-feedstock")
        gh.add_repo("foo-feedstock")
        files = json.loads((DATA / "outputs-sample.json").read_text())["files"]
        allowlist = (DATA / "feedstock_outputs_autoreg_allowlist.yml").read_text()
        gh.add_repo(
            "feedstock-outputs",
            files={**files, "feedstock_outputs_autoreg_allowlist.yml": allowlist},
        )
        gh.add_token(JOB_TOKEN, repositories=["admin-requests"], permissions={"contents": "read"})
        yield gh


@pytest.fixture(scope="module")
def check_runs(
    tmp_path_factory: pytest.TempPathFactory, github: FakeGitHub
) -> dict[str, tuple[bool, str]]:
    """A valid PR, an invalid one, and one valid offline that names an output of
    another feedstock. The valid one's job installs its own environment from scratch
    (pip, about a minute), so actions/setup stays covered end to end; the others share
    this checkout's .venv (see sandbox/workflow.py)."""
    require_act()
    results = {}
    cases = {
        "valid": (
            {"requests/archive-old.yml": "action: archive\nfeedstocks:\n  - old-thing\n"},
            False,
        ),
        "invalid": ({"requests/bad.yml": "action: archive\nfeedstocks: numpy\n"}, True),
        "owned": (
            {
                "requests/outputs.yml": "action: add_feedstock_output\n"
                "feedstock_to_output_mapping:\n  foo:\n    - foo-core\n    - pyarrow\n"
            },
            True,
        ),
    }
    for name, (files, share_venv) in cases.items():
        workspace = Workspace.create(Path(tmp_path_factory.mktemp(name)), share_venv=share_venv)
        event = _pull_request(workspace, files)
        result = workspace.run_act(
            "pull_request",
            event,
            "check.yml",
            sync=False,
            env={"GITHUB_API_URL": github.url},
            github_token=JOB_TOKEN,
        )
        results[name] = (result.ok, result.output)
    return results


def test_valid_request_passes(check_runs: dict[str, tuple[bool, str]]) -> None:
    ok, output = check_runs["valid"]
    assert ok, output[-3000:]
    # A real install, not the shared one, and of the runtime lock only (actions/setup's
    # 'lock: runtime'): the check needs nothing of the development lock.
    assert "[dev] creating .venv with the runtime lock only" in output
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


def test_the_online_job_runs_after_the_offline_one_and_passes_a_clean_request(
    check_runs: dict[str, tuple[bool, str]],
) -> None:
    ok, output = check_runs["valid"]
    assert ok, output[-3000:]
    assert "online read-only checks" in output
    assert output.count("1 file(s) checked: 1 valid, 0 with problems.") == 2  # both jobs
    _, invalid = check_runs["invalid"]
    assert 'admin-requests check --changed-since "$BASE_SHA" --online' not in invalid


def test_the_online_job_fails_on_the_line_naming_another_feedstocks_output(
    check_runs: dict[str, tuple[bool, str]],
) -> None:
    ok, output = check_runs["owned"]
    assert not ok
    assert "1 file(s) checked: 1 valid, 0 with problems." in output  # offline: valid
    assert (
        "::error file=requests/outputs.yml,line=5,col=7,title=owned-elsewhere::the output "
        "'pyarrow' is already registered to arrow-cpp-feedstock, pyarrow-feedstock"
    ) in output
    assert "credentials in a PR job" not in output  # the token reached only that step
