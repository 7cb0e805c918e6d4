"""``unarchive_branch``: bring back a branch from its ``<branch>_archived`` tag."""

from __future__ import annotations

from admin_requests.kinds.archive_branch import ArchiveBranchKind

KIND = ArchiveBranchKind(
    "unarchive_branch",
    "Bring back an archived branch from its '<branch>_archived' tag.",
    archive=False,
)
