"""Output for GitHub Actions: workflow-command annotations and the job summary."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from admin_requests.validation.problems import Problem

if TYPE_CHECKING:
    from jinja2 import Environment


def running_in_actions(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get("GITHUB_ACTIONS") == "true"


def _escape_data(value: str) -> str:
    # https://github.com/actions/toolkit/blob/main/packages/core/src/command.ts
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


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
    env.filters["md_block"] = markdown_code_block
    return env


def escape_markdown(value: object) -> str:
    """Neutralise Markdown and HTML in values that come from request files."""
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for char in "\\`*_{}[]()#+!|":
        text = text.replace(char, "\\" + char)
    return text.replace("\n", " ")


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
