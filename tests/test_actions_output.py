"""GitHub Actions output: annotations that survive any text, and Markdown that cannot run."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from admin_requests.actions_output import (
    CommandSafeFormatter,
    append_step_summary,
    error_annotation,
    escape_markdown,
    markdown_code_block,
    neutralise_commands,
    printable,
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


# Issue 16 finding 9: one escaping function for every line of the log that may carry
# request data, and no @-mention from a request's text in an issue.


def runner_commands(text: str) -> list[str]:
    """Lines the Actions runner reads as commands: '::' after blanks, or '##[' anywhere."""
    return [line for line in text.splitlines() if line.lstrip().startswith("::") or "##[" in line]


@pytest.mark.parametrize(
    "value",
    [
        "evil\n::stop-commands::pwned",
        "  ::add-mask::x",
        "a\r\n\t::error::b",
        "x ##[set-env name=A;]b",
        ":::::: ####[[",
    ],
)
def test_neutralised_text_holds_no_workflow_command(value: str) -> None:
    assert runner_commands(value)
    assert runner_commands(neutralise_commands(value)) == []
    assert neutralise_commands(value).replace("\u200b", "") == value


def test_the_log_formatter_neutralises_messages_and_tracebacks() -> None:
    formatter = CommandSafeFormatter("%(levelname)s %(message)s")
    try:
        raise ValueError("\n::stop-commands::in-a-traceback")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "processing %s", ("a\n::warning::b",), sys.exc_info()
        )
    text = formatter.format(record)
    assert "in-a-traceback" in text
    assert runner_commands(text) == []


def test_printable_shows_control_and_invisible_characters_as_escapes() -> None:
    assert printable("requests/a-b.yml") == "requests/a-b.yml"
    assert printable("a\nb\x1b\u202e\u200e\u00a0c") == "a\\nb\\x1b\\u202e\\u200e\\xa0c"


def test_markdown_neutralises_mentions() -> None:
    assert escape_markdown("ask @core or @conda-forge/core") == (
        "ask @\u200bcore or @\u200bconda-forge/core"
    )
