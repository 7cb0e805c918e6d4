"""CI-resource kinds: grant (or revoke) a feedstock's opt-in build resources.

``travis``, ``cirun``, ``blacksmith``, ``namespace``, ``depot`` and ``cirrus_runners``
share one model: a list of feedstocks and ``revoke``; ``cirun`` adds the resources it
asks for, whether pull requests may use them, and whether to send the enabling PR.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ruamel.yaml.nodes import Node

from ..fields import Decoder, Text
from ..names import check_feedstock_name
from ..problems import Problem
from .base import Item, RequestKind, RequestModel, check_each, feedstock_list
from .layout import EntryLayout, ListEntries

CIRUN_RESOURCE_PREFIX = "cirun-"


@dataclass(frozen=True)
class CiResourceRequest(RequestModel):
    feedstocks: tuple[Text, ...]
    revoke: bool = False
    resources: tuple[Text, ...] = ()
    pull_request: bool = False
    send_pr: bool = True


def _check_cirun_resource(value: str) -> str | None:
    named_like_cirun = value.startswith(CIRUN_RESOURCE_PREFIX) and value != CIRUN_RESOURCE_PREFIX
    if named_like_cirun and check_feedstock_name(value) is None:
        return None
    return (
        f"cirun resource {value!r} is not a cirun resource name: names start with "
        f"{CIRUN_RESOURCE_PREFIX!r}, e.g. 'cirun-openstack-gpu-large' (see the organisation's "
        ".cirun repository for the list)."
    )


class CiResourceKind(RequestKind):
    model_type: ClassVar[type[RequestModel]] = CiResourceRequest
    required_keys: ClassVar[tuple[str, ...]] = ("feedstocks",)
    item_entries: ClassVar[EntryLayout | None] = ListEntries("feedstocks")
    optional_keys: ClassVar[tuple[str, ...]] = ("revoke",)

    def __init__(self, action: str, summary: str, *, resource: str, can_revoke: bool = True):
        super().__init__(action, summary)
        self.resource = resource
        self.can_revoke = can_revoke

    def _flag(
        self, fields: dict[str, Node], decoder: Decoder, key: str, default: bool
    ) -> bool | None:
        return decoder.boolean(fields[key], key) if key in fields else default

    def build(self, fields: dict[str, Node], decoder: Decoder) -> CiResourceRequest | None:
        revoke = self._flag(fields, decoder, "revoke", False)
        if revoke and not self.can_revoke:
            decoder.error(
                fields["revoke"],
                "revoke-unsupported",
                f"{self.action!r} access cannot be revoked through a request; remove "
                "'revoke: true' and ask core in an issue instead.",
            )
            return None
        feedstocks = (
            feedstock_list(decoder, fields["feedstocks"]) if "feedstocks" in fields else None
        )
        if feedstocks is None or revoke is None:
            return None
        return CiResourceRequest(decoder.path, self.action, tuple(feedstocks), revoke)

    def validate(self, model: CiResourceRequest) -> list[Problem]:
        return check_each(model.path, model.feedstocks, check_feedstock_name, "bad-feedstock-name")

    def _what(self, model: CiResourceRequest) -> str:
        return self.resource

    def plan(self, model: CiResourceRequest) -> list[Item]:
        verb = "revoke" if model.revoke else "grant"
        return [
            Item(
                f"{self.action}:{name}",
                self.action,
                f"{name}-feedstock",
                f"{verb} {self._what(model)} for {name}-feedstock",
            )
            for name in model.feedstocks
        ]


class CirunKind(CiResourceKind):
    required_keys: ClassVar[tuple[str, ...]] = ("feedstocks", "resources")
    optional_keys: ClassVar[tuple[str, ...]] = ("revoke", "pull_request", "send_pr")

    def build(self, fields: dict[str, Node], decoder: Decoder) -> CiResourceRequest | None:
        base = super().build(fields, decoder)
        pull_request = self._flag(fields, decoder, "pull_request", False)
        send_pr = self._flag(fields, decoder, "send_pr", True)
        resources = None
        if "resources" in fields:
            resources = decoder.sequence(
                fields["resources"],
                "resources",
                lambda item: decoder.text(item, "a cirun resource"),
                example_item="cirun-openstack-gpu-large",
            )
        if base is None or resources is None or pull_request is None or send_pr is None:
            return None
        return CiResourceRequest(
            base.path,
            base.action,
            base.feedstocks,
            base.revoke,
            tuple(resources),
            pull_request,
            send_pr,
        )

    def validate(self, model: CiResourceRequest) -> list[Problem]:
        return super().validate(model) + check_each(
            model.path, model.resources, _check_cirun_resource, "bad-resource"
        )

    def _what(self, model: CiResourceRequest) -> str:
        scope = " (pushes and pull requests)" if model.pull_request else " (pushes only)"
        pr = "; send the enabling PR" if model.send_pr and not model.revoke else ""
        return f"cirun resources {', '.join(model.resources)}{scope}{pr}"


TRAVIS = CiResourceKind(
    "travis", "Enable Travis CI builds for a feedstock.", resource="Travis CI", can_revoke=False
)
CIRUN = CirunKind(
    "cirun",
    "Grant a feedstock self-hosted GPU/large runners through Cirun.",
    resource="cirun runners",
)
BLACKSMITH = CiResourceKind(
    "blacksmith", "Grant a feedstock Blacksmith's faster runners.", resource="Blacksmith runners"
)
NAMESPACE = CiResourceKind(
    "namespace", "Grant a feedstock Namespace runners.", resource="Namespace runners"
)
DEPOT = CiResourceKind("depot", "Grant a feedstock Depot runners.", resource="Depot runners")
CIRRUS_RUNNERS = CiResourceKind(
    "cirrus_runners", "Grant a feedstock Cirrus runners.", resource="Cirrus runners"
)
