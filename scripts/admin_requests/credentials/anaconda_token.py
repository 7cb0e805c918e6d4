"""anaconda.org tokens that live at most 15 minutes and carry only the kind's scopes.

The organisation's long-lived credential is used for one call, ``POST /authentications``
(as anaconda-client's ``authenticate`` does, with ``max-age``), and cleared right
after. Every anaconda.org call of the request uses the minted token, which is deleted
with ``DELETE /authentications`` (the calling token removes itself) when it is done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import requests

from admin_requests.credentials.http import json_object, send
from admin_requests.credentials.ledger import CredentialLedger, CredentialRecord, utc_now
from admin_requests.credentials.redact import Masker, Secret
from admin_requests.credentials.tokens import MintedToken
from admin_requests.errors import AnacondaTokenError, CredentialScopeError
from admin_requests.services.http import Retrier

log = logging.getLogger(__name__)

# Scopes that would let a minted token mint more tokens or act as the account.
FORBIDDEN_SCOPES = frozenset({"all", "auth"})


class AnacondaTokens:
    def __init__(
        self,
        *,
        api_url: str,
        session: requests.Session,
        masker: Masker,
        ledger: CredentialLedger,
        max_age_seconds: int,
        timeout: float = 30.0,
        clock: Callable[[], datetime] = utc_now,
        retrier: Retrier | None = None,
    ) -> None:
        self._retrier = retrier
        self.api_url = api_url.rstrip("/")
        self._session = session
        self.masker = masker
        self.ledger = ledger
        self._max_age = max_age_seconds
        self._timeout = timeout
        self._clock = clock

    def mint(self, credential: Secret, scopes: tuple[str, ...], label: str) -> AnacondaToken:
        """Mint a scoped token; ``credential`` is cleared whatever happens."""
        try:
            bad = sorted(set(scopes) & FORBIDDEN_SCOPES)
            if bad or not scopes:
                raise CredentialScopeError(
                    f"anaconda.org scopes {list(scopes)!r} for {label!r} are not allowed "
                    "(empty, or including 'all'/'auth'); ask for the narrowest scopes, e.g. "
                    "'api:write'"
                )
            url = f"{self.api_url}/authentications"
            response = send(
                self._session,
                "POST",
                url,
                error=AnacondaTokenError,
                timeout=self._timeout,
                retrier=self._retrier,
                headers={
                    "Authorization": f"token {credential.reveal()}",
                    "Accept": "application/json",
                },
                json={
                    "scopes": list(scopes),
                    "note": f"admin-requests {label}",
                    "max-age": self._max_age,
                    "strength": "strong",
                    "fail_if_exists": False,
                },
                creates_credential=True,
            )
        finally:
            # Dropped right after its one use, so nothing later in the job can reach it.
            credential.clear()
        if response.status_code not in (200, 201):
            raise AnacondaTokenError(
                f"anaconda.org refused to mint a token with scopes {list(scopes)!r} "
                f"(POST {url} -> {response.status_code}); check that the organisation "
                "credential in the vault is current and may create tokens ('auth' scope)"
            )
        value = json_object(response, AnacondaTokenError).get("token")
        if not isinstance(value, str) or not value:
            raise AnacondaTokenError(f"POST {url} answered without a token")
        secret = self.masker.register(value)
        record = self.ledger.created(
            "anaconda-token",
            "scopes=" + " ".join(scopes),
            label,
            lifetime=timedelta(seconds=self._max_age),
        )
        log.info("minted an anaconda.org token for %s: %s", label, record.scope)
        return AnacondaToken(secret, record, self)

    def delete_authentication(self, token: Secret, record: CredentialRecord) -> None:
        """``DELETE /authentications`` with the token itself: it removes itself."""
        url = f"{self.api_url}/authentications"
        response = send(
            self._session,
            "DELETE",
            url,
            error=AnacondaTokenError,
            timeout=self._timeout,
            retrier=self._retrier,
            headers={"Authorization": f"token {token.reveal()}"},
        )
        # 401: already expired or removed.
        if response.status_code not in (200, 201, 204, 401):
            raise AnacondaTokenError(
                f"anaconda.org did not delete the token for {record.label!r} "
                f"(DELETE {url} -> {response.status_code}); it expires by itself at "
                f"{record.expires_at.isoformat()}"
            )


class AnacondaToken(MintedToken):
    """A scoped anaconda.org token; revoking it removes it (``DELETE /authentications``)."""

    ENDED = "deleted the anaconda.org token for {label}"

    def __init__(self, secret: Secret, record: CredentialRecord, issuer: AnacondaTokens) -> None:
        super().__init__(secret, record, issuer.ledger, issuer.masker)
        self._issuer = issuer

    def _end(self) -> None:
        self._issuer.delete_authentication(self.secret, self.record)
