"""Output for GitHub Actions: workflow-command annotations and the job summary."""

from __future__ import annotations

import logging
import os
import re
import secrets
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from admin_requests.validation.problems import Problem

if TYPE_CHECKING:
    from jinja2 import Environment


def running_in_actions(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get("GITHUB_ACTIONS") == "true"


def escape_command_data(value: str) -> str:
    """The data of a workflow command we emit (annotations, ``::add-mask::``): one line."""
    # https://github.com/actions/toolkit/blob/main/packages/core/src/command.ts
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return escape_command_data(value).replace(":", "%3A").replace(",", "%2C")


_escape_data = escape_command_data
ZERO_WIDTH_SPACE = "\u200b"
# Printable ASCII: nearly every name, and it needs no per-character look.
_PLAIN = re.compile(r"[ -~]*")


def neutralise_commands(text: object) -> str:
    """Text for the Actions log in which the runner finds no workflow command.

    The one escaping function for every line we write to stdout or stderr that may
    carry text from a request (file names, values, messages quoting them, a lease's
    holder). The runner reads a command on any line that starts, after blanks, with
    ``::`` (``::stop-commands::``, ``::add-mask::``...), and the older ``##[command]``
    anywhere in a line (actions/runner ActionCommand.TryParseV2 and TryParse). A zero-width
    space inside each ``::`` and ``##[`` leaves the text readable and inert, whatever
    line breaks it holds. Our own commands (annotations, masks) are written apart.
    """
    return (
        str(text)
        .replace("::", ":" + ZERO_WIDTH_SPACE + ":")
        .replace("##[", "#" + ZERO_WIDTH_SPACE + "#[")
    )


def printable(value: object) -> str:
    """``value`` on one visible line: control, format and line-separator characters
    (a newline, an escape, a right-to-left override, an invisible mark) shown as
    Python escapes (``\\n``, ``\\x1b``, ``\\u202e``). For names from requests in issue
    titles, bodies and the log."""
    text = str(value)
    if _PLAIN.fullmatch(text):
        return text
    return "".join(
        repr(char)[1:-1] if unicodedata.category(char)[0] in "CZ" and char != " " else char
        for char in text
    )


class CommandSafeFormatter(logging.Formatter):
    """A log formatter whose records (tracebacks included) carry no workflow command."""

    def format(self, record: logging.LogRecord) -> str:
        return neutralise_commands(super().format(record))


def error_annotation(problem: Problem) -> str:
    return (
        f"::{problem.severity} file={_escape_property(problem.file)},line={problem.line},"
        f"col={problem.column},title={_escape_property(problem.code)}::"
        f"{_escape_data(problem.message)}"
    )


def template_environment() -> Environment:
    # Imported here: `check`, which renders nothing, starts a tenth of a second sooner.
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    # Markdown output: autoescaping HTML would mangle it; values are escaped by the
    # 'md' filter where they come from request files.
    env = Environment(
        loader=PackageLoader("admin_requests", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = escape_markdown
    env.filters["name"] = escape_name
    env.filters["code"] = markdown_code
    env.filters["md_block"] = markdown_code_block
    return env


def escape_markdown(value: object) -> str:
    """Neutralise Markdown and HTML in values that come from request files."""
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for char in "\\`*_{}[]()#+!|":
        text = text.replace(char, "\\" + char)
    # '@name' in a request's text would notify a stranger (or a whole team) by issue; the
    # requester, whom an issue addresses, is mentioned by the template itself.
    text = text.replace("@", "@" + ZERO_WIDTH_SPACE)
    return text.replace("\n", " ")


def markdown_code(value: object) -> str:
    """A name as inline code (shown as typed), or escaped text if it could end the span."""
    text = printable(value)
    return f"`{text}`" if "`" not in text else escape_markdown(text)


def escape_name(value: object) -> str:
    """A request file's name (or another name from a request) in markdown: escaped, visible."""
    return escape_markdown(printable(value))


def markdown_code_block(value: object) -> str:
    """Show text (e.g. the corrected YAML in a problem message) verbatim in a fence."""
    text = str(value).replace("~~~", "~ ~ ~")
    return f"~~~yaml\n{text}\n~~~"


def render(template: str, **context: Any) -> str:
    return template_environment().get_template(template).render(**context)


def append_step_summary(markdown: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Append to $GITHUB_STEP_SUMMARY when it is set; return whether it was written."""
    target = environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    with Path(target).open("a", encoding="utf-8") as handle:
        handle.write(markdown)
    return True


def set_outputs(values: Mapping[str, str], environ: Mapping[str, str] = os.environ) -> bool:
    """Write step outputs to $GITHUB_OUTPUT when it is set; return whether it was written.

    Each value goes in GitHub's multi-line form (``name<<DELIMITER``) with a random
    delimiter, so nothing in a value can end it early and set another output.
    """
    target = environ.get("GITHUB_OUTPUT")
    if not target:
        return False
    with Path(target).open("a", encoding="utf-8") as handle:
        for name, value in values.items():
            delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
            handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    return True
