"""Which feedstocks may already upload a name: feedstock-outputs, read a shard at a time.

conda-forge's validation service lets a feedstock upload a package name when the
name's file (``outputs/<a>/<b>/<c>/<name>.json``) lists the feedstock, or when one of
the feedstock's globs in ``feedstock_outputs_autoreg_allowlist.yml`` matches the name
(Python's ``fnmatch``; conda-forge-metadata's ``package_to_feedstock``). A request that
adds a name or a glob to a feedstock therefore conflicts with every other feedstock
that already has the name, or a name the glob matches, by either route.

The registry is read the way a pull-request check can afford: its whole recursive tree
(about 9.8 MB, 32,000 files) is past the 7 MB at which GitHub truncates a recursive
tree, so only the shard folders the request's names and globs fall in are listed, one
call per folder (a glob whose literal stem is shorter than the shard level lists the
folder of shards below its stem, recursively, and one sub-folder at a time when GitHub
truncates that). A matching file's content is read by its blob SHA, once per distinct
SHA: every file that lists only ``m2-binary-packages`` is the same blob.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from admin_requests.validation.names import is_glob

if TYPE_CHECKING:
    from admin_requests.kinds.add_feedstock_output import OutputsConfig
    from admin_requests.services import GitHubClient, Services
    from admin_requests.services.github import TreeEntry

# Distinct registration files read for one glob; past it the message says how many
# matching outputs were left unread (a glob that wide is the reviewer's business anyway).
MAX_FILES_PER_GLOB = 100
_WILDCARD = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class Claim:
    """One reason ``feedstock`` may upload what a request names."""

    feedstock: str
    output: str | None  # a registered output the name is, or the glob matches
    glob: str | None  # a glob of the feedstock's in the allowlist that matches or overlaps
    path: str  # the file in feedstock-outputs that says so


@dataclass
class Claims:
    claims: list[Claim] = field(default_factory=list)
    unread: int = 0  # matching registered outputs whose owners were not read

    def others(self, feedstock: str) -> list[Claim]:
        return [claim for claim in self.claims if claim.feedstock != feedstock]


def shard_folder(value: str, config: OutputsConfig) -> tuple[str, bool]:
    """The folder holding every registration ``value`` can be or match, and whether it
    is one shard (False) or a folder of shards to list recursively (True).

    A name's shard is where ``sharded_path`` puts it. A glob's literal stem (before its
    first ``*``, ``?`` or ``[``) gives the first letters and digits of every name it
    matches, so the folder named by them holds every match.
    """
    stem = _WILDCARD.split(value, maxsplit=1)[0] if is_glob(value) else value
    chars = [c for c in stem.lower() if c.isalnum()][: config.shard_level]
    if not is_glob(value) or _WILDCARD.search(value) is None:
        chars += [config.shard_fill] * (config.shard_level - len(chars))
    below = len(chars) < config.shard_level
    return "/".join([config.outputs_path, *chars]), below


class OutputsRegistry:
    """A read-only view of feedstock-outputs for one run (one per ``Services``)."""

    def __init__(self, services: Services, config: OutputsConfig, allowlist_path: str) -> None:
        self.repository = services.settings.feedstock_outputs_repository
        self.github: GitHubClient = services.github_for(self.repository)
        self.config = config
        self.allowlist_path = allowlist_path
        self._allowlist: dict[str, list[str]] | None = None
        self._folders: dict[str, dict[str, str]] = {}  # parent -> {name: tree sha}
        self._shards: dict[str, dict[str, str]] = {}  # folder -> {output: blob sha}
        self._blobs: dict[str, list[str]] = {}  # blob sha -> feedstocks

    # -- what the request's values meet ------------------------------------------------

    def claims(self, value: str) -> Claims:
        """Every feedstock that may upload ``value`` (a name) or a name it matches (a glob)."""
        found = Claims()
        registered = self._registered(value)
        matching = sorted(
            name for name in registered if name == value or (is_glob(value) and _match(name, value))
        )
        read = 0
        for name in matching:
            blob = registered[name]
            if blob not in self._blobs and read >= MAX_FILES_PER_GLOB:
                found.unread += 1
                continue
            if blob not in self._blobs:
                read += 1
            path = f"{self._folder_of(name)}/{name}.json"
            found.claims += [Claim(f, name, None, path) for f in self._owners(blob)]
        for feedstock, globs in self.allowlist().items():
            for glob in globs:
                if _glob_reaches(glob, value):
                    found.claims.append(Claim(feedstock, None, glob, self.allowlist_path))
        return found

    def allowlist(self) -> dict[str, list[str]]:
        if self._allowlist is None:
            found = self.github.get_file(self.repository, self.allowlist_path)
            self._allowlist = _parse_allowlist(found.content if found else None)
        return self._allowlist

    # -- reading the shards ------------------------------------------------------------

    def _folder_of(self, name: str) -> str:
        return shard_folder(name, self.config)[0]

    def _registered(self, value: str) -> dict[str, str]:
        """Registered outputs (name -> blob sha) in the folder ``value`` falls in."""
        folder, below = shard_folder(value, self.config)
        if folder not in self._shards:
            self._shards[folder] = self._list(folder, below)
        registered = self._shards[folder]
        if not below:
            return registered
        # The same names, seen from their own shards (a later name may fall in one).
        for name, blob in registered.items():
            self._shards.setdefault(self._folder_of(name), {})[name] = blob
        return registered

    def _list(self, folder: str, recursive: bool) -> dict[str, str]:
        sha = self._tree_sha(folder)
        if sha is None:
            return {}  # no shard folder: nothing registered there
        entries, truncated = self.github.get_tree(self.repository, sha, recursive=recursive)
        if truncated:
            # GitHub's advice: the non-recursive listing, then one sub-tree at a time.
            entries, _ = self.github.get_tree(self.repository, sha)
            found = _outputs(e for e in entries if e.type == "blob")
            for entry in entries:
                if entry.type == "tree":
                    sub = f"{folder}/{entry.path}"
                    self._folders.setdefault(folder, {})[entry.path] = entry.sha
                    found.update(self._list(sub, recursive=True))
            return found
        return _outputs(entries)

    def _tree_sha(self, folder: str) -> str | None:
        """The tree SHA of ``folder``, from a listing of its parent (a few dozen entries)."""
        parent, _, name = folder.rpartition("/")
        if parent not in self._folders:
            if parent:
                listed = self.github.list_folder(self.repository, parent)
            else:
                branch = self.github.repository(self.repository).default_branch
                listed, _ = self.github.get_tree(self.repository, branch)
            self._folders[parent] = {e.path: e.sha for e in listed or [] if e.type == "tree"}
        return self._folders[parent].get(name)

    def _owners(self, blob: str) -> list[str]:
        if blob not in self._blobs:
            self._blobs[blob] = _registered_feedstocks(self.github.get_blob(self.repository, blob))
        return self._blobs[blob]


def _outputs(entries: Iterable[TreeEntry]) -> dict[str, str]:
    """Output name -> blob sha of the ``<name>.json`` files among tree entries."""
    found: dict[str, str] = {}
    for entry in entries:
        base = entry.path.rsplit("/", 1)[-1]
        if entry.type == "blob" and base.endswith(".json"):
            found[base.removesuffix(".json")] = entry.sha
    return found


def _match(name: str, glob: str) -> bool:
    # As the validation service: fnmatch.fnmatch, which on its Linux hosts is this.
    return fnmatch.fnmatchcase(name, glob)


def _glob_reaches(glob: str, value: str) -> bool:
    """Whether an allowlisted ``glob`` gives its feedstock ``value`` or names ``value``
    matches: the same glob, a name it matches, or a glob that matches the other's text
    (``libarrow*`` and ``libarrow-c*``). Two globs can overlap in subtler ways; the
    registered outputs they share are found from the shards instead."""
    if glob == value:
        return True
    if not is_glob(value):
        return _match(value, glob)
    return _match(value, glob) or _match(glob, value)


def _registered_feedstocks(content: bytes | None) -> list[str]:
    try:
        feedstocks = json.loads(content)["feedstocks"] if content else []
    except (ValueError, KeyError, TypeError):
        return []  # a broken file is reported when an item writes to it
    return [str(name) for name in feedstocks] if isinstance(feedstocks, list) else []


def _parse_allowlist(content: bytes | None) -> dict[str, list[str]]:
    try:
        data = YAML(typ="safe", pure=True).load(content) if content else None
    except YAMLError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        str(feedstock): [str(glob) for glob in globs]
        for feedstock, globs in data.items()
        if isinstance(globs, list)
    }
