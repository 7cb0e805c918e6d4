"""GitHub Actions output: annotations that survive any text, and Markdown that cannot run."""

from __future__ import annotations

from pathlib import Path

from admin_requests.actions_output import (
    append_step_summary,
    error_annotation,
    escape_markdown,
    markdown_code_block,
    running_in_actions,
)
from admin_requests.validation.problems import Problem


def test_an_annotation_escapes_its_properties_and_message() -> None:
    problem = Problem("requests/a,b:c.yml", 3, 7, "bad-name", "100% wrong\nfix:\r it")
    assert error_annotation(problem) == (
        "::error file=requests/a%2Cb%3Ac.yml,line=3,col=7,title=bad-name::100%25 wrong%0Afix:%0D it"
    )
    warning = Problem("r.yml", 1, 1, "duplicate", "listed twice", severity="warning")
    assert error_annotation(warning).startswith("::warning file=r.yml,")


def test_markdown_from_request_files_is_shown_not_interpreted() -> None:
    assert escape_markdown("<img src=x> *bold* [link](u)\nnext") == (
        "&lt;img src=x&gt; \\*bold\\* \\[link\\]\\(u\\) next"
    )
    assert escape_markdown("a & b | `c`") == "a &amp; b \\| \\`c\\`"


def test_a_code_block_cannot_be_closed_from_inside() -> None:
    assert markdown_code_block("a: 1\n~~~\nb") == "~~~yaml\na: 1\n~ ~ ~\nb\n~~~"


def test_the_step_summary_is_appended_only_when_actions_gives_a_file(tmp_path: Path) -> None:
    target = tmp_path / "summary.md"
    assert not append_step_summary("# lost\n", {})
    assert append_step_summary("# one\n", {"GITHUB_STEP_SUMMARY": str(target)})
    assert append_step_summary("two\n", {"GITHUB_STEP_SUMMARY": str(target)})
    assert target.read_text() == "# one\ntwo\n"


def test_only_actions_itself_counts_as_actions() -> None:
    assert running_in_actions({"GITHUB_ACTIONS": "true"})
    assert not running_in_actions({"GITHUB_ACTIONS": "1"})
    assert not running_in_actions({})
