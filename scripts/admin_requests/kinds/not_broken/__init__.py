"""``not_broken``: remove the ``broken`` label from package artifacts (see ``broken``)."""

from __future__ import annotations

from admin_requests.kinds.broken import PackageLabelKind

KIND = PackageLabelKind(
    "not_broken",
    "Undo 'broken': remove the broken label so the artifacts are installable again.",
    add_label=False,
)
