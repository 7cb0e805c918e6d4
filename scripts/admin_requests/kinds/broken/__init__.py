"""``broken`` / ``not_broken``: add or remove the ``broken`` label on package artifacts.

What a file's labels are is read once per package and run, not once per file: one
``GET /package/<owner>/<name>`` lists every file of the package with its labels
(``AnacondaClient.package_files``), kept in the run's ``services.channel_files`` and
shared by the item threads and the requests of the run. Each item then decides from
that list and writes its one label (``POST``/``DELETE /channels/<owner>/broken``); a
request of N files of one package makes one read and at most N writes, and a re-run
with everything in place makes only the read. The items stay independent (a pool of
``parallel_items``; not ``batched``): each keeps the queue's per-item guarantees (the
lease and credential checks before it starts, its own outcome and retry).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from ruamel.yaml.nodes import Node

from admin_requests.access import Access
from admin_requests.errors import ServiceError, UnvalidatedModelError
from admin_requests.kinds.contract import Item, Outcome, RequestKind, RequestModel, check_each
from admin_requests.kinds.execution import guarded, unchecked_online
from admin_requests.kinds.layout import EntryLayout, ListEntries
from admin_requests.validation.fields import Decoder, Text
from admin_requests.validation.names import parse_package_file
from admin_requests.validation.problems import Problem

if TYPE_CHECKING:
    from admin_requests.services import Services

log = logging.getLogger(__name__)

BROKEN_LABEL = "broken"
ENTRIES = ListEntries("packages")
# The rebuild: an empty commit on the repodata-patches feedstock's branch, whose push
# starts its build (conda-build.yml runs on push to main), with upstream's message.
RESYNC_MESSAGE = "resync repo data for broken/not-broken packages"
# Upstream names every package on the message's one line; a run of hundreds would make
# a line of tens of kilobytes, so past a few dozen the first line counts the rest, and
# the body lists them (bounded too: the request files and the run's summary have all).
SUBJECT_PACKAGES = 30
BODY_PACKAGES = 500


@dataclass(frozen=True)
class PackageLabelRequest(RequestModel):
    packages: tuple[Text, ...]


@dataclass(frozen=True)
class LabelParams:
    """One artifact on the channel, the way anaconda.org's API names it."""

    name: str
    version: str
    basename: str  # subdir/name-version-build.ext


def _package_problem(value: str) -> str | None:
    return parse_package_file(value)[1]


class PackageLabelKind(RequestKind[PackageLabelRequest, LabelParams]):
    model_type: ClassVar[type[RequestModel]] = PackageLabelRequest
    required_keys: ClassVar[tuple[str, ...]] = ("packages",)
    item_entries: ClassVar[EntryLayout | None] = ENTRIES
    # Each item is one file's label on anaconda.org: independent, and safe at once.
    parallel_items: ClassVar[int] = 8

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

    def plan(self, model: PackageLabelRequest) -> list[Item[LabelParams]]:
        verb = "add the 'broken' label to" if self.add_label else "remove the 'broken' label from"
        return [
            Item(
                ENTRIES.item_id(self.action, package),
                self.action,
                str(package),
                f"{verb} {package}",
                _params(package),
            )
            for package in model.packages
        ]

    def access(self, model: PackageLabelRequest, services: Services) -> Access:
        # Labels on anaconda.org only; the rebuild is the run's follow-up, not this request's.
        return Access(anaconda_scopes=("api:read", "api:write"))

    def follow_up_key(self) -> str:
        # broken and not_broken in one run: one rebuild covers both.
        return "broken/not_broken"

    def follow_up_access(self, done: list[Item[LabelParams]], services: Services) -> Access:
        # One commit to the repodata-patches feedstock, which the job's own GITHUB_TOKEN
        # (scoped to this repository) could never make.
        return Access(
            github_repositories=(services.settings.repodata_patches_repository,),
            github_permissions={"contents": "write"},
        )

    def preflight(self, model: PackageLabelRequest, services: Services) -> list[Problem]:
        """Every file is on the channel: one read per package (the run's file lists)."""
        by_package: dict[str, list[tuple[Text, LabelParams]]] = {}
        for package in model.packages:
            params = _params(package)
            by_package.setdefault(params.name, []).append((package, params))
        problems: list[Problem] = []
        for name, entries in by_package.items():
            problems += _preflight_package(model.path, name, entries, services)
        return problems

    def execute(self, item: Item[LabelParams], services: Services) -> Outcome:
        channel = services.settings.channel
        return guarded(
            item.description,
            lambda: self._label(item.params, services),
            not_found=_not_on_channel(item.params, channel),
        )

    def _label(self, p: LabelParams, services: Services) -> Outcome:
        channel = services.settings.channel
        files = services.channel_files
        dist = files.file(services.anaconda, channel, p.name, p.basename)
        if dist is None:
            known = files.has_package(services.anaconda, channel, p.name)
            return Outcome.failed(_not_on_channel(p, channel, package_known=known))
        if (BROKEN_LABEL in dist.labels) == self.add_label:
            state = "already has" if self.add_label else "already lacks"
            return Outcome.done(f"{p.basename} {state} the broken label", changed=False)
        try:
            if self.add_label:
                services.anaconda.add_label(channel, BROKEN_LABEL, p.name, p.version, p.basename)
            else:
                services.anaconda.remove_label(channel, BROKEN_LABEL, p.name, p.version, p.basename)
        except Exception:
            # It may or may not have happened: the package's list is read again.
            files.forget(channel, p.name)
            raise
        if self.add_label:
            files.labelled(dist.labelled(dist.labels | {BROKEN_LABEL}))
            return Outcome.done(f"{p.basename} is now labelled broken")
        files.labelled(dist.labelled(dist.labels - {BROKEN_LABEL}))
        return Outcome.done(f"{p.basename} is no longer labelled broken")

    def after_run(self, done: list[Item[LabelParams]], services: Services) -> None:
        """Rebuild the repodata patches once for the whole run, if any label was handled.

        As upstream does, with an empty commit on the repodata-patches feedstock's
        branch: the feedstock has no workflow to start by hand, its build runs on every
        push to main. Items that were already labelled count too: a run that set a
        label but stopped before this step leaves it to the next one. Raises
        ServiceError when the commit cannot be made; the queue reports it (the labels
        themselves are set and stay set).
        """
        if not done:
            return None
        settings = services.settings
        repository = settings.repodata_patches_repository
        packages = list(dict.fromkeys(item.params.basename for item in done))
        commit = services.github_for(repository).commit_to_branch(
            repository, settings.repodata_patches_branch, rebuild_message(packages)
        )
        log.info(
            "committed %s to %s (%s) to rebuild the repodata patches for %d packages",
            commit.sha[:12],
            repository,
            settings.repodata_patches_branch,
            len(packages),
        )
        return None


