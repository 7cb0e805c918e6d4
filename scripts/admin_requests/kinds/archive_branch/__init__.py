"""``archive_branch`` / ``unarchive_branch``: turn branch ``foo`` into tag ``foo_archived``."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from ruamel.yaml.nodes import MappingNode, Node

from admin_requests.access import Access
from admin_requests.errors import ConflictError, NotFoundError
from admin_requests.kinds.contract import Item, Outcome, RequestKind, RequestModel, check_each
from admin_requests.kinds.execution import check_online, guarded
from admin_requests.kinds.layout import EntryLayout, MappingOfLists
from admin_requests.validation.fields import Decoder, Text, describe
from admin_requests.validation.names import check_branch_name, check_feedstock_name
from admin_requests.validation.problems import Problem

if TYPE_CHECKING:
    from admin_requests.services import Services

ARCHIVED_TAG_SUFFIX = "_archived"


def branch_item_id(action: str, feedstock: str, branch: str) -> str:
    return f"{action}:{feedstock}@{branch}"


# plan() takes its ids from here too, so the queue finds each item's entry.
ENTRIES = MappingOfLists("feedstocks", branch_item_id)


@dataclass(frozen=True)
class BranchesRequest(RequestModel):
    feedstocks: tuple[tuple[Text, tuple[Text, ...]], ...]


@dataclass(frozen=True)
class BranchParams:
    repository: str  # <name>-feedstock
    branch: str
    tag: str  # <branch>_archived


class ArchiveBranchKind(RequestKind[BranchesRequest, BranchParams]):
    model_type: ClassVar[type[RequestModel]] = BranchesRequest
    required_keys: ClassVar[tuple[str, ...]] = ("feedstocks",)
    item_entries: ClassVar[EntryLayout | None] = ENTRIES

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

    def plan(self, model: BranchesRequest) -> list[Item[BranchParams]]:
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
                        ENTRIES.item_id(self.action, name, branch),
                        self.action,
                        f"{name}-feedstock",
                        f"{name}-feedstock: {what}",
                        BranchParams(f"{name}-feedstock", str(branch), tag),
                    )
                )
        return items

    def _refs(self, item: Item[BranchParams]) -> tuple[str, str]:
        """(the reference to move away from, the one to create) for this direction."""
        branch, tag = f"heads/{item.params.branch}", f"tags/{item.params.tag}"
        return (branch, tag) if self.archive else (tag, branch)

    def target_repositories(self, item: Item[BranchParams]) -> tuple[str, ...]:
        return (item.params.repository,)

    def access(self, model: BranchesRequest, services: Services) -> Access:
        return Access(
            github_repositories=tuple(
                dict.fromkeys(f"{name}-feedstock" for name, _ in model.feedstocks)
            ),
            github_permissions={"contents": "write"},
        )

    def preflight(self, model: BranchesRequest, services: Services) -> list[Problem]:
        problems: list[Problem] = []
        for item, where in zip(self.plan(model), _branch_texts(model), strict=True):
            problems += check_online(
                model.path,
                where,
                functools.partial(self._missing_source, item, services),
                "no-such-branch",
            )
        return problems

    def _missing_source(self, item: Item[BranchParams], services: Services) -> str | None:
        source, target = self._refs(item)
        repository = item.params.repository
        if services.github.get_ref(repository, source) or services.github.get_ref(
            repository, target
        ):
            return None
        try:
            services.github.repository(repository)
        except NotFoundError:
            return (
                f"there is no repository {repository!r} in "
                f"{services.settings.organisation!r}; check the feedstock name."
            )
        return f"{repository} has no {source!r} (nor {target!r}); check the branch name."

    def execute(self, item: Item[BranchParams], services: Services) -> Outcome:
        repository = item.params.repository
        return guarded(
            item.description,
            lambda: self._move(item, services),
            not_found=f"there is no repository {repository!r} in "
            f"{services.settings.organisation!r}; check the feedstock name.",
        )

    def _move(self, item: Item[BranchParams], services: Services) -> Outcome:
        """Create the target at the source's commit, verify it, then delete the source.

        In that order, so a run that stops half-way leaves both references at the same
        commit and the next run only deletes the source: nothing is ever lost.
        """
        github, repository = services.github, item.params.repository
        source, target = self._refs(item)
        source_sha = github.get_ref(repository, source)
        target_sha = github.get_ref(repository, target)
        if source_sha is None:
            if target_sha is not None:
                return Outcome.done(f"{repository}: {target} already exists", changed=False)
            github.repository(repository)  # a missing repository is a different problem
            return Outcome.failed(
                f"{repository} has neither {source!r} nor {target!r}; check the branch "
                "name in the request."
            )
        if target_sha is None:
            try:
                target_sha = github.create_ref(repository, target, source_sha)
            except ConflictError:  # created meanwhile (or by our own timed-out call)
                target_sha = github.get_ref(repository, target)
        if target_sha != source_sha:
            return Outcome.failed(
                f"{repository}: {target!r} already exists at commit {target_sha}, but "
                f"{source!r} is at {source_sha}; nothing was deleted. Ask core to decide "
                f"which commit to keep, then delete the other reference by hand."
            )
        github.delete_ref(repository, source)
        return Outcome.done(f"{repository}: {source} is now {target} at {source_sha[:12]}")


def _branch_texts(model: BranchesRequest) -> list[Text]:
    return [branch for _, branches in model.feedstocks for branch in branches]


KIND = ArchiveBranchKind(
    "archive_branch",
    "Retire maintenance branches: each becomes a '<branch>_archived' tag at the same commit.",
    archive=True,
)
