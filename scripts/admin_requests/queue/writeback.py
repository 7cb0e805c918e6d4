"""Shrink a request file to the items still to do, keeping everything else as written.

We delete whole lines of the original text instead of re-dumping a YAML tree: the
requester's comments, quoting, indentation and blank lines stay exactly as they were.
Only the lines of done entries go, from their ``-`` to their last line (so their own
end-of-line comments and comments inside a multi-line entry go with them); comments
between entries stay. A mapping key whose list is all done goes too.

When a file cannot be shrunk safely (flow style ``[a, b]``, two entries on one line, a
kind without a layout), the result is None and the caller keeps the file whole; that is
safe because executing a done item again is a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Set
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from admin_requests.kinds.contract import RequestKind
from admin_requests.kinds.layout import EntryGroup
from admin_requests.validation.checker import check_text
from admin_requests.validation.source import parse_document

log = logging.getLogger(__name__)


def _last_line(node: Node) -> int:
    """The 0-based line holding the node's last character."""
    if isinstance(node, MappingNode) and node.value:
        return _last_line(node.value[-1][1])
    if isinstance(node, SequenceNode) and node.value:
        return _last_line(node.value[-1])
    end = node.end_mark
    # Block scalars and collections end at column 0 of the line after their content.
    if end.column == 0 and end.line > node.start_mark.line:
        return int(end.line) - 1
    return int(end.line)


def _entry_lines(lines: list[str], node: Node) -> range | None:
    """The lines of one block-list entry, from its '- ' to its last line."""
    first = node.start_mark.line
    if lines[first][: node.start_mark.column].strip() != "-":
        return None  # '-' alone on its line, or '- - x': not worth supporting
    return range(first, _last_line(node) + 1)


def _lines_to_drop(
    lines: list[str], groups: list[EntryGroup], pending: Set[str]
) -> set[int] | None:
    drop: set[int] = set()
    keep: set[int] = set()
    for group in groups:
        done = [entry for entry in group.entries if entry.item_id not in pending]
        if not done:
            continue
        if group.sequence.flow_style:
            return None
        if len(done) == len(group.entries):
            if not group.removable:
                return None
            start = group.key.start_mark.line
            if lines[start][: group.key.start_mark.column].strip():
                return None  # the key shares its line with something else
            drop.update(range(start, _last_line(group.sequence) + 1))
            continue
        for entry in group.entries:
            span = _entry_lines(lines, entry.node)
            if span is None:
                return None
            (keep if entry.item_id in pending else drop).update(span)
    if drop & keep:
        return None
    return drop


def remaining_text(
    text: str, kind: RequestKind[Any, Any], pending: Set[str], display: str
) -> str | None:
    """``text`` with the entries of items not in ``pending`` removed, or None if unsafe.

    The result is checked by planning it again: it must be valid and produce exactly
    the pending items, so a layout that disagrees with ``plan`` can never lose an item.
    """
    layout = kind.item_entries
    if layout is None:
        return None
    document, _ = parse_document(text, display)
    if document is None:
        return None
    lines = text.splitlines(keepends=True)
    drop = _lines_to_drop(lines, layout.groups(kind.action, document.root), pending)
    if drop is None:
        log.info("%s: cannot shrink this file safely; keeping it whole", display)
        return None
    result = "".join(line for n, line in enumerate(lines) if n not in drop)
    # Planned by this very kind, so a kind the runner was given (not in REGISTRY) works.
    report = check_text(result, display, {kind.action: kind})
    if not report.ok or {item.id for item in report.items} != set(pending):
        log.warning(
            "%s: shrinking the file would change its items (%s); keeping it whole",
            display,
            sorted({item.id for item in report.items} ^ set(pending)),
        )
        return None
    return result
