"""Many files of a branch read in a few calls: git trees, then a blob per existing file.

``GitHubClient.change_files`` needs the current bytes of every file it changes. One
contents read per file makes 2,000 calls for 2,000 new outputs, although a missing file
has nothing to read. A tree listing names every file below a folder and its blob sha at
once, so only files that exist are read, one blob each (and each distinct blob once).

GitHub truncates a recursive listing past 100,000 entries or 7 MB (conda-forge's
feedstock-outputs is about 9.8 MB), and advises the non-recursive listing and one
sub-tree at a time then: that is what ``_blob_shas`` does. Folders every path shares
are walked down one non-recursive listing at a time, so the recursive listing starts
as low as it can (``outputs/``, not the repository's root).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from admin_requests.services.github import TreeEntry

# Up to this many files, a contents read each costs no more than listing trees.
PER_FILE_UP_TO = 4


class TreeReader(Protocol):
    def get_tree(
        self, repo: str, sha: str, *, recursive: bool = False
    ) -> tuple[list[TreeEntry], bool]: ...

    def get_blob(self, repo: str, sha: str) -> bytes: ...


def files_on_branch(
    github: TreeReader, repo: str, branch: str, paths: Iterable[str]
) -> dict[str, bytes | None]:
    """Each path's bytes on ``branch`` (None when it is not a file there).

    The first listing names the branch (GitHub takes a branch for ``tree_sha``), so the
    files are those of its head when read; ``change_files`` reads the head first, and a
    push in between makes its ref update a non-fast-forward, then it reads again.
    """
    wanted = sorted(set(paths))
    shas = _blob_shas(github, repo, branch, wanted)
    blobs: dict[str, bytes] = {}
    found: dict[str, bytes | None] = {}
    for path in wanted:
        blob = shas.get(path)
        if blob is None:
            found[path] = None
            continue
        if blob not in blobs:
            blobs[blob] = github.get_blob(repo, blob)
        found[path] = blobs[blob]
    return found


def _blob_shas(github: TreeReader, repo: str, tree: str, paths: list[str]) -> dict[str, str]:
    """The blob sha of each of ``paths`` (relative to ``tree``) that is a file there."""
    shared = _shared_folder(paths)
    if shared is not None:
        # Every path is below one folder: list this level only, and go down into it.
        sub = _subtrees(github.get_tree(repo, tree)[0]).get(shared)
        if sub is None:
            return {}
        below = _blob_shas(github, repo, sub, [p.split("/", 1)[1] for p in paths])
        return {f"{shared}/{path}": blob for path, blob in below.items()}
    entries, truncated = github.get_tree(repo, tree, recursive=True)
    if not truncated:
        return _blobs(entries, paths)
    entries, _ = github.get_tree(repo, tree)
    found = _blobs(entries, [p for p in paths if "/" not in p])
    by_folder: dict[str, list[str]] = {}
    for path in paths:
        if "/" in path:
            folder, rest = path.split("/", 1)
            by_folder.setdefault(folder, []).append(rest)
    subtrees = _subtrees(entries)
    for folder, rests in by_folder.items():
        if folder in subtrees:
            below = _blob_shas(github, repo, subtrees[folder], rests)
            found.update({f"{folder}/{path}": blob for path, blob in below.items()})
    return found


def _shared_folder(paths: list[str]) -> str | None:
    """The first folder of every path, when they all have the same one."""
    firsts = {path.split("/", 1)[0] if "/" in path else None for path in paths}
    if len(firsts) != 1:
        return None
    return next(iter(firsts))


def _subtrees(entries: Iterable[TreeEntry]) -> Mapping[str, str]:
    return {entry.path: entry.sha for entry in entries if entry.type == "tree"}


def _blobs(entries: Iterable[TreeEntry], paths: list[str]) -> dict[str, str]:
    listed = {entry.path: entry for entry in entries}
    return {
        path: listed[path].sha for path in paths if path in listed and listed[path].type == "blob"
    }
