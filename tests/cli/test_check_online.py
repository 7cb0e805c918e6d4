"""`admin-requests check --online`: the pull request's read-only online step.

Against the fake GitHub, seeded with real feedstock-outputs shards, and reached with a
token like the pull-request job's: scoped to this repository, ``contents: read``, able
to read public repositories and nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from admin_requests.cli import main
from tests.fakes import FakeGitHub

DATA = Path(__file__).resolve().parents[1] / "data" / "feedstock-outputs"
OUTPUTS_FILES = {
    **json.loads((DATA / "outputs-sample.json").read_text())["files"],
    "feedstock_outputs_autoreg_allowlist.yml": (
        DATA / "feedstock_outputs_autoreg_allowlist.yml"
    ).read_text(),
}
JOB_TOKEN = "pr-job-token"
CONFLICT = "action: add_feedstock_output\nfeedstock_to_output_mapping:\n  foo:\n    - pyarrow\n"
FINE = "action: add_feedstock_output\nfeedstock_to_output_mapping:\n  foo: [foo-core]\n"


@pytest.fixture
def queue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_github: FakeGitHub) -> Path:
    fake_github.public_reads = True  # as github.com: the job token reads public repositories
    fake_github.add_repo("admin-requests")
    fake_github.add_repo("foo-feedstock")
    fake_github.add_repo("feedstock-outputs", files=OUTPUTS_FILES)
    fake_github.add_token(
        JOB_TOKEN, repositories=["admin-requests"], permissions={"contents": "read"}
    )
    monkeypatch.chdir(tmp_path)
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_API_URL", fake_github.url)
    monkeypatch.setenv("ANACONDA_API_URL", "http://127.0.0.1:9")  # never called here
    requests = tmp_path / "requests"
    requests.mkdir()
    return requests


def test_online_says_which_line_names_an_output_of_another_feedstock(
    queue: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fake_github: FakeGitHub,
) -> None:
    (queue / "move.yml").write_text(CONFLICT)
    (queue / "fine.yml").write_text(FINE)
    assert main(["check"]) == 0  # offline, both are well-formed
    assert fake_github.count() == 0
    monkeypatch.setenv("GITHUB_TOKEN", JOB_TOKEN)
    assert main(["check", "--online"]) == 1
    out = capsys.readouterr().out
    assert (
        "requests/move.yml:4:7: error [owned-elsewhere]: the output 'pyarrow' is already "
        "registered to arrow-cpp-feedstock, pyarrow-feedstock (in feedstock-outputs: "
        "outputs/p/y/a/pyarrow.json); adding it lets foo-feedstock upload it too."
    ) in out
    assert "requests/fine.yml:" not in out
    assert "2 file(s) checked: 1 valid, 1 with problems." in out
    assert fake_github.count("PUT") == 0  # read-only


def test_online_needs_a_token_and_says_how_to_give_it(
    queue: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (queue / "move.yml").write_text(CONFLICT)
    assert main(["check", "--online"]) == 2
    assert "--online reads GitHub and needs a token: set GITHUB_TOKEN" in capsys.readouterr().err


def test_files_invalid_offline_are_not_looked_up(
    queue: Path, monkeypatch: pytest.MonkeyPatch, fake_github: FakeGitHub
) -> None:
    (queue / "bad.yml").write_text("action: add_feedstock_output\nfeedstock_to_output_mapping: x\n")
    monkeypatch.setenv("GITHUB_TOKEN", JOB_TOKEN)
    assert main(["check", "--online"]) == 1
    assert fake_github.count() == 0


def test_in_actions_only_the_online_findings_are_annotated_and_summarised(
    queue: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_TOKEN", JOB_TOKEN)
    # A '-feedstock' suffix is an offline warning: the offline step annotated it already.
    (queue / "move.yml").write_text(CONFLICT.replace("  foo:", "  foo-feedstock:"))
    assert main(["check", "--online"]) == 1
    annotations = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::")]
    assert [line.split("::")[1] for line in annotations] == [
        "error file=requests/move.yml,line=4,col=7,title=owned-elsewhere"
    ]
    text = summary.read_text()
    assert text.startswith("## admin-requests check --online\n")
    assert "1 finding(s) in 1 file(s) checked against GitHub and feedstock-outputs." in text
    assert "error at line 4, column 7 (`owned-elsewhere`): the output 'pyarrow'" in text