def rebuild_message(packages: list[str]) -> str:
    """Upstream's commit message, which names the packages; long lists are counted.

    Up to ``SUBJECT_PACKAGES`` it is upstream's one line exactly. Beyond, the line names
    the first ones and counts the others, which the body lists (the first
    ``BODY_PACKAGES`` of them, then a count).
    """
    if len(packages) <= SUBJECT_PACKAGES:
        return f"{RESYNC_MESSAGE} {' '.join(packages)}"
    named, others = packages[:SUBJECT_PACKAGES], packages[SUBJECT_PACKAGES:]
    subject = f"{RESYNC_MESSAGE} {' '.join(named)} and {len(others)} more"
    listed = others[:BODY_PACKAGES]
    rest = len(others) - len(listed)
    body = "\n".join(listed) + (f"\n... and {rest} more" if rest else "")
    return f"{subject}\n\n{body}\n"


def _params(value: str) -> LabelParams:
    package, problem = parse_package_file(value)
    if package is None:
        raise UnvalidatedModelError(f"{value!r} is not a package file ({problem}); validate first")
    return LabelParams(package.name, package.version, package.basename)


def _not_on_channel(p: LabelParams, channel: str, *, package_known: bool = True) -> str:
    if not package_known:
        return (
            f"{p.basename!r} is not on the {channel!r} channel: it has no package named "
            f"{p.name!r}; check the package name in the request."
        )
    return (
        f"{p.basename!r} is not on the {channel!r} channel; check the subdir, version and "
        "build string in the request."
    )


def _preflight_package(
    path: str, name: str, entries: Sequence[tuple[Text, LabelParams]], services: Services
) -> list[Problem]:
    """The problems of one package's entries, from one read of its file list."""
    channel = services.settings.channel
    try:
        missing = services.channel_files.missing(
            services.anaconda, channel, name, [params.basename for _, params in entries]
        )
    except ServiceError as error:
        return [unchecked_online(path, where, error) for where, _ in entries]
    absent = {params.basename for _, params in entries} if missing is None else set(missing)
    return [
        Problem(
            path,
            where.line,
            where.column,
            "no-such-package",
            _not_on_channel(params, channel, package_known=missing is not None),
        )
        for where, params in entries
        if params.basename in absent
    ]


KIND = PackageLabelKind(
    "broken",
    "Mark package artifacts as broken so solvers stop picking them (files stay downloadable).",
    add_label=True,
)
