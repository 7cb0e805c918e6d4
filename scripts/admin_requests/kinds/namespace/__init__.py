"""``namespace``: grant or revoke a feedstock's Namespace runners (see ``..ci_resources``)."""

from __future__ import annotations

from admin_requests.kinds.ci_resources import CiResourceKind

KIND = CiResourceKind(
    "namespace", "Grant a feedstock Namespace runners.", resource="Namespace runners"
)
