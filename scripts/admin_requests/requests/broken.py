"""``broken`` / ``not_broken``: add or remove the ``broken`` label on package artifacts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ruamel.yaml.nodes import Node

from ..fields import Decoder, Text
from ..names import parse_package_file
from ..problems import Problem
from .base import Item, RequestKind, RequestModel, check_each
from .layout import EntryLayout, ListEntries


@dataclass(frozen=True)
class PackageLabelRequest(RequestModel):
    packages: tuple[Text, ...]


def _package_problem(value: str) -> str | None:
    return parse_package_file(value)[1]


class PackageLabelKind(RequestKind):
    required_keys: ClassVar[tuple[str, ...]] = ("packages",)
    item_entries: ClassVar[EntryLayout | None] = ListEntries("packages")

    def __init__(self, action: str, summary: str, *, add_label: bool) -> None:
        super().__init__(action, summary)
        self.add_label = add_label

    def build(self, fields: dict[str, Node], decoder: Decoder) -> PackageLabelRequest | None:
        if "packages" not in fields:
            return None
        packages = decoder.sequence(
            fields["packages"],
            "packages",
            lambda item: decoder.text(item, "each entry of 'packages'"),
            example_item="linux-64/numpy-2.0.0-py312h0_0.conda",
        )
        if packages is None:
            return None
        return PackageLabelRequest(decoder.path, self.action, tuple(packages))

    def validate(self, model: PackageLabelRequest) -> list[Problem]:
        return check_each(model.path, model.packages, _package_problem, "bad-package")

    def plan(self, model: PackageLabelRequest) -> list[Item]:
        verb = "add the 'broken' label to" if self.add_label else "remove the 'broken' label from"
        return [
            Item(f"{self.action}:{package}", self.action, str(package), f"{verb} {package}")
            for package in model.packages
        ]


BROKEN = PackageLabelKind(
    "broken",
    "Mark package artifacts as broken so solvers stop picking them (files stay downloadable).",
    add_label=True,
)
NOT_BROKEN = PackageLabelKind(
    "not_broken",
    "Undo 'broken': remove the broken label so the artifacts are installable again.",
    add_label=False,
)
