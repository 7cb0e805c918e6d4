"""The anaconda.org API client (plain HTTP through services/http.py).

The calls and payloads are the ones anaconda-client (``binstar_client``) makes:
``GET /dist/{owner}/{package}/{version}/{basename}``, ``POST``/``DELETE
/channels/{owner}/{label}`` with ``{package, version, basename}``, ``POST
/copy/package/{owner}/{package}/{version}/{basename}`` with ``{to_owner, from_channel,
to_channel}``, ``POST /authentications`` and ``DELETE /authentications``. Auth is the
``Authorization: token ...`` header, set once on the session: tokens never go on a
command line, in a URL or in a log.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from admin_requests.config import Settings
from admin_requests.errors import PermanentError
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


@dataclass(frozen=True)
class MintedToken:
    token: str = field(repr=False)
    expires_at: float | None
    scopes: tuple[str, ...]


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

        # The channel CDN is public: no token is sent there.
        self.cdn = HttpClient(
            settings.channel_url, timeout=settings.http_timeout_seconds, retrier=self.retrier
        )

    def __repr__(self) -> str:
        return f"AnacondaClient({self.settings.anaconda_api_url!r})"

    def channel_file_sha256(self, channel: str, label: str, basename: str) -> str | None:
        """The sha256 of the file as the channel serves it, or None when it is not served."""
        path = (
            f"/{channel}/{basename}" if label == "main" else f"/{channel}/label/{label}/{basename}"
        )
        response = self.cdn.request("GET", self._path(path.lstrip("/")), missing_ok=True)
        if response is None:
            return None
        return hashlib.sha256(response.content).hexdigest()

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

    def mint_token(self, scopes: tuple[str, ...], max_age_seconds: int, note: str) -> MintedToken:
        """A new token with ``scopes`` that expires after ``max_age_seconds``."""
        data = self.api.json(
            "POST",
            "/authentications",
            json={
                "scopes": list(scopes),
                "max-age": max_age_seconds,
                "note": note,
                "created_with": "admin-requests",
            },
        )
        token = data.get("token") if isinstance(data, dict) else None
        if not token:
            raise PermanentError(
                "anaconda.org did not return a token when asked for one; check that the "
                "token used to mint has the 'all' or 'auth' scope."
            )
        return MintedToken(str(token), data.get("expires_at"), tuple(scopes))

    def remove_token(self) -> None:
        """Remove the token this client authenticates with (at the end of a job)."""
        self.api.request("DELETE", "/authentications")


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
