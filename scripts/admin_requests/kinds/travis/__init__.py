"""``travis``: enable Travis CI builds for a feedstock (see ``..ci_resources``)."""

from __future__ import annotations

from admin_requests.kinds.ci_resources import CiResourceKind

KIND = CiResourceKind(
    "travis", "Enable Travis CI builds for a feedstock.", resource="Travis CI", can_revoke=False
)
