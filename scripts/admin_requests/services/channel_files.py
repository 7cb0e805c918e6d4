"""Each package's files on anaconda.org, read once per run and shared by its threads.

``broken`` and ``not_broken`` decide per file from its labels; reading them file by
file (``GET /dist/...``) costs one call each, while one ``GET /package/<owner>/<name>``
(``AnacondaClient.package_files``) answers for every file of the package. A
``ChannelFiles`` keeps those answers for one run: the first item of a package reads its
list, the others (in any of the item threads, in any request of the run) wait for that
read and use it. Reads of different packages do not wait for each other.

It holds public data only (file lists and labels, which anaconda.org serves to
anyone), never a client or a token: the caller passes its own client in, so requests
with credentials of their own can share one ``ChannelFiles`` without sharing
credentials. After a label write the caller records it (``labelled``), so the list stays
what the channel has; after a write that failed (it may or may not have happened) it
``forget``s the package, and the next item reads it again.

A run holds the queue's lease, so no other run writes these labels meanwhile. A label
someone changes by hand during the run is seen by the next run; the writes are
idempotent, so a stale label costs at most one write that changes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Protocol

from admin_requests.services.anaconda import Distribution


class PackageReads(Protocol):
    """anaconda.org's read of a package's files (AnacondaClient has it)."""

    def package_files(self, owner: str, package: str) -> list[Distribution] | None: ...


@dataclass
class _Listing:
    lock: threading.Lock = field(default_factory=threading.Lock)
    read: bool = False
    files: dict[str, Distribution] | None = None  # by basename; None: no such package


class ChannelFiles:
    """See the module docstring. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listings: dict[tuple[str, str], _Listing] = {}
        self.reads = 0  # package reads made (one HTTP call each, before retries)

    def file(
        self, client: PackageReads, owner: str, package: str, basename: str
    ) -> Distribution | None:
        """``basename`` as the channel lists it, or None when it is not there."""
        listing = self._listing(client, owner, package)
        with listing.lock:
            return None if listing.files is None else listing.files.get(basename)

    def missing(
        self, client: PackageReads, owner: str, package: str, basenames: Collection[str]
    ) -> list[str] | None:
        """Which of ``basenames`` the package lacks (one read for all); None when the
        channel has no such package at all."""
        listing = self._listing(client, owner, package)
        with listing.lock:
            if listing.files is None:
                return None
            return [b for b in basenames if b not in listing.files]

    def has_package(self, client: PackageReads, owner: str, package: str) -> bool:
        """Whether the channel has the package at all (its list, read once)."""
        listing = self._listing(client, owner, package)
        with listing.lock:
            return listing.files is not None

    def labelled(self, file: Distribution) -> None:
        """Record ``file`` (with its labels after a write) in its package's list."""
        with self._lock:
            listing = self._listings.get((file.owner, file.package))
        if listing is None:
            return
        with listing.lock:
            if listing.files is not None:
                listing.files[file.basename] = file

    def forget(self, owner: str, package: str) -> None:
        """Read the package's list again when next asked (after a write that failed)."""
        with self._lock:
            self._listings.pop((owner, package), None)

    def _listing(self, client: PackageReads, owner: str, package: str) -> _Listing:
        """The package's listing, read now if no thread has read it yet.

        A read that raises leaves the listing unread, so the next item tries again.
        """
        with self._lock:
            listing = self._listings.setdefault((owner, package), _Listing())
        with listing.lock:
            if not listing.read:
                with self._lock:
                    self.reads += 1
                found = client.package_files(owner, package)
                listing.files = None if found is None else {f.basename: f for f in found}
                listing.read = True
        return listing
