"""A node tree as plain data, to compare what two parsers composed."""

from __future__ import annotations

from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode


def _mark(mark: Any) -> tuple[int, int, int] | None:
    return None if mark is None else (mark.line, mark.column, mark.index)


def node_tree(node: Node | None) -> object:
    """Every node's kind, tag, value, style, anchor and both marks, nested.

    Not its comment: the safe parsers keep none, and nothing reads one, but with
    Windows line breaks ruamel.yaml's pure scanner still hangs a blank line's
    ``CommentToken`` on the scalar before it.
    """
    if node is None:
        return None
    common = (
        type(node).__name__,
        node.tag,
        _mark(node.start_mark),
        _mark(node.end_mark),
        node.anchor,
    )
    if isinstance(node, ScalarNode):
        return (*common, node.style, node.value)
    if isinstance(node, MappingNode):
        pairs = [(node_tree(key), node_tree(value)) for key, value in node.value]
        return (*common, node.flow_style, pairs)
    return (*common, node.flow_style, [node_tree(item) for item in node.value])
