"""``cfep3_copy``: copy an approved artifact from another channel to the organisation's (CFEP-3)."""

from __future__ import annotations

import contextlib
import functools
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from ruamel.yaml.nodes import MappingNode, Node

from admin_requests.access import Access
from admin_requests.errors import ConflictError, UnvalidatedModelError
from admin_requests.kinds.contract import Item, Outcome, RequestKind, RequestModel
from admin_requests.kinds.execution import check_online, guarded
from admin_requests.kinds.layout import EntryLayout, ListEntries
from admin_requests.validation.fields import Decoder, Text, describe
from admin_requests.validation.names import check_label, check_sha256, parse_package_file
from admin_requests.validation.problems import Problem

if TYPE_CHECKING:
    from admin_requests.services import Services
    from admin_requests.services.anaconda import Distribution

PACKAGE_SPEC_FORM = "channel[/label/<label>]/subdir/name-version-build.conda"
DEFAULT_LABEL = "main"
ENTRY_EXAMPLE = (
    "anaconda_org_packages:\n"
    "  - package: some-channel/label/some-label/linux-64/foo-1.0-h0_0.conda\n"
    "    sha256: <64 hexadecimal characters>"
)
ENTRIES = ListEntries("anaconda_org_packages", "package")


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


@dataclass(frozen=True)
class CopyParams:
    """Where the file is copied from and to, and the digest it must have."""

    channel: str  # the source channel
    label: str  # the source label
    name: str
    version: str
    basename: str  # subdir/name-version-build.ext
    sha256: str  # lower case
    to_label: str  # the label it gets on the organisation's channel


class Cfep3CopyKind(RequestKind[CopyRequest, CopyParams]):
    model_type: ClassVar[type[RequestModel]] = CopyRequest
    required_keys: ClassVar[tuple[str, ...]] = ("anaconda_org_packages",)
    item_entries: ClassVar[EntryLayout | None] = ENTRIES
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

    def plan(self, model: CopyRequest) -> list[Item[CopyParams]]:
        return [
            Item(
                ENTRIES.item_id(self.action, entry.package),
                self.action,
                str(entry.package),
                f"copy {entry.package} to label {model.to_anaconda_org_label!s} after "
                f"verifying sha256 {entry.sha256[:12]}…",
                _params(entry, model.to_anaconda_org_label),
            )
            for entry in model.anaconda_org_packages
        ]

    def access(self, model: CopyRequest, services: Services) -> Access:
        return Access(anaconda_scopes=("api:read", "api:write"))

    def preflight(self, model: CopyRequest, services: Services) -> list[Problem]:
        problems: list[Problem] = []
        for entry in model.anaconda_org_packages:
            params = _params(entry, model.to_anaconda_org_label)
            problems += check_online(
                model.path,
                entry.package,
                functools.partial(_source_problem, services, params),
                "bad-copy-source",
            )
        return problems

    def execute(self, item: Item[CopyParams], services: Services) -> Outcome:
        return guarded(
            item.description,
            lambda: self._copy(item, services),
            not_found=f"{item.target!r} was not found; check the channel, label and file name.",
        )

    def _copy(self, item: Item[CopyParams], services: Services) -> Outcome:
        p, channel, anaconda = item.params, services.settings.channel, services.anaconda
        # The source is verified first, every time: a file already on the channel with
        # the requested sha256 is no proof that the reviewed source exists as requested.
        problem = _source_problem(services, p)
        if problem is not None:
            return Outcome.failed(problem)
        target = anaconda.distribution(channel, p.name, p.version, p.basename)
        if target is not None:
            return self._already_there(item, target, services)
        # A conflict means an earlier attempt copied it but its answer was lost: verify below.
        with contextlib.suppress(ConflictError):
            anaconda.copy(
                p.channel,
                p.name,
                p.version,
                p.basename,
                to_owner=channel,
                from_label=p.label,
                to_label=p.to_label,
            )
        copied = anaconda.distribution(channel, p.name, p.version, p.basename)
        if copied is None:
            return Outcome.retry(f"{p.basename} was copied but is not visible on {channel!r} yet")
        if not same_sha256(copied.sha256, p.sha256):
            return Outcome.failed(_copied_wrong_file(item, copied, channel))
        return Outcome.done(
            f"copied {item.target} to {channel}/label/{p.to_label}; sha256 verified"
        )

    def _already_there(
        self, item: Item[CopyParams], target: Distribution, services: Services
    ) -> Outcome:
        p, channel = item.params, services.settings.channel
        if not same_sha256(target.sha256, p.sha256):
            return Outcome.failed(
                f"{channel!r} already has a different {p.basename!r} (sha256 "
                f"{target.sha256!r}, the request says {p.sha256!r}); nothing was copied. "
                "Check the sha256 in the request; a file on the channel is never replaced."
            )
        if p.to_label in target.labels:
            return Outcome.done(f"{p.basename} is already on {channel!r}", changed=False)
        services.anaconda.add_label(channel, p.to_label, p.name, p.version, p.basename)
        return Outcome.done(f"{p.basename} was on {channel!r}; added label {p.to_label!r}")


def same_sha256(actual: str, expected: str) -> bool:
    """Compare digests in constant time, so timing says nothing about how much matched."""
    return hmac.compare_digest(actual.strip().lower().encode(), expected.strip().lower().encode())


def _params(entry: CopyEntry, to_label: str) -> CopyParams:
    source, problem = parse_copy_source(entry.package)
    package, problem = (
        parse_package_file(f"{source.subdir}/{source.filename}") if source else (None, problem)
    )
    if source is None or package is None:
        raise UnvalidatedModelError(
            f"{str(entry.package)!r} is not a package spec ({problem}); validate first"
        )
    return CopyParams(
        channel=source.channel,
        label=source.label,
        name=package.name,
        version=package.version,
        basename=package.basename,
        sha256=str(entry.sha256).lower(),
        to_label=str(to_label),
    )


def _source_problem(services: Services, p: CopyParams) -> str | None:
    """Why the source file cannot be copied as asked, or None when it can."""
    where = f"{p.channel}/label/{p.label}/{p.basename}"
    source = services.anaconda.distribution(p.channel, p.name, p.version, p.basename)
    if source is None:
        return f"{where!r} does not exist; check the channel and file name."
    if p.label not in source.labels:
        return (
            f"{p.basename!r} in {p.channel!r} does not have the label {p.label!r} "
            f"(it has {sorted(source.labels)}); check the label in the request."
        )
    if not same_sha256(source.sha256, p.sha256):
        return (
            f"the sha256 of {where!r} is {source.sha256!r}, not {p.sha256!r} as the "
            "request says; nothing was copied. Check that the file is the one reviewed."
        )
    return None


def _copied_wrong_file(item: Item[CopyParams], copied: Distribution, channel: str) -> str:
    return (
        f"after copying {item.target}, {channel!r} has sha256 {copied.sha256!r} for it, not "
        f"{item.params.sha256!r}; ask core to remove that file from {channel!r} now."
    )


KIND = Cfep3CopyKind(
    "cfep3_copy",
    "Copy a reviewed artifact built elsewhere into the organisation's channel (CFEP-3).",
)
