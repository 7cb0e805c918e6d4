"""Azure access tokens through OIDC federation (Entra ID workload identity), no stored PAT.

The job's GitHub OIDC token, requested for the audience ``api://AzureADTokenExchange``,
is sent as the ``client_assertion`` of a client-credentials request to Entra ID's token
endpoint. Entra accepts it only if the app registration has a federated credential whose
issuer, subject and audience match the token exactly (for this project: the processing
workflow's subject ``repo:OWNER/NAME:environment:production``), and answers with an
access token for Azure DevOps. Nothing is stored anywhere: not in GitHub, not in the
vault. Entra's access tokens cannot be revoked; they live about an hour (shorter with a
token-lifetime policy on the app, down to 10 minutes), are used for one request and
dropped, and the ledger records them as expiring by themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import requests

from admin_requests.credentials.http import json_object, send, url_without_query
from admin_requests.credentials.ledger import CredentialLedger, CredentialRecord, utc_now
from admin_requests.credentials.oidc import OidcRequester
from admin_requests.credentials.redact import Masker, Secret
from admin_requests.errors import AzureTokenError
from admin_requests.services.http import Retrier

log = logging.getLogger(__name__)

AZURE_DEVOPS_SCOPE = "499b84ac-1321-427f-aa17-267ca6975798/.default"  # Azure DevOps' app id
FEDERATION_AUDIENCE = "api://AzureADTokenExchange"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class AzureFederatedTokens:
    def __init__(
        self,
        *,
        oidc: OidcRequester,
        authority_url: str,
        tenant_id: str,
        client_id: str,
        session: requests.Session,
        masker: Masker,
        ledger: CredentialLedger,
        audience: str = FEDERATION_AUDIENCE,
        scope: str = AZURE_DEVOPS_SCOPE,
        timeout: float = 30.0,
        clock: Callable[[], datetime] = utc_now,
        retrier: Retrier | None = None,
    ) -> None:
        self._oidc = oidc
        self.token_url = f"{authority_url.rstrip('/')}/{tenant_id}/oauth2/v2.0/token"
        self.client_id = client_id
        self.audience = audience
        self.scope = scope
        self._session = session
        self._masker = masker
        self._ledger = ledger
        self._timeout = timeout
        self._clock = clock
        self._retrier = retrier

    def mint(self, label: str) -> tuple[Secret, CredentialRecord]:
        assertion = self._oidc.id_token(self.audience)
        try:
            response = send(
                self._session,
                "POST",
                self.token_url,
                error=AzureTokenError,
                timeout=self._timeout,
                retrier=self._retrier,
                data={
                    "client_id": self.client_id,
                    "scope": self.scope,
                    "grant_type": "client_credentials",
                    "client_assertion_type": ASSERTION_TYPE,
                    "client_assertion": assertion.reveal(),
                },
                creates_credential=True,
            )
        finally:
            assertion.clear()
        if response.status_code != 200:
            raise AzureTokenError(
                f"Entra ID refused the federated token exchange (POST "
                f"{url_without_query(self.token_url)} -> {response.status_code}"
                f"{self._reason(response)}); check the app registration {self.client_id!r} "
                "has a federated credential for this workflow's OIDC subject and the "
                f"audience {self.audience!r}"
            )
        payload = json_object(response, AzureTokenError)
        value = payload.get("access_token")
        if not isinstance(value, str) or not value:
            raise AzureTokenError(f"POST {self.token_url} answered 200 without an access_token")
        token = self._masker.register(value)
        lifetime = _seconds(payload.get("expires_in"), default=3600)
        record = self._ledger.created(
            "azure-access-token",
            f"scope={self.scope} (app {self.client_id})",
            label,
            lifetime=timedelta(seconds=lifetime),
            revocable=False,
        )
        log.info("obtained an Azure access token for %s through OIDC federation", label)
        return token, record

    def _reason(self, response: requests.Response) -> str:
        """Entra's error code (``invalid_client``, ``AADSTS700213``): no secret, says why."""
        try:
            body: Any = response.json()
        except ValueError:
            return ""
        if not isinstance(body, dict):
            return ""
        code = str(body.get("error", ""))[:60]
        codes = body.get("error_codes") or []
        aadsts = f" AADSTS{codes[0]}" if codes and str(codes[0]).isdigit() else ""
        return self._masker.redact(f", {code}{aadsts}") if code else ""


def _seconds(value: object, *, default: int) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default
