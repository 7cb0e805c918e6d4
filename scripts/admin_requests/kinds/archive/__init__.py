"""``archive`` / ``unarchive``: set a feedstock repository's archived state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from ruamel.yaml.nodes import Node

from admin_requests.access import Access
from admin_requests.kinds.contract import (
    Item,
    Outcome,
    RequestKind,
    RequestModel,
    check_each,
    feedstock_list,
)
from admin_requests.kinds.execution import feedstocks_exist, guarded
from admin_requests.kinds.layout import EntryLayout, ListEntries
from admin_requests.validation.fields import Decoder, Text
from admin_requests.validation.names import check_feedstock_name
from admin_requests.validation.problems import Problem

if TYPE_CHECKING:
    from admin_requests.services import Services

ENTRIES = ListEntries("feedstocks")


@dataclass(frozen=True)
class FeedstocksRequest(RequestModel):
    feedstocks: tuple[Text, ...]


@dataclass(frozen=True)
class RepositoryParams:
    repository: str  # <name>-feedstock


class ArchiveKind(RequestKind[FeedstocksRequest, RepositoryParams]):
    model_type: ClassVar[type[RequestModel]] = FeedstocksRequest
    required_keys: ClassVar[tuple[str, ...]] = ("feedstocks",)
    item_entries: ClassVar[EntryLayout | None] = ENTRIES

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

    def plan(self, model: FeedstocksRequest) -> list[Item[RepositoryParams]]:
        verb = "archive" if self.archived else "unarchive"
        return [
            Item(
                ENTRIES.item_id(self.action, name),
                self.action,
                f"{name}-feedstock",
                f"{verb} the repository {name}-feedstock",
                RepositoryParams(f"{name}-feedstock"),
            )
            for name in model.feedstocks
        ]

    def target_repositories(self, item: Item[RepositoryParams]) -> tuple[str, ...]:
        return (item.params.repository,)

    def access(self, model: FeedstocksRequest, services: Services) -> Access:
        # Archiving is a repository setting: administration, on exactly these repositories.
        return Access(
            github_repositories=tuple(dict.fromkeys(f"{n}-feedstock" for n in model.feedstocks)),
            github_permissions={"administration": "write"},
        )

    def preflight(self, model: FeedstocksRequest, services: Services) -> list[Problem]:
        return feedstocks_exist(model.path, model.feedstocks, services)

    def execute(self, item: Item[RepositoryParams], services: Services) -> Outcome:
        repository = item.params.repository
        org = services.settings.organisation
        return guarded(
            item.description,
            lambda: self._set_archived(repository, services),
            not_found=f"there is no repository {repository!r} in {org!r}; check the "
            "feedstock name and fix or remove it in the request.",
        )

    def _set_archived(self, repository: str, services: Services) -> Outcome:
        state = services.github.repository(repository)
        word = "archived" if self.archived else "not archived"
        if state.archived == self.archived:
            return Outcome.done(f"{repository} was already {word}", changed=False)
        services.github.set_archived(repository, self.archived)
        return Outcome.done(f"{repository} is now {word}")


KIND = ArchiveKind(
    "archive",
    "Archive feedstocks that are no longer maintained (read-only; packages stay available).",
    archived=True,
)
