"""OpenBao/Vault: JWT login with the job's OIDC token, KV v2 reads, transit signing.

Plain HTTP (``requests``) rather than hvac: the handful of endpoints is small, and
owning the error path is what guarantees that no response body reaches a message.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests

from admin_requests.credentials.http import json_object, send, vault_error_detail
from admin_requests.credentials.redact import Masker, Secret
from admin_requests.errors import VaultError
from admin_requests.services.http import Retrier

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VaultLogin:
    token: Secret
    lease: timedelta
    policies: tuple[str, ...]


class VaultClient:
    def __init__(
        self,
        addr: str,
        *,
        session: requests.Session,
        masker: Masker,
        namespace: str = "",
        timeout: float = 30.0,
        retrier: Retrier | None = None,
    ) -> None:
        self.addr = addr.rstrip("/")
        self._retrier = retrier
        self.namespace = namespace
        self._session = session
        self.masker = masker
        self._timeout = timeout

    def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        token: Secret | None,
        body: Any = None,
        creates_credential: bool = False,
    ) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["X-Vault-Token"] = token.reveal()
        if self.namespace:
            headers["X-Vault-Namespace"] = self.namespace
        url = f"{self.addr}/v1/{path}"
        response = send(
            self._session,
            method,
            url,
            error=VaultError,
            timeout=self._timeout,
            headers=headers,
            json=body,
            retrier=self._retrier,
            creates_credential=creates_credential,
        )
        if response.status_code == 204:
            return {}
        if response.status_code != 200:
            detail = vault_error_detail(response, self.masker)
            raise VaultError(
                f"vault refused to {what} ({method} /v1/{path} -> {response.status_code}"
                + (f": {detail}" if detail else "")
                + "); check the role's bound claims and policy in vault/ and re-apply them "
                "with 'python -m admin_requests.deploy.vault apply'"
            )
        return json_object(response, VaultError)

    def login_jwt(self, mount: str, role: str, jwt: Secret) -> VaultLogin:
        body = self._call(
            "POST",
            f"auth/{mount}/login",
            f"log in with role {role!r}",
            token=None,
            body={"role": role, "jwt": jwt.reveal()},
            creates_credential=True,
        )
        auth = body.get("auth") or {}
        token = auth.get("client_token")
        if not isinstance(token, str) or not token:
            raise VaultError(f"vault's login for role {role!r} returned no client_token")
        login = VaultLogin(
            token=self.masker.register(token),
            lease=timedelta(seconds=int(auth.get("lease_duration") or 0)),
            policies=tuple(auth.get("token_policies") or auth.get("policies") or ()),
        )
        log.info(
            "vault login as role %r: token valid %ss, policies %s",
            role,
            int(login.lease.total_seconds()),
            ", ".join(login.policies),
        )
        return login

    def read_kv2(self, token: Secret, mount: str, path: str) -> dict[str, Secret]:
        body = self._call(
            "GET", f"{mount}/data/{path}", f"read secret {mount}/{path!r}", token=token
        )
        data = (body.get("data") or {}).get("data") or {}
        if not isinstance(data, dict):
            raise VaultError(f"vault secret {mount}/{path!r} is not a key/value mapping")
        # Every value is registered, including ids that are not secret: it costs nothing
        # and nobody has to decide per key.
        return {str(key): self.masker.register(str(value)) for key, value in data.items()}

    def sign_pkcs1v15_sha256(self, token: Secret, mount: str, key: str, message: bytes) -> bytes:
        """RSASSA-PKCS1-v1_5 with SHA-256 over ``message`` (JWT RS256), done by transit."""
        body = self._call(
            "POST",
            f"{mount}/sign/{key}",
            f"sign with transit key {key!r}",
            token=token,
            body={
                "input": base64.b64encode(message).decode("ascii"),
                "hash_algorithm": "sha2-256",
                "signature_algorithm": "pkcs1v15",
                "prehashed": False,
            },
        )
        signature = (body.get("data") or {}).get("signature", "")
        return decode_transit_signature(str(signature), key)

    def revoke_self(self, token: Secret) -> None:
        self._call("POST", "auth/token/revoke-self", "revoke the job's token", token=token)


def decode_transit_signature(signature: str, key: str = "?") -> bytes:
    """``vault:v1:<standard base64>`` -> raw signature bytes."""
    prefix, _, rest = signature.partition(":v")
    version, _, encoded = rest.partition(":")
    if prefix != "vault" or not version.isdigit() or not encoded:
        raise VaultError(
            f"transit key {key!r} returned a signature not of the form 'vault:v<N>:<base64>'"
        )
    return base64.b64decode(encoded, validate=True)
