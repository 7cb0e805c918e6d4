"""``cirun``: grant or revoke a feedstock's Cirun runners (see ``..ci_resources``)."""

from __future__ import annotations

from admin_requests.kinds.ci_resources import CirunKind

KIND = CirunKind(
    "cirun",
    "Grant a feedstock self-hosted GPU/large runners through Cirun.",
    resource="cirun runners",
)
