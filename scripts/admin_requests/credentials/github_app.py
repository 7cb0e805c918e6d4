"""GitHub App installation tokens scoped to one request, from a JWT signed elsewhere.

The App's private key never enters the job: ``sign`` is a callable that has the vault
(transit) or AWS KMS compute the RS256 signature. The App JWT lives 2 minutes at most
(``iat`` 60 s back for clock skew, ``exp`` 60 s ahead) and is used for exactly one call:
minting an installation token restricted to the request's repositories and
permissions. That token is revoked with ``DELETE /installation/token`` when the request
is done.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import requests

from admin_requests.access import Access
from admin_requests.credentials.http import json_object, send
from admin_requests.credentials.ledger import CredentialLedger, CredentialRecord, utc_now
from admin_requests.credentials.redact import Masker, Secret
from admin_requests.credentials.tokens import MintedToken
from admin_requests.errors import (
    CredentialScopeError,
    GitHubAppTokenError,
    RepositoriesRefusedError,
)
from admin_requests.services.http import Retrier

log = logging.getLogger(__name__)

Signer = Callable[[bytes], bytes]

JWT_BACKDATE = timedelta(seconds=60)  # GitHub's advice, for clock drift
JWT_LIFETIME = timedelta(seconds=60)  # after now; GitHub allows up to 10 minutes
INSTALLATION_TOKEN_LIFETIME = timedelta(hours=1)  # fixed by GitHub; we revoke earlier
MAX_REPOSITORIES = 500  # GitHub's limit per installation token
LEVELS = {"read": 1, "write": 2, "admin": 3}
# Permissions on the organisation itself: they need no repository list.
ORGANISATION_PERMISSION_PREFIXES = ("organization_", "members")
# GitHub adds this to every repository-scoped token.
IMPLICIT_PERMISSIONS = {"metadata": "read"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def app_jwt(app_id: str, sign: Signer, now: datetime) -> str:
    header = {"alg": "RS256", "typ": "JWT"}
    claims = {
        "iat": int((now - JWT_BACKDATE).timestamp()),
        "exp": int((now + JWT_LIFETIME).timestamp()),
        "iss": app_id,
    }
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    signature = sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64url(signature)}"


def describe_access(access: Access) -> str:
    permissions = ", ".join(f"{k}:{v}" for k, v in sorted(access.github_permissions.items()))
    return f"repositories=[{', '.join(access.github_repositories)}]; {permissions}"


def check_requestable(access: Access) -> None:
    """Refuse requests that GitHub would answer with a token for every repository."""
    for name, level in access.github_permissions.items():
        if level not in LEVELS:
            raise CredentialScopeError(
                f"permission {name!r} has level {level!r}; use 'read' or 'write'"
            )
    repository_level = [
        name
        for name in access.github_permissions
        if not name.startswith(ORGANISATION_PERMISSION_PREFIXES)
    ]
    if access.all_repositories and (
        access.github_repositories or dict(access.github_permissions) != {"administration": "write"}
    ):
        raise CredentialScopeError(
            "a token for all repositories is only minted to create a repository: "
            "'administration: write' and nothing else, with no repositories listed"
        )
    if repository_level and not access.github_repositories and not access.all_repositories:
        # Without 'repositories' GitHub grants the permission on every repository the
        # installation can see: the blanket token this design exists to avoid.
        raise CredentialScopeError(
            f"repository permissions {sorted(repository_level)!r} were asked for no "
            "repository; the kind's access() must list the repositories it acts on"
        )
    if len(access.github_repositories) > MAX_REPOSITORIES:
        raise CredentialScopeError(
            f"{len(access.github_repositories)} repositories in one request exceed GitHub's "
            f"limit of {MAX_REPOSITORIES} per token; split the request file"
        )


def check_granted(access: Access, granted: Mapping[str, str], repositories: Any) -> None:
    """Fail closed if GitHub gave more than asked (a misconfigured proxy, a new default)."""
    wanted = {**IMPLICIT_PERMISSIONS, **access.github_permissions}
    extra = {
        name: level
        for name, level in granted.items()
        if LEVELS.get(level, 99) > LEVELS.get(wanted.get(name, ""), 0)
    }
    names = (
        {str(r.get("name")) for r in repositories if isinstance(r, dict)}
        if isinstance(repositories, list)
        else None
    )
    if extra or (access.github_repositories and names != set(access.github_repositories)):
        raise CredentialScopeError(
            f"GitHub granted more than requested (permissions beyond the request: {extra!r}); "
            "the token was revoked; check the App's installation settings"
        )


class GitHubAppTokens:
    def __init__(
        self,
        *,
        api_url: str,
        app_id: str,
        installation_id: str,
        sign: Signer,
        session: requests.Session,
        masker: Masker,
        ledger: CredentialLedger,
        timeout: float = 30.0,
        clock: Callable[[], datetime] = utc_now,
        retrier: Retrier | None = None,
    ) -> None:
        self._retrier = retrier
        self.api_url = api_url.rstrip("/")
        self.app_id = app_id
        self.installation_id = installation_id
        self._sign = sign
        self._session = session
        self.masker = masker
        self.ledger = ledger
        self._timeout = timeout
        self._clock = clock

    def _headers(self, bearer: Secret) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {bearer.reveal()}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }

    def mint(self, access: Access, label: str) -> InstallationToken:
        check_requestable(access)
        jwt = self.masker.register(app_jwt(self.app_id, self._sign, self._clock()))
        # The JWT is a credential too (it can mint any token of the installation), so it
        # is recorded even though it cannot be revoked: it expires within 2 minutes.
        self.ledger.created(
            "github-app-jwt",
            f"app {self.app_id}: mint installation tokens",
            label,
            lifetime=JWT_LIFETIME,
            revocable=False,
        )
        # Never an empty permission set: GitHub reads {} as "everything installed".
        body: dict[str, Any] = {
            "permissions": dict(access.github_permissions) or dict(IMPLICIT_PERMISSIONS)
        }
        if access.github_repositories:
            body["repositories"] = list(access.github_repositories)
        url = f"{self.api_url}/app/installations/{self.installation_id}/access_tokens"
        response = send(
            self._session,
            "POST",
            url,
            error=GitHubAppTokenError,
            timeout=self._timeout,
            retrier=self._retrier,
            headers=self._headers(jwt),
            json=body,
            creates_credential=True,
        )
        jwt.clear()
        if response.status_code == 422 and access.github_repositories:
            # GitHub's answer when a listed repository does not exist, is not reachable
            # by the installation, or a permission was not granted to it.
            raise RepositoriesRefusedError(
                f"GitHub refused an installation token for {describe_access(access)!r} "
                f"(POST {url} -> 422): a repository does not exist or the App cannot reach "
                "it, or the App was not granted these permissions"
            )
        if response.status_code != 201:
            raise GitHubAppTokenError(
                f"GitHub refused an installation token for {describe_access(access)!r} "
                f"(POST {url} -> {response.status_code}); check the App id "
                f"{self.app_id!r}, installation {self.installation_id!r}, that the "
                "repositories exist and that the App was granted these permissions"
            )
        payload = json_object(response, GitHubAppTokenError)
        value = payload.get("token")
        if not isinstance(value, str) or not value:
            raise GitHubAppTokenError(f"POST {url} answered 201 without a token")
        secret = self.masker.register(value)
        record = self.ledger.created(
            "github-installation-token",
            describe_access(access),
            label,
            lifetime=INSTALLATION_TOKEN_LIFETIME,
        )
        token = InstallationToken(secret, record, self)
        try:
            check_granted(access, payload.get("permissions") or {}, payload.get("repositories"))
        except CredentialScopeError:
            token.revoke()
            raise
        log.info("minted a GitHub installation token for %s: %s", label, record.scope)
        return token

    def delete_installation_token(self, token: Secret, record: CredentialRecord) -> None:
        """``DELETE /installation/token`` with the token itself: it ends at once."""
        url = f"{self.api_url}/installation/token"
        response = send(
            self._session,
            "DELETE",
            url,
            error=GitHubAppTokenError,
            timeout=self._timeout,
            retrier=self._retrier,
            headers=self._headers(token),
        )
        # 401: already revoked or expired, which is the state we want.
        if response.status_code not in (204, 401):
            raise GitHubAppTokenError(
                f"GitHub did not revoke the installation token for {record.label!r} "
                f"(DELETE {url} -> {response.status_code}); it expires by itself at "
                f"{record.expires_at.isoformat()}"
            )


class InstallationToken(MintedToken):
    """An installation token; revoking it is GitHub's ``DELETE /installation/token``."""

    ENDED = "revoked the GitHub installation token for {label}"

    def __init__(self, secret: Secret, record: CredentialRecord, issuer: GitHubAppTokens) -> None:
        super().__init__(secret, record, issuer.ledger, issuer.masker)
        self._issuer = issuer

    def _end(self) -> None:
        self._issuer.delete_installation_token(self.secret, self.record)
