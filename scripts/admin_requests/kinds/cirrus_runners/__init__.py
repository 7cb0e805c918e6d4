"""``cirrus_runners``: grant or revoke a feedstock's Cirrus runners (see ``..ci_resources``)."""

from __future__ import annotations

from admin_requests.kinds.ci_resources import CiResourceKind

KIND = CiResourceKind(
    "cirrus_runners", "Grant a feedstock Cirrus runners.", resource="Cirrus runners"
)
