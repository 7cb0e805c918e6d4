"""Git trees of a fake repository's files, as GitHub's Git Data API serves them.

FakeRepo keeps its files as a flat ``path -> bytes`` mapping; this module derives the
folders from it with the SHAs git itself would give them (a tree object is the sorted
``<mode> <name>\\0<sha>`` entries), so a tree SHA from a contents listing leads to the
same folder in ``GET /git/trees/{sha}``, and it changes when a file below it does.

``GET /git/trees/{sha}?recursive=1`` is truncated as GitHub documents it: past
``RECURSIVE_MAX_ENTRIES`` entries or ``RECURSIVE_MAX_BYTES`` of answer (100,000 and
7 MB; conda-forge's feedstock-outputs is about 9.8 MB recursively, so it truncates).
Tests lower the limits to reach ``truncated: true`` with a few files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

RECURSIVE_MAX_ENTRIES = 100_000
RECURSIVE_MAX_BYTES = 7 * 1024 * 1024

FILE_MODE, TREE_MODE = "100644", "040000"


def blob_sha(content: bytes) -> str:
    header = f"blob {len(content)}\0".encode()
    return hashlib.sha1(header + content, usedforsecurity=False).hexdigest()


@dataclass
class Folder:
    path: str  # "" for the root
    files: dict[str, bytes] = field(default_factory=dict)  # name -> content
    folders: dict[str, Folder] = field(default_factory=dict)  # name -> folder
    sha: str = ""


def folders(files: Mapping[str, bytes]) -> dict[str, Folder]:
    """Every folder of ``files`` by path ("" the root), each with its git tree SHA."""
    root = Folder("")
    for path, content in files.items():
        *parents, name = path.split("/")
        folder = root
        for part in parents:
            below = f"{folder.path}/{part}" if folder.path else part
            folder = folder.folders.setdefault(part, Folder(below))
        folder.files[name] = content
    found: dict[str, Folder] = {}
    _hash(root, found)
    return found


def _hash(folder: Folder, found: dict[str, Folder]) -> str:
    entries = [(name, FILE_MODE, blob_sha(content)) for name, content in folder.files.items()]
    entries += [(name, TREE_MODE, _hash(sub, found)) for name, sub in folder.folders.items()]
    # git orders a tree by name, a folder's name compared as if it ended in '/'.
    entries.sort(key=lambda e: e[0] + ("/" if e[1] == TREE_MODE else ""))
    body = b"".join(
        f"{mode.lstrip('0')} {name}".encode() + b"\0" + bytes.fromhex(sha)
        for name, mode, sha in entries
    )
    folder.sha = hashlib.sha1(
        f"tree {len(body)}\0".encode() + body, usedforsecurity=False
    ).hexdigest()
    found[folder.path] = folder
    return folder.sha


def entries(folder: Folder, *, recursive: bool, url: str) -> tuple[list[dict[str, object]], bool]:
    """The ``tree`` array of ``folder`` and whether it was truncated."""
    listed: list[dict[str, object]] = []
    size = 0
    for entry in _walk(folder, "", recursive=recursive, url=url):
        size += len(json.dumps(entry))
        if recursive and (len(listed) >= RECURSIVE_MAX_ENTRIES or size > RECURSIVE_MAX_BYTES):
            return listed, True
        listed.append(entry)
    return listed, False


def _walk(folder: Folder, prefix: str, *, recursive: bool, url: str) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    names = sorted([*folder.files, *folder.folders])
    for name in names:
        path = prefix + name
        if name in folder.files:
            sha = blob_sha(folder.files[name])
            out.append(
                {
                    "path": path,
                    "mode": FILE_MODE,
                    "type": "blob",
                    "sha": sha,
                    "size": len(folder.files[name]),
                    "url": f"{url}/git/blobs/{sha}",
                }
            )
            continue
        sub = folder.folders[name]
        out.append(
            {
                "path": path,
                "mode": TREE_MODE,
                "type": "tree",
                "sha": sub.sha,
                "url": f"{url}/git/trees/{sub.sha}",
            }
        )
        if recursive:
            out += _walk(sub, path + "/", recursive=True, url=url)
    return out
