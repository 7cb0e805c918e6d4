"""Decode YAML nodes into typed values, recording a Problem for everything wrong.

Decoders never raise for bad input: they append a Problem (with the node's line and
column and a message that shows the fix) and return None, so one file yields all of
its problems in one pass.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from admin_requests.validation.problems import Problem
from admin_requests.validation.source import problem_at

T = TypeVar("T")

STR_TAG = "tag:yaml.org,2002:str"
BOOL_TAG = "tag:yaml.org,2002:bool"
INT_TAG = "tag:yaml.org,2002:int"
NULL_TAG = "tag:yaml.org,2002:null"


class Text(str):
    """A string that remembers where in the request file it was written."""

    line: int
    column: int

    def __new__(cls, value: str, line: int = 0, column: int = 0) -> Text:
        obj = super().__new__(cls, value)
        obj.line = line
        obj.column = column
        return obj

    @classmethod
    def from_node(cls, node: ScalarNode) -> Text:
        mark = node.start_mark
        return cls(str(node.value), mark.line + 1, mark.column + 1)


def tag_of(node: Node) -> str:
    tag = node.tag
    return str(getattr(tag, "value", tag))


def describe(node: Node) -> str:
    """Say in plain words what the requester wrote, for error messages."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    tag = tag_of(node)
    if tag == NULL_TAG:
        return "nothing (an empty value)"
    kind = {BOOL_TAG: "the boolean", INT_TAG: "the number"}.get(tag, "the text")
    return f"{kind} {node.value!r}"


@dataclass
class Decoder:
    """Collects the problems of one file while its nodes are decoded."""

    path: str
    problems: list[Problem] = field(default_factory=list)

    def error(self, node: Node | None, code: str, message: str) -> None:
        self.problems.append(problem_at(self.path, node, code, message))

    def error_at(self, text: Text, code: str, message: str) -> None:
        self.problems.append(Problem(self.path, text.line, text.column, code, message))

    # -- scalars ---------------------------------------------------------------

    def text(self, node: Node, what: str) -> Text | None:
        """A non-empty scalar, kept as the exact text written.

        Numbers are accepted as text because names like ``7za`` or branch ``2.0`` are
        legitimately numeric-looking; booleans and nulls are almost always mistakes.
        """
        if not isinstance(node, ScalarNode):
            self.error(
                node, "wrong-type", f"{what} must be a single text value, not {describe(node)}."
            )
            return None
        tag = tag_of(node)
        if tag == NULL_TAG or (tag == STR_TAG and str(node.value) == ""):
            self.error(node, "empty-value", f"{what} is empty; write a value here.")
            return None
        if tag == BOOL_TAG:
            self.error(
                node,
                "wrong-type",
                f"{what} must be text, not {describe(node)}; if you really mean the word, "
                f"quote it: '{node.value}'.",
            )
            return None
        return Text.from_node(node)

    def boolean(self, node: Node, key: str) -> bool | None:
        if isinstance(node, ScalarNode) and tag_of(node) == BOOL_TAG:
            return str(node.value).lower() == "true"
        self.error(
            node,
            "wrong-type",
            f"'{key}' must be true or false, not {describe(node)}; write '{key}: true' or "
            f"'{key}: false'.",
        )
        return None

    def optional_int(self, node: Node, key: str, minimum: int = 0) -> tuple[bool, int | None]:
        """Return (ok, value); an explicit null is a valid 'not set'."""
        if isinstance(node, ScalarNode) and tag_of(node) == NULL_TAG:
            return True, None
        if isinstance(node, ScalarNode) and tag_of(node) == INT_TAG:
            try:
                value = int(str(node.value).replace("_", ""), 0)
            except ValueError:
                value = None
            if value is not None and value >= minimum:
                return True, value
        self.error(
            node,
            "wrong-type",
            f"'{key}' must be a whole number of seconds (at least {minimum}) or null, not "
            f"{describe(node)}; for example '{key}: 3600'.",
        )
        return False, None

    # -- collections -----------------------------------------------------------

    def sequence(
        self,
        node: Node,
        key: str,
        decode: Callable[[Node], T | None],
        *,
        example_item: str = "value",
        indent: str = "",
    ) -> list[T] | None:
        """A non-empty list whose items each decode; a lone scalar shows the list form."""
        if isinstance(node, ScalarNode) and tag_of(node) not in (NULL_TAG,):
            self.error(
                node,
                "expected-list",
                f"'{key}' must be a list, even with one entry; write it as:\n"
                f"{indent}{key}:\n{indent}  - {node.value}",
            )
            return None
        if isinstance(node, ScalarNode) or (isinstance(node, SequenceNode) and not node.value):
            self.error(
                node,
                "empty-list",
                f"'{key}' is empty; list at least one entry:\n{indent}{key}:\n"
                f"{indent}  - {example_item}",
            )
            return None
        if not isinstance(node, SequenceNode):
            self.error(
                node,
                "expected-list",
                f"'{key}' must be a list ('- item' lines), not {describe(node)}:\n"
                f"{indent}{key}:\n{indent}  - {example_item}",
            )
            return None
        decoded = [decode(item) for item in node.value]
        return [value for value in decoded if value is not None]

    def mapping_entries(self, node: MappingNode, where: str) -> list[tuple[Text, Node]]:
        """Key/value pairs of a mapping with text keys, reporting duplicate keys."""
        seen: dict[str, Text] = {}
        entries: list[tuple[Text, Node]] = []
        for key_node, value_node in node.value:
            key = self.text(key_node, f"a key in {where}")
            if key is None:
                continue
            if key in seen:
                first = seen[key]
                self.error(
                    key_node,
                    "duplicate-key",
                    f"{key!r} appears twice in {where} (first on line {first.line}); "
                    "keep one entry and merge the values into it.",
                )
                continue
            seen[key] = key
            entries.append((key, value_node))
        return entries

    def fields(
        self,
        node: MappingNode,
        *,
        action: str,
        required: Sequence[str],
        optional: Iterable[str] = (),
    ) -> dict[str, Node]:
        """Top-level keys of a request: unknown keys and missing keys are problems.

        Returns the known keys that are present, so the caller can still decode them
        and report their problems too.
        """
        allowed = ["action", *required, *optional]
        found: dict[str, Node] = {}
        for key, value in self.mapping_entries(node, "the request"):
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                self.error_at(
                    key,
                    "unknown-key",
                    f"unknown key {str(key)!r} for action {action!r}.{hint} "
                    f"Allowed keys: {', '.join(allowed)}.",
                )
                continue
            found[key] = value
        for name in required:
            if name not in found:
                self.error(
                    node,
                    "missing-key",
                    f"action {action!r} needs a {name!r} key; see docs/examples/ for the full "
                    "form.",
                )
        return found
