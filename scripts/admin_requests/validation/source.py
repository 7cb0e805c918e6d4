"""Read a request file into a YAML node tree, safely.

We compose (parse into nodes) instead of constructing Python objects so that every
value keeps its line and column, duplicate keys can be reported instead of silently
overwritten, and scalars keep the exact text the requester typed (branch ``2.10`` stays
``2.10``, not the float ``2.1``). Aliases are refused outright: request files never need
them, and refusing them makes "billion laughs" expansion impossible by construction.

Two parsers compose the same tree. libyaml's (ruamel.yaml.clib's CParser) composes the
real requests 18 times faster and reads all but one of them; ruamel.yaml's pure one reads
everything else and writes every problem's message. A file goes to the pure parser whenever the
two could differ: text the C parser is not given (``_for_the_c_parser``), a tree it
gives that the pure one would not (``_as_the_pure_parser_gives_it``), and any file it
refuses, so what a requester is told is always what the pure parser says.
tests/validation/test_c_parser.py holds the two to identical trees.
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
from ruamel.yaml.resolver import Resolver

try:  # libyaml's parser (ruamel.yaml.clib); the pure one does everything without it
    from _ruamel_yaml import CParser
    from _ruamel_yaml import Mark as CMark
except ImportError:  # pragma: no cover (the lock installs it)
    CParser = CMark = None

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


def _compose_pure(display: str, text: str) -> Node | None:
    # The safe (non round-trip) parser: requests need no comments, and skipping them
    # halves the time a file takes.
    yaml = YAML(typ="safe", pure=True)
    yaml.Composer = _CheckingComposer
    composer = yaml.composer
    assert isinstance(composer, _CheckingComposer)
    composer.display = display
    return cast("Node | None", yaml.compose(text))


# What the C parser is not given, because it reads them otherwise than the pure one:
# tabs (libyaml accepts a tab after a value, which the pure scanner refuses), anchors
# and aliases ('&': the C composer cannot say where one is), tags ('!') and directives
# ('%'), which the pure parser keeps differently. Real requests have none of these.
_NOT_FOR_THE_C_PARSER = ("\t", "&", "!", "%")


def _for_the_c_parser(text: str) -> bool:
    """Whether the C parser reads this text exactly as the pure one does.

    Also left to the pure parser: anything not ASCII (a byte order mark, the Unicode
    line breaks, columns of wide characters), a line break that is a lone carriage
    return, and a line starting with '...' (libyaml skips a second document end, which
    the pure parser takes for a second document).
    """
    if CParser is None or not text.isascii():
        return False
    if any(c in text for c in _NOT_FOR_THE_C_PARSER):
        return False
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        return False
    return not (text.startswith("...") or "\n..." in text)


_BLOCK_STYLES = ("|", ">")


class _NeedsPure(Exception):
    """Raised inside the C composer to hand the file to the pure one."""


if CParser is not None:

    class _CComposer(CParser, Resolver):  # type: ignore[misc]
        """libyaml's parser and composer (ruamel.yaml.clib), with the limits of
        _CheckingComposer: the C composer calls descend_resolver before each node
        and ascend_resolver after it, so the node count and the depth are checked
        before it recurses. Past a limit the file goes to the pure composer, which
        says where.
        """

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            Resolver.__init__(self, loadumper=self)
            self.nodes = 0
            self.depth = 0

        def descend_resolver(self, current_node: Any, current_index: Any) -> None:
            self.nodes += 1
            self.depth += 1
            # A scalar one level too deep goes to the pure parser too, which accepts it.
            if self.nodes > MAX_NODES or self.depth > MAX_DEPTH:
                raise _NeedsPure

        def ascend_resolver(self) -> None:
            self.depth -= 1


def _compose_c(text: str) -> Node | None:
    """The node tree from the C parser, exactly as _compose_pure gives it, or one of
    _TO_THE_PURE_PARSER: _NeedsPure where the two would differ (or where a limit is
    passed), a YAMLError where libyaml refuses the file."""
    if not _for_the_c_parser(text):
        raise _NeedsPure
    root = cast("Node | None", _CComposer(text).get_single_node())
    if root is not None:
        _as_the_pure_parser_gives_it(root, text)
    return root


def _as_the_pure_parser_gives_it(root: Node, text: str) -> None:
    """Make libyaml's node tree the pure parser's, or hand the file over to it.

    libyaml marks a plain scalar's style '' (the pure parser None). When the last line
    has no line break, libyaml moves the end of the stream to the start of a line of its
    own, so the collections that end there end a line further down than the pure parser
    says: at the end of the last line. Empty values and block scalars go to the pure
    parser (see below).
    """
    end = len(text)
    unended = end > 0 and text[-1] not in "\r\n"
    last_line_start = max(text.rfind("\n"), text.rfind("\r")) + 1
    stack = [root]
    while stack:
        node = stack.pop()
        if unended and node.end_mark.index == end and node.end_mark.column == 0:
            mark = node.end_mark  # column 0 at the end of an unended line: moved
            node.end_mark = CMark(mark.name, end, mark.line - 1, end - last_line_start, None, None)
        if isinstance(node, ScalarNode):
            if node.style == "":
                if node.value == "":
                    # An empty value: libyaml marks it just after its ':' or '-', the
                    # pure parser at the next token, and the messages say where.
                    raise _NeedsPure
                node.style = None
            elif node.style in _BLOCK_STYLES:
                raise _NeedsPure  # the two read a block scalar's header differently
        elif isinstance(node, MappingNode):
            for key, value in node.value:
                stack.append(key)
                stack.append(value)
        else:
            stack.extend(node.value)


# What makes _compose take the pure parser after the C one.
_TO_THE_PURE_PARSER = (_NeedsPure, YAMLError, UnicodeError)


def _compose(display: str, text: str) -> Node | None:
    """The file's node tree: from the C parser where it reads the file as the pure one
    does (real requests: all but one), else from the pure one, which alone gives the
    problems their messages and positions."""
    try:
        return _compose_c(text)
    except _TO_THE_PURE_PARSER:
        return _compose_pure(display, text)


def _after(mark: Any) -> Any:
    """The mark one column to the right (the index stays, as it always has)."""
    if CMark is not None and isinstance(mark, CMark):  # read-only attributes
        return CMark(mark.name, mark.index, mark.line, mark.column + 1, None, None)
    moved = copy.copy(mark)
    moved.column += 1
    return moved


def _place_empty_values_after_their_keys(node: Node) -> None:
    """Point empty values (``key:`` with nothing after it) at their key's line.

    The composer places an empty scalar at the next token, often the following line,
    which would send the requester to the wrong place.
    """
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(value, ScalarNode) and value.value == "" and key.end_mark is not None:
                value.start_mark = _after(key.end_mark)  # just after the ':'
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
