"""anaconda.org tokens that live at most 15 minutes, carry only the kind's scopes and
belong to the organisation.

They are minted the way anaconda-client mints them (``anaconda auth --create --org``):
``Binstar.authenticate(username, password, ...)``, a ``POST /authentications`` with
basic auth and ``{scopes, note, note_url, hostname, user, max-age, strength,
fail-if-exists}``, where ``user`` is the organisation the token acts for. anaconda.org
creates tokens for a username and password, not for another token, so the vault holds
the machine account's username and password (docs/security.md). Both are read just in
time and cleared right after this one call. Every anaconda.org call of the request uses
the minted token, which ``Binstar.remove_authentication()`` deletes (``DELETE
/authentications``: the calling token removes itself) when the request ends.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from binstar_client import errors as binstar_errors

from admin_requests.credentials.ledger import CredentialLedger, CredentialRecord, utc_now
from admin_requests.credentials.redact import Masker, Secret
from admin_requests.credentials.tokens import MintedToken
from admin_requests.errors import AnacondaTokenError, CredentialScopeError, ServiceError
from admin_requests.services.anaconda import binstar, binstar_status
from admin_requests.services.http import Retrier

log = logging.getLogger(__name__)

# Scopes that would let a minted token mint more tokens or act as the account.
FORBIDDEN_SCOPES = frozenset({"all", "auth"})


class AnacondaTokens:
    def __init__(
        self,
        *,
        api_url: str,
        organisation: str,
        masker: Masker,
        ledger: CredentialLedger,
        max_age_seconds: int,
        timeout: float = 30.0,
        clock: Callable[[], datetime] = utc_now,
        retrier: Retrier | None = None,
    ) -> None:
        self._retrier = retrier or Retrier()
        self.api_url = api_url.rstrip("/")
        self.organisation = organisation
        self.masker = masker
        self.ledger = ledger
        self._max_age = max_age_seconds
        self._timeout = timeout
        self._clock = clock

    def mint(
        self, username: Secret, password: Secret, scopes: tuple[str, ...], label: str
    ) -> AnacondaToken:
        """Mint a scoped token for the organisation; both secrets are cleared whatever happens."""
        url = f"{self.api_url}/authentications"
        try:
            bad = sorted(set(scopes) & FORBIDDEN_SCOPES)
            if bad or not scopes:
                raise CredentialScopeError(
                    f"anaconda.org scopes {list(scopes)!r} for {label!r} are not allowed "
                    "(empty, or including 'all'/'auth'); ask for the narrowest scopes, e.g. "
                    "'api:write'"
                )
            user, secret = username.reveal(), password.reveal()
            # requests sends these as one basic-auth header: mask its value as well.
            self.masker.register(base64.b64encode(f"{user}:{secret}".encode("latin1")).decode())
            client = binstar(
                self.api_url,
                None,
                timeout=self._timeout,
                retrier=self._retrier,
                creates_credential=True,
            )
            try:
                value = client.authenticate(
                    user,
                    secret,
                    f"admin-requests {label}",
                    for_user=self.organisation,
                    scopes=list(scopes),
                    max_age=self._max_age,
                    strength="strong",
                    fail_if_already_exists=False,
                )
            finally:
                # authenticate() leaves the new token on the session's headers; this
                # session is not used again.
                client.session.close()
        except binstar_errors.BinstarError as error:
            # The status only: an answer to this call is not quoted (docs/security.md).
            raise AnacondaTokenError(
                f"anaconda.org refused to mint a token for {self.organisation!r} with scopes "
                f"{list(scopes)!r} (POST {url} -> {binstar_status(error)}); check that the "
                "machine account's username and password in the vault are current and that "
                f"the account may create tokens for {self.organisation!r}"
            ) from None
        except ServiceError as error:  # ProjectAdapter: retries used up, or an unsure write
            raise AnacondaTokenError(
                f"no token was minted for {self.organisation!r} ({error})"
            ) from None
        except (KeyError, ValueError):  # an answer without a token, or not JSON
            raise AnacondaTokenError(f"POST {url} answered without a token") from None
        finally:
            # Dropped right after their one use, so nothing later in the job can reach them.
            username.clear()
            password.clear()
        if not isinstance(value, str) or not value:
            raise AnacondaTokenError(f"POST {url} answered without a token")
        token = self.masker.register(value)
        record = self.ledger.created(
            "anaconda-token",
            "scopes=" + " ".join(scopes),
            label,
            lifetime=timedelta(seconds=self._max_age),
        )
        log.info(
            "minted an anaconda.org token for %s: %s on %s", label, record.scope, self.organisation
        )
        return AnacondaToken(token, record, self)

    def delete_authentication(self, token: Secret, record: CredentialRecord) -> None:
        """``Binstar.remove_authentication()`` with the token itself: it removes itself."""
        url = f"{self.api_url}/authentications"
        client = binstar(self.api_url, token.reveal(), timeout=self._timeout, retrier=self._retrier)
        try:
            client.remove_authentication()
        except binstar_errors.Unauthorized:
            return  # 401: already expired or removed
        except (binstar_errors.BinstarError, ServiceError) as error:
            status = error.status if isinstance(error, ServiceError) else binstar_status(error)
            raise AnacondaTokenError(
                f"anaconda.org did not delete the token for {record.label!r} "
                f"(DELETE {url} -> {status}); it expires by itself at "
                f"{record.expires_at.isoformat()}"
            ) from None
        finally:
            client.session.close()


class AnacondaToken(MintedToken):
    """A scoped anaconda.org token; revoking it removes it (``DELETE /authentications``)."""

    ENDED = "deleted the anaconda.org token for {label}"

    def __init__(self, secret: Secret, record: CredentialRecord, issuer: AnacondaTokens) -> None:
        super().__init__(secret, record, issuer.ledger, issuer.masker)
        self._issuer = issuer

    def _end(self) -> None:
        self._issuer.delete_authentication(self.secret, self.record)
