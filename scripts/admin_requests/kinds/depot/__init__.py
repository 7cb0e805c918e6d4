"""``depot``: grant or revoke a feedstock's Depot runners (see ``..ci_resources``)."""

from __future__ import annotations

from admin_requests.kinds.ci_resources import CiResourceKind

KIND = CiResourceKind("depot", "Grant a feedstock Depot runners.", resource="Depot runners")
