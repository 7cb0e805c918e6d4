"""Where each item of a request is written in its YAML file.

The queue runner removes the entries of done items from a request file and commits
what is left. To do that it must know which YAML entry produced which item: each kind
declares it once, as an ``EntryLayout`` in its ``item_entries`` class attribute.

An item's id is defined once, here: ``plan`` asks the kind's layout for it
(``ListEntries.item_id``, ``MappingOfLists.item_id``), and the queue finds the entry
of a pending item with the same function.

Layouts work on the composed node tree (see ``source.py``), so ids are computed from
the exact text the requester typed (branch ``2.10`` stays ``2.10``) and every entry
keeps its line numbers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode


@dataclass(frozen=True)
class Entry:
    """One list entry and the id of the item it produces."""

    item_id: str
    node: Node


@dataclass(frozen=True)
class EntryGroup:
    """The entries of one list.

    ``key`` is the mapping key the list is the value of. ``removable`` says whether the
    key (and its list) may be removed once all its entries are done: true for one
    feedstock's list in a mapping, false for the request's own top-level list.
    """

    key: ScalarNode
    sequence: SequenceNode
    entries: tuple[Entry, ...]
    removable: bool


def _top_level(root: MappingNode, key: str) -> tuple[ScalarNode, Node] | None:
    for key_node, value in root.value:
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            return key_node, value
    return None


def _field(node: Node, name: str) -> str | None:
    if isinstance(node, MappingNode):
        for key_node, value in node.value:
            if (
                isinstance(key_node, ScalarNode)
                and key_node.value == name
                and isinstance(value, ScalarNode)
            ):
                return str(value.value)
    return None


class EntryLayout(ABC):
    @abstractmethod
    def groups(self, action: str, root: MappingNode) -> list[EntryGroup]:
        """The lists of item entries in a (valid) request document."""


@dataclass(frozen=True)
class ListEntries(EntryLayout):
    """Items are the entries of one top-level list; the id is ``<action>:<entry>``.

    With ``field``, each entry is a mapping and the id uses that field's value
    (``cfep3_copy``: ``<action>:<package>``).
    """

    key: str
    field: str | None = None

    @staticmethod
    def item_id(action: str, entry: str) -> str:
        return f"{action}:{entry}"

    def groups(self, action: str, root: MappingNode) -> list[EntryGroup]:
        found = _top_level(root, self.key)
        if found is None:
            return []
        key_node, sequence = found
        if not isinstance(sequence, SequenceNode):
            return []
        entries = []
        for node in sequence.value:
            text = _field(node, self.field) if self.field else _scalar(node)
            if text is not None:
                entries.append(Entry(self.item_id(action, text), node))
        return [EntryGroup(key_node, sequence, tuple(entries), removable=False)]


@dataclass(frozen=True)
class MappingOfLists(EntryLayout):
    """Items are the list entries under each key of a top-level mapping.

    ``item_id(action, key, entry)`` gives the id, e.g. ``archive_branch:foo@1.2.x``.
    """

    key: str
    item_id: Callable[[str, str, str], str]

    def groups(self, action: str, root: MappingNode) -> list[EntryGroup]:
        found = _top_level(root, self.key)
        if found is None or not isinstance(found[1], MappingNode):
            return []
        groups = []
        for key_node, sequence in found[1].value:
            if not isinstance(key_node, ScalarNode) or not isinstance(sequence, SequenceNode):
                continue
            entries = tuple(
                Entry(self.item_id(action, str(key_node.value), text), node)
                for node in sequence.value
                if (text := _scalar(node)) is not None
            )
            groups.append(EntryGroup(key_node, sequence, entries, removable=True))
        return groups


def _scalar(node: Node) -> str | None:
    return str(node.value) if isinstance(node, ScalarNode) else None
