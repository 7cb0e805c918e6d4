"""`admin-requests check` and `plan` as a user and as the PR workflow run them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from admin_requests.cli import main

VALID = "action: archive\nfeedstocks:\n  - numpy\n"
INVALID = "action: archive\nfeedstocks: numpy\n"


@pytest.fixture
def queue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    requests = tmp_path / "requests"
    requests.mkdir()
    (requests / "README.md").write_text("what goes here\n")
    return requests


def test_valid_queue_exits_zero(queue: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (queue / "a.yml").write_text(VALID)
    assert main(["check"]) == 0
    assert "1 file(s) checked: 1 valid, 0 with problems." in capsys.readouterr().out


def test_invalid_file_exits_one_and_names_file_line_column(
    queue: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (queue / "a.yml").write_text(INVALID)
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert "requests/a.yml:2:13: error [expected-list]: 'feedstocks' must be a list" in out


def test_one_bad_file_never_stops_the_others(
    queue: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (queue / "1-garbage.yml").write_bytes(b"\xff\xfe\x00garbage")
    (queue / "2-tabs.yaml").write_text("action: archive\nfeedstocks:\n\t- a\n")
    (queue / "3-good.yml").write_text(VALID)
    (queue / "4-notes.txt").write_text("hello")
    assert main(["check", "--format", "json"]) == 1
    problems = json.loads(capsys.readouterr().out)
    assert [(p["file"], p["code"]) for p in problems] == [
        ("requests/1-garbage.yml", "not-utf8"),
        ("requests/2-tabs.yaml", "yaml-syntax"),
        ("requests/4-notes.txt", "not-a-request-file"),
    ]
    assert set(problems[0]) == {"file", "line", "column", "code", "message", "severity"}


def test_file_over_one_mebibyte_is_refused_without_parsing(queue: Path) -> None:
    big = queue / "big.yml"
    big.write_text("action: broken\npackages:\n" + "  - x\n" * 200_000)
    assert main(["check", str(big)]) == 1


def test_folder_inside_requests_is_reported(
    queue: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (queue / "sub").mkdir()
    assert main(["check"]) == 1
    assert "not folders" in capsys.readouterr().out


def test_usage_errors_exit_two(queue: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "missing.yml"]) == 2
    assert "no such file or directory: missing.yml" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["check", "--format", "xml"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2


def test_actions_annotations_and_job_summary(
    queue: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    (queue / "bad.yml").write_text(INVALID)
    (queue / "good.yml").write_text(
        "action: broken\npackages:\n  - linux-64/numpy-2.0.0-py312h0_0.conda\n"
    )
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert (
        "::error file=requests/bad.yml,line=2,col=13,title=expected-list::'feedstocks' must be "
        "a list, even with one entry; write it as:%0Afeedstocks:%0A  - numpy"
    ) in out
    text = summary.read_text()
    assert "1 of 2 request file(s) valid." in text
    assert "| `requests/good.yml` | broken | valid, 1 item(s) |" in text
    assert "add the 'broken' label to linux-64/numpy-2.0.0-py312h0\\_0.conda" in text
    assert "error at line 2, column 13 (`expected-list`)" in text
    assert "  ~~~yaml\n  feedstocks:\n    - numpy\n  ~~~" in text


def test_summary_escapes_markdown_from_request_files(
    queue: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    (queue / "x.yml").write_text("action: archive\nfeedstocks: ['<img src=x>']\n")
    main(["check"])
    assert "<img" not in summary.read_text()


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def test_changed_since_checks_only_added_or_modified_files(
    queue: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = queue.parent
    (queue / "old-bad.yml").write_text(INVALID)
    (queue / "removed.yml").write_text(VALID)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", ".")
    _git(root, "commit", "-qm", "base")
    (queue / "new.yml").write_text(VALID)
    (queue / "removed.yml").unlink()
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "pr")
    assert main(["check", "--changed-since", "HEAD~1"]) == 0
    assert "1 file(s) checked: 1 valid" in capsys.readouterr().out
    assert main(["check", "--changed-since", "no-such-ref"]) == 2
    assert main(["check", "--changed-since", "HEAD~1", "requests"]) == 2


def test_plan_lists_items(queue: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (queue / "branches.yml").write_text(
        "action: archive_branch\nfeedstocks:\n  arrow-cpp:\n    - 1.0.x\n    - 2.0\n"
    )
    (queue / "bad.yml").write_text(INVALID)
    assert main(["plan"]) == 1
    out = capsys.readouterr().out
    assert "requests/branches.yml: archive_branch, 2 item(s)" in out
    # the branch is kept exactly as written, not read as the number 2.0 -> "2.0"
    assert (
        "[archive_branch:arrow-cpp@2.0] arrow-cpp-feedstock: branch 2.0 becomes tag 2.0_archived"
        in out
    )
    assert "requests/bad.yml: not valid, nothing will be done" in out


def test_module_entry_point_runs(queue: Path) -> None:
    (queue / "a.yml").write_text(VALID)
    result = subprocess.run(
        [sys.executable, "-m", "admin_requests", "check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
