"""``unarchive``: make an archived feedstock repository writable again (see ``archive``)."""

from __future__ import annotations

from admin_requests.kinds.archive import ArchiveKind

KIND = ArchiveKind("unarchive", "Make archived feedstocks writable again.", archived=False)
