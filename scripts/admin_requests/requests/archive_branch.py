"""``archive_branch`` / ``unarchive_branch``: turn branch ``foo`` into tag ``foo_archived``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ruamel.yaml.nodes import MappingNode, Node

from ..fields import Decoder, Text, describe
from ..names import check_branch_name, check_feedstock_name
from ..problems import Problem
from .base import Item, RequestKind, RequestModel, check_each
from .layout import EntryLayout, MappingOfLists

ARCHIVED_TAG_SUFFIX = "_archived"


def branch_item_id(action: str, feedstock: str, branch: str) -> str:
    return f"{action}:{feedstock}@{branch}"


@dataclass(frozen=True)
class BranchesRequest(RequestModel):
    feedstocks: tuple[tuple[Text, tuple[Text, ...]], ...]


class ArchiveBranchKind(RequestKind):
    required_keys: ClassVar[tuple[str, ...]] = ("feedstocks",)
    item_entries: ClassVar[EntryLayout | None] = MappingOfLists("feedstocks", branch_item_id)

    def __init__(self, action: str, summary: str, *, archive: bool) -> None:
        super().__init__(action, summary)
        self.archive = archive

    def build(self, fields: dict[str, Node], decoder: Decoder) -> BranchesRequest | None:
        node = fields.get("feedstocks")
        if node is None:
            return None
        if not isinstance(node, MappingNode) or not node.value:
            decoder.error(
                node,
                "expected-mapping",
                "'feedstocks' must map each feedstock name to its list of branches, not "
                f"{describe(node)}:\nfeedstocks:\n  some-package:\n    - 1.2.x",
            )
            return None
        result = []
        for name, branches_node in decoder.mapping_entries(node, "'feedstocks'"):
            branches = decoder.sequence(
                branches_node,
                str(name),
                lambda item: decoder.text(item, "a branch name"),
                example_item="1.2.x",
                indent="  ",
            )
            if branches is not None:
                result.append((name, tuple(branches)))
        return BranchesRequest(decoder.path, self.action, tuple(result))

    def validate(self, model: BranchesRequest) -> list[Problem]:
        problems = check_each(
            model.path,
            [name for name, _ in model.feedstocks],
            check_feedstock_name,
            "bad-feedstock-name",
        )
        for _, branches in model.feedstocks:
            problems += check_each(model.path, branches, check_branch_name, "bad-branch-name")
        return problems

    def plan(self, model: BranchesRequest) -> list[Item]:
        items = []
        for name, branches in model.feedstocks:
            for branch in branches:
                tag = f"{branch}{ARCHIVED_TAG_SUFFIX}"
                if self.archive:
                    what = f"branch {branch!s} becomes tag {tag}, then the branch is deleted"
                else:
                    what = f"tag {tag} becomes branch {branch!s} again, then the tag is deleted"
                items.append(
                    Item(
                        f"{self.action}:{name}@{branch}",
                        self.action,
                        f"{name}-feedstock",
                        f"{name}-feedstock: {what}",
                    )
                )
        return items


ARCHIVE_BRANCH = ArchiveBranchKind(
    "archive_branch",
    "Retire maintenance branches: each becomes a '<branch>_archived' tag at the same commit.",
    archive=True,
)
UNARCHIVE_BRANCH = ArchiveBranchKind(
    "unarchive_branch",
    "Bring back an archived branch from its '<branch>_archived' tag.",
    archive=False,
)
