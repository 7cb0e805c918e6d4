"""The vault backend: the job's OIDC token logs in; the vault token is revoked at close."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from admin_requests.credentials.ledger import CredentialLedger, CredentialRecord, utc_now
from admin_requests.credentials.oidc import OidcRequester
from admin_requests.credentials.redact import Secret
from admin_requests.credentials.settings import CredentialSettings
from admin_requests.credentials.tokens import MintedToken
from admin_requests.credentials.vault import VaultClient
from admin_requests.errors import CredentialConfigError, VaultError

# Log in again when the token has less than this left: a long run outlives one token
# (the role's token_max_ttl is short on purpose) and a fresh OIDC token is always at hand.
RENEW_MARGIN = timedelta(seconds=60)


class VaultToken(MintedToken):
    """The job's vault token; revoking it is the vault's ``auth/token/revoke-self``."""

    ENDED = "revoked the job's vault token"

    def __init__(
        self,
        secret: Secret,
        record: CredentialRecord,
        ledger: CredentialLedger,
        client: VaultClient,
    ) -> None:
        super().__init__(secret, record, ledger, client.masker)
        self._client = client

    def _end(self) -> None:
        self._client.revoke_self(self.secret)


class VaultBackend:
    name = "vault"

    def __init__(
        self,
        settings: CredentialSettings,
        client: VaultClient,
        oidc: OidcRequester,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        if not settings.vault_addr:
            raise CredentialConfigError(
                "VAULT_ADDR is empty; set it (and VAULT_ROLE) in the workflow's env, "
                "e.g. through the actions/vault-credentials step"
            )
        if not settings.audience:
            raise CredentialConfigError(
                "ADMIN_REQUESTS_OIDC_AUDIENCE is empty; it must equal the role's "
                "bound_audiences in vault/roles/"
            )
        self._settings = settings
        self._client = client
        self._oidc = oidc
        self._clock = clock
        self._ledger: CredentialLedger | None = None
        self._token: VaultToken | None = None

    def start(self, ledger: CredentialLedger) -> None:
        self._ledger = ledger
        self._login()

    def _login(self) -> None:
        assert self._ledger is not None
        s = self._settings
        id_token = self._oidc.id_token(s.audience)
        try:
            login = self._client.login_jwt(s.vault_auth_mount, s.vault_role, id_token)
        finally:
            id_token.clear()
        record = self._ledger.created(
            "vault-token",
            f"role {s.vault_role}: policies {', '.join(login.policies)}",
            "job",
            lifetime=login.lease,
        )
        self._token = VaultToken(login.token, record, self._ledger, self._client)

    def _current_token(self) -> Secret:
        if self._token is None:
            raise VaultError("the vault session is closed; use the broker inside its 'with'")
        if self._clock() >= self._token.record.expires_at - RENEW_MARGIN:
            self._revoke()
            self._login()
        assert self._token is not None
        return self._token.secret

    def read_job_secret(self) -> dict[str, Secret]:
        s = self._settings
        return self._client.read_kv2(self._current_token(), s.vault_kv_mount, s.vault_secret_path)

    def sign_rs256(self, message: bytes) -> bytes:
        s = self._settings
        return self._client.sign_pkcs1v15_sha256(
            self._current_token(), s.vault_transit_mount, s.vault_transit_key, message
        )

    def _revoke(self) -> None:
        token, self._token = self._token, None  # closed even if the vault refuses
        if token is not None:
            token.revoke()

    def close(self, ledger: CredentialLedger) -> None:
        self._revoke()
