"""``archive`` / ``unarchive``: set a feedstock repository's archived state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ruamel.yaml.nodes import Node

from ..fields import Decoder, Text
from ..names import check_feedstock_name
from ..problems import Problem
from .base import Item, RequestKind, RequestModel, check_each, feedstock_list
from .layout import EntryLayout, ListEntries


@dataclass(frozen=True)
class FeedstocksRequest(RequestModel):
    feedstocks: tuple[Text, ...]


class ArchiveKind(RequestKind):
    required_keys: ClassVar[tuple[str, ...]] = ("feedstocks",)
    item_entries: ClassVar[EntryLayout | None] = ListEntries("feedstocks")

    def __init__(self, action: str, summary: str, *, archived: bool) -> None:
        super().__init__(action, summary)
        self.archived = archived

    def build(self, fields: dict[str, Node], decoder: Decoder) -> FeedstocksRequest | None:
        if "feedstocks" not in fields:
            return None
        feedstocks = feedstock_list(decoder, fields["feedstocks"])
        if feedstocks is None:
            return None
        return FeedstocksRequest(decoder.path, self.action, tuple(feedstocks))

    def validate(self, model: FeedstocksRequest) -> list[Problem]:
        return check_each(model.path, model.feedstocks, check_feedstock_name, "bad-feedstock-name")

    def plan(self, model: FeedstocksRequest) -> list[Item]:
        verb = "archive" if self.archived else "unarchive"
        return [
            Item(
                f"{self.action}:{name}",
                self.action,
                f"{name}-feedstock",
                f"{verb} the repository {name}-feedstock",
            )
            for name in model.feedstocks
        ]


ARCHIVE = ArchiveKind(
    "archive",
    "Archive feedstocks that are no longer maintained (read-only; packages stay available).",
    archived=True,
)
UNARCHIVE = ArchiveKind("unarchive", "Make archived feedstocks writable again.", archived=False)
