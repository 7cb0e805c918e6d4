"""``cfep3_copy``: copy an approved artifact from another channel to the organisation's (CFEP-3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ruamel.yaml.nodes import MappingNode, Node

from ..fields import Decoder, Text, describe
from ..names import check_label, check_sha256, parse_package_file
from ..problems import Problem
from .base import Item, RequestKind, RequestModel
from .layout import EntryLayout, ListEntries

PACKAGE_SPEC_FORM = "channel[/label/<label>]/subdir/name-version-build.conda"
DEFAULT_LABEL = "main"
ENTRY_EXAMPLE = (
    "anaconda_org_packages:\n"
    "  - package: some-channel/label/some-label/linux-64/foo-1.0-h0_0.conda\n"
    "    sha256: <64 hexadecimal characters>"
)


@dataclass(frozen=True)
class CopySource:
    channel: str
    label: str
    subdir: str
    filename: str


def parse_copy_source(value: str) -> tuple[CopySource | None, str | None]:
    """Split ``channel[/label/<label>]/subdir/file`` into its parts, or explain the problem."""
    parts = value.split("/")
    if len(parts) == 3:
        channel, label = parts[0], DEFAULT_LABEL
    elif len(parts) == 5 and parts[1] == "label":
        channel, label = parts[0], parts[2]
    else:
        return None, f"package {value!r} must have the form {PACKAGE_SPEC_FORM}."
    for piece, what in ((channel, "channel"), (label, "label")):
        message = check_label(piece)
        if message:
            return None, f"{what} {piece!r} in package {value!r} is not valid; " + message
    subdir_and_file = "/".join(parts[-2:])
    package, message = parse_package_file(subdir_and_file)
    if package is None:
        return None, message
    return CopySource(channel, label, package.subdir, package.filename), None


@dataclass(frozen=True)
class CopyEntry:
    package: Text
    sha256: Text


@dataclass(frozen=True)
class CopyRequest(RequestModel):
    anaconda_org_packages: tuple[CopyEntry, ...]
    to_anaconda_org_label: Text


class Cfep3CopyKind(RequestKind):
    required_keys: ClassVar[tuple[str, ...]] = ("anaconda_org_packages",)
    item_entries: ClassVar[EntryLayout | None] = ListEntries("anaconda_org_packages", "package")
    optional_keys: ClassVar[tuple[str, ...]] = ("to_anaconda_org_label",)

    def _entry(self, node: Node, decoder: Decoder) -> CopyEntry | None:
        if not isinstance(node, MappingNode):
            decoder.error(
                node,
                "expected-mapping",
                "each entry of 'anaconda_org_packages' must be a mapping with 'package' and "
                f"'sha256', not {describe(node)}:\n{ENTRY_EXAMPLE}",
            )
            return None
        values: dict[str, Text] = {}
        present: set[str] = set()
        for key, value in decoder.mapping_entries(node, "an 'anaconda_org_packages' entry"):
            if key not in ("package", "sha256"):
                decoder.error_at(
                    key,
                    "unknown-key",
                    f"unknown key {str(key)!r} in an 'anaconda_org_packages' entry; only "
                    "'package' and 'sha256' are allowed.",
                )
                continue
            present.add(key)
            text = decoder.text(value, f"{str(key)!r}")
            if text is not None:
                values[key] = text
        for name in ("package", "sha256"):
            if name not in present:
                decoder.error(
                    node, "missing-key", f"this entry needs a {name!r} key:\n{ENTRY_EXAMPLE}"
                )
        if len(values) != 2:
            return None
        return CopyEntry(values["package"], values["sha256"])

    def build(self, fields: dict[str, Node], decoder: Decoder) -> CopyRequest | None:
        label: Text | None = Text(DEFAULT_LABEL)
        if "to_anaconda_org_label" in fields:
            label = decoder.text(fields["to_anaconda_org_label"], "'to_anaconda_org_label'")
        if "anaconda_org_packages" not in fields:
            return None
        entries = decoder.sequence(
            fields["anaconda_org_packages"],
            "anaconda_org_packages",
            lambda item: self._entry(item, decoder),
            example_item="package: ...",
        )
        if entries is None or label is None:
            return None
        return CopyRequest(decoder.path, self.action, tuple(entries), label)

    def validate(self, model: CopyRequest) -> list[Problem]:
        problems = []
        seen: set[str] = set()
        for entry in model.anaconda_org_packages:
            for value, message in (
                (entry.package, parse_copy_source(entry.package)[1]),
                (entry.sha256, check_sha256(entry.sha256)),
            ):
                if message:
                    problems.append(
                        Problem(model.path, value.line, value.column, "bad-copy-entry", message)
                    )
            if entry.package in seen:
                problems.append(
                    Problem(
                        model.path,
                        entry.package.line,
                        entry.package.column,
                        "duplicate-entry",
                        f"{str(entry.package)!r} is listed twice; remove this entry (it is "
                        "done once either way).",
                        severity="warning",
                    )
                )
            seen.add(entry.package)
        label = model.to_anaconda_org_label
        message = check_label(label)
        if message:
            problems.append(Problem(model.path, label.line, label.column, "bad-label", message))
        return problems

    def plan(self, model: CopyRequest) -> list[Item]:
        return [
            Item(
                f"{self.action}:{entry.package}",
                self.action,
                str(entry.package),
                f"copy {entry.package} to label {model.to_anaconda_org_label!s} after "
                f"verifying sha256 {entry.sha256[:12]}…",
            )
            for entry in model.anaconda_org_packages
        ]


CFEP3_COPY = Cfep3CopyKind(
    "cfep3_copy",
    "Copy a reviewed artifact built elsewhere into the organisation's channel (CFEP-3).",
)
