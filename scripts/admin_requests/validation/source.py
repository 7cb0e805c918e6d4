"""Read a request file into a YAML node tree, safely.

We compose (parse into nodes) instead of constructing Python objects so that every
value keeps its line and column, duplicate keys can be reported instead of silently
overwritten, and scalars keep the exact text the requester typed (branch ``2.10`` stays
``2.10``, not the float ``2.1``). Aliases are refused outright: request files never need
them, and refusing them makes "billion laughs" expansion impossible by construction.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    NodeEvent,
)
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from admin_requests.validation.problems import Problem

MAX_FILE_BYTES = 1024 * 1024
# A 1 MiB file of one-character list items has ~500k events; a real request has < 5k.
MAX_EVENTS = 200_000
# Real requests nest three levels deep; a limit keeps the recursive composer safe.
MAX_DEPTH = 20

EXAMPLE_SHAPE = "action: archive\nfeedstocks:\n  - some-package"


@dataclass(frozen=True)
class LoadedDocument:
    path: str
    text: str
    root: MappingNode


def problem_at(path: str, node: Node | None, code: str, message: str) -> Problem:
    if node is None or node.start_mark is None:
        return Problem(path, 1, 1, code, message)
    return Problem(path, node.start_mark.line + 1, node.start_mark.column + 1, code, message)


def read_text(path: Path, display: str) -> tuple[str | None, list[Problem]]:
    """Return the file's text, or problems if it is a symlink, too large or not UTF-8."""
    if path.is_symlink():
        # Never followed: a link would make the run read (and write back) whatever it
        # points at, anywhere on the runner.
        return None, [
            Problem(
                display,
                1,
                1,
                "symlink",
                "the file is a symbolic link; a request must be a regular file in requests/. "
                "Replace the link with the request's own text.",
            )
        ]
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        return None, [
            Problem(
                display,
                1,
                1,
                "file-too-large",
                f"the file is {size:,} bytes; request files are limited to "
                f"{MAX_FILE_BYTES:,} bytes (1 MiB). Split the request into several files.",
            )
        ]
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [
            Problem(
                display,
                line,
                1,
                "not-utf8",
                f"the file is not valid UTF-8 (byte {raw[exc.start]:#04x} at offset "
                f"{exc.start}); save it as UTF-8 text.",
            )
        ]


def _position(text: str, index: int) -> tuple[int, int]:
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def _yaml_error_problem(display: str, exc: YAMLError, text: str) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        line, column = mark.line + 1, mark.column + 1
    elif isinstance(getattr(exc, "position", None), int):  # reader errors: bad characters
        line, column = _position(text, exc.position)  # type: ignore[attr-defined]
    else:
        line, column = 1, 1
    detail = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    hint = "check the indentation and quoting around this position"
    lines = text.splitlines()
    if "\t" in (lines[line - 1] if 0 < line <= len(lines) else "") or "'\\t'" in str(detail):
        hint = "YAML does not allow tab characters for indentation; indent with spaces"
    elif "found character '@'" in str(detail) or "found character '`'" in str(detail):
        hint = "quote the value, e.g. '\"@value\"'"
    return Problem(
        display, line, column, "yaml-syntax", f"this is not valid YAML: {detail}; {hint}."
    )


def _check_events(display: str, text: str) -> list[Problem]:
    """Refuse aliases, anchors, multiple documents and absurd event counts before composing."""
    documents = depth = 0
    for count, event in enumerate(YAML(typ="rt").parse(text)):
        if isinstance(event, CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                return [
                    Problem(
                        display,
                        event.start_mark.line + 1,
                        event.start_mark.column + 1,
                        "too-deep",
                        f"lists and mappings are nested more than {MAX_DEPTH} levels deep; "
                        "a request needs at most three. Flatten the file.",
                    )
                ]
        elif isinstance(event, CollectionEndEvent):
            depth -= 1
        if count > MAX_EVENTS:
            return [
                Problem(
                    display,
                    event.start_mark.line + 1,
                    1,
                    "too-complex",
                    f"the file has more than {MAX_EVENTS:,} YAML nodes; split the request "
                    "into several files.",
                )
            ]
        if isinstance(event, DocumentStartEvent):
            documents += 1
            if documents > 1:
                return [
                    Problem(
                        display,
                        event.start_mark.line + 1,
                        event.start_mark.column + 1,
                        "multiple-documents",
                        "the file holds more than one YAML document ('---'); put each "
                        "request in its own file.",
                    )
                ]
        if isinstance(event, AliasEvent) or (
            isinstance(event, NodeEvent) and event.anchor is not None
        ):
            return [
                Problem(
                    display,
                    event.start_mark.line + 1,
                    event.start_mark.column + 1,
                    "yaml-alias",
                    "YAML anchors and aliases (&name, *name) are not allowed in request "
                    "files; write every value out in full.",
                )
            ]
    return []


def _place_empty_values_after_their_keys(node: Node) -> None:
    """Point empty values (``key:`` with nothing after it) at their key's line.

    The composer places an empty scalar at the next token, often the following line,
    which would send the requester to the wrong place.
    """
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(value, ScalarNode) and value.value == "" and key.end_mark is not None:
                mark = copy.copy(key.end_mark)
                mark.column += 1  # just after the ':'
                value.start_mark = mark
            _place_empty_values_after_their_keys(value)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            _place_empty_values_after_their_keys(item)


def load_document(path: Path, display: str) -> tuple[LoadedDocument | None, list[Problem]]:
    """Load one request file. Never raises for bad content: problems are returned."""
    text, problems = read_text(path, display)
    if text is None:
        return None, problems
    return parse_document(text, display)


def parse_document(text: str, display: str) -> tuple[LoadedDocument | None, list[Problem]]:
    try:
        problems = _check_events(display, text)
        if problems:
            return None, problems
        root = YAML(typ="rt").compose(text)
    except MarkedYAMLError as exc:
        return None, [_yaml_error_problem(display, exc, text)]
    except YAMLError as exc:  # unmarked ruamel errors (e.g. reader errors)
        return None, [_yaml_error_problem(display, exc, text)]
    if root is not None:
        _place_empty_values_after_their_keys(root)
    if root is None:
        return None, [
            Problem(
                display,
                1,
                1,
                "empty-file",
                f"the file is empty; a request is a YAML mapping such as:\n{EXAMPLE_SHAPE}",
            )
        ]
    if not isinstance(root, MappingNode):
        return None, [
            problem_at(
                display,
                root,
                "not-a-mapping",
                f"the file must be a YAML mapping with an 'action' key, such as:\n{EXAMPLE_SHAPE}",
            )
        ]
    return LoadedDocument(display, text, root), []
