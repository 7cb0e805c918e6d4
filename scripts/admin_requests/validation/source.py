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
from typing import Any, cast

from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, CollectionStartEvent, Event, StreamEndEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from admin_requests.validation.problems import Problem

MAX_FILE_BYTES = 1024 * 1024
# A 1 MiB file of one-character list items has ~250k nodes; a real request has < 2k.
MAX_NODES = 200_000
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


class _Refused(Exception):
    """Raised by the composer to stop at the first construct a request may not use."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


class _CheckingComposer(Composer):
    """ruamel's composer, refusing aliases, anchors, second documents and absurd sizes.

    The checks run on each event as it is composed, so the file is scanned once; an
    alias is refused before it could be expanded, and nesting is refused before the
    composer recurses into it.
    """

    display = ""
    nodes = 0

    def _refuse(self, event: Event, code: str, message: str, *, column: bool = True) -> _Refused:
        mark = event.start_mark
        return _Refused(
            Problem(self.display, mark.line + 1, mark.column + 1 if column else 1, code, message)
        )

    def get_single_node(self) -> Any:
        self.parser.get_event()  # STREAM-START
        document = None
        if not self.parser.check_event(StreamEndEvent):
            document = self.compose_document()
        if not self.parser.check_event(StreamEndEvent):
            raise self._refuse(
                self.parser.peek_event(),
                "multiple-documents",
                "the file holds more than one YAML document ('---'); put each "
                "request in its own file.",
            )
        return document

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self._refuse(
                event,
                "too-complex",
                f"the file has more than {MAX_NODES:,} YAML nodes; split the request "
                "into several files.",
                column=False,
            )
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None) is not None:
            raise self._refuse(
                event,
                "yaml-alias",
                "YAML anchors and aliases (&name, *name) are not allowed in request "
                "files; write every value out in full.",
            )
        # self.depth counts the enclosing nodes, which are all collections.
        if isinstance(event, CollectionStartEvent) and self.depth + 1 > MAX_DEPTH:
            raise self._refuse(
                event,
                "too-deep",
                f"lists and mappings are nested more than {MAX_DEPTH} levels deep; "
                "a request needs at most three. Flatten the file.",
            )
        return super().compose_node(parent, index)


def _compose(display: str, text: str) -> Node | None:
    # The safe (non round-trip) parser: requests need no comments, and skipping them
    # halves the time a file takes.
    yaml = YAML(typ="safe", pure=True)
    yaml.Composer = _CheckingComposer
    composer = yaml.composer
    assert isinstance(composer, _CheckingComposer)
    composer.display = display
    return cast("Node | None", yaml.compose(text))


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
        root = _compose(display, text)
    except _Refused as refused:
        return None, [refused.problem]
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
