"""``blacksmith``: grant or revoke a feedstock's Blacksmith runners (see ``..ci_resources``)."""

from __future__ import annotations

from admin_requests.kinds.ci_resources import CiResourceKind

KIND = CiResourceKind(
    "blacksmith", "Grant a feedstock Blacksmith's faster runners.", resource="Blacksmith runners"
)
