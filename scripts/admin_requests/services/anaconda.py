"""The anaconda.org API client (plain HTTP through services/http.py).

The calls and payloads are the ones anaconda-client (``binstar_client``) makes:
``GET /dist/{owner}/{package}/{version}/{basename}``, ``POST``/``DELETE
/channels/{owner}/{label}`` with ``{package, version, basename}``, ``POST
/copy/package/{owner}/{package}/{version}/{basename}`` with ``{to_owner, from_channel,
to_channel}``. Auth is the ``Authorization: token ...`` header, set once on the
session: tokens never go on a command line, in a URL or in a log. (The request's token
itself is minted and deleted by credentials/anaconda_token.py.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from admin_requests.config import Settings
from admin_requests.services.http import HttpClient, Retrier

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Distribution:
    """One artifact file as anaconda.org describes it."""

    owner: str
    package: str
    version: str
    basename: str  # "subdir/filename"
    sha256: str
    labels: frozenset[str]


class AnacondaClient:
    """anaconda.org for one run; ``token`` may be None for read-only public calls."""

    def __init__(
        self,
        settings: Settings,
        token: str | None,
        *,
        retrier: Retrier | None = None,
    ) -> None:
        self.settings = settings
        self.retrier = retrier or Retrier()
        self.api = HttpClient(
            settings.anaconda_api_url,
            token=token,
            timeout=settings.http_timeout_seconds,
            retrier=self.retrier,
        )

    def __repr__(self) -> str:
        return f"AnacondaClient({self.settings.anaconda_api_url!r})"

    @staticmethod
    def _path(*parts: str) -> str:
        # basenames hold a "/" between subdir and file name: keep it.
        return "/" + "/".join(quote(part, safe="/") for part in parts)

    def distribution(
        self, owner: str, package: str, version: str, basename: str
    ) -> Distribution | None:
        """The file's metadata (sha256, labels), or None when it is not there."""
        data = self.api.json(
            "GET", self._path("dist", owner, package, version, basename), missing_ok=True
        )
        if data is None:
            return None
        return _distribution(owner, package, version, basename, data)

    def add_label(self, owner: str, label: str, package: str, version: str, basename: str) -> None:
        self._label("POST", owner, label, package, version, basename)

    def remove_label(
        self, owner: str, label: str, package: str, version: str, basename: str
    ) -> None:
        self._label("DELETE", owner, label, package, version, basename)

    def _label(
        self, method: str, owner: str, label: str, package: str, version: str, basename: str
    ) -> None:
        self.api.request(
            method,
            self._path("channels", owner, label),
            json={"package": package, "version": version, "basename": basename},
        )

    def copy(
        self,
        owner: str,
        package: str,
        version: str,
        basename: str,
        *,
        to_owner: str,
        from_label: str = "main",
        to_label: str = "main",
    ) -> None:
        """Copy one file to ``to_owner`` under ``to_label``; ConflictError when it is there."""
        self.api.request(
            "POST",
            self._path("copy", "package", owner, package, version, basename),
            json={"to_owner": to_owner, "from_channel": from_label, "to_channel": to_label},
        )


def _distribution(
    owner: str, package: str, version: str, basename: str, data: dict[str, Any]
) -> Distribution:
    return Distribution(
        owner,
        package,
        version,
        str(data.get("basename", basename)),
        str(data.get("sha256", "")),
        frozenset(str(label) for label in data.get("labels", [])),
    )
