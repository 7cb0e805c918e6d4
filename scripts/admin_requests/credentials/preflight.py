"""``python -m admin_requests.credentials.preflight``: what actions/vault-credentials runs.

Checks the credential configuration, proves the job can log in (and that the job's
secret holds what processing needs), revokes that login at once, and exports only
non-secret configuration (backend, addresses, role, audience) to ``$GITHUB_ENV`` so
the processing step fetches its own per-request credentials. No token leaves this
process: a failure here stops the job before any request is touched, with a message
that says what to fix.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from admin_requests.actions_output import escape_command_data
from admin_requests.config import Settings
from admin_requests.credentials.factories import open_broker
from admin_requests.credentials.settings import (
    ANACONDA_PASSWORD_KEY,
    ANACONDA_USERNAME_KEY,
    CredentialSettings,
)
from admin_requests.errors import CredentialConfigError, CredentialError

log = logging.getLogger(__name__)

# Exported for later steps; every one is configuration, none is a credential.
EXPORTED = {
    "vault": (
        "ADMIN_REQUESTS_CREDENTIALS",
        "ADMIN_REQUESTS_OIDC_AUDIENCE",
        "VAULT_ADDR",
        "VAULT_NAMESPACE",
        "VAULT_ROLE",
        "VAULT_AUTH_MOUNT",
        "VAULT_KV_MOUNT",
        "VAULT_SECRET_PATH",
        "VAULT_TRANSIT_MOUNT",
        "VAULT_TRANSIT_KEY",
    ),
    "aws": (
        "ADMIN_REQUESTS_CREDENTIALS",
        "ADMIN_REQUESTS_OIDC_AUDIENCE",
        "AWS_REGION",
        "ADMIN_REQUESTS_AWS_ROLE_ARN",
        "ADMIN_REQUESTS_AWS_SECRET_ID",
        "ADMIN_REQUESTS_AWS_KMS_KEY_ID",
    ),
}


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def validate(settings: CredentialSettings) -> None:
    if settings.backend == "env":
        raise CredentialConfigError(
            "actions/vault-credentials got backend 'env'; use 'vault' or 'aws' in workflows"
        )
    if settings.backend == "vault":
        url = urlsplit(settings.vault_addr)
        if url.scheme != "https" and not (
            url.scheme == "http" and _is_loopback(url.hostname or "")
        ):
            raise CredentialConfigError(
                f"vault-addr {settings.vault_addr!r} must be an https:// URL (plain http only "
                "for a vault on 127.0.0.1 in tests)"
            )
    if not settings.oidc_request_url:
        raise CredentialConfigError(
            "ACTIONS_ID_TOKEN_REQUEST_URL is not set: give this job 'permissions: id-token: "
            "write' (processing jobs only) and 'environment: production'"
        )


def export_lines(settings: CredentialSettings, environ: Mapping[str, str]) -> list[str]:
    lines = []
    for name in EXPORTED[settings.backend]:
        value = environ.get(name, "")
        if not value:
            continue
        if "\n" in value or "\r" in value:
            raise CredentialConfigError(f"{name} contains a line break; give a single-line value")
        lines.append(f"{name}={value}")
    return lines


def login_check(settings: Settings, credentials: CredentialSettings) -> str:
    with open_broker(settings, credentials) as broker:
        entries = broker.backend.read_job_secret()
        missing = [k for k in (ANACONDA_USERNAME_KEY, ANACONDA_PASSWORD_KEY) if k not in entries]
        for secret in entries.values():
            secret.clear()
        if missing:
            raise CredentialConfigError(
                f"the job's secret has no {' and no '.join(repr(k) for k in missing)}; store "
                "the anaconda.org machine account's username and password there "
                "(docs/security.md)"
            )
    return broker.ledger.summary()


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        credentials = CredentialSettings.from_environ(environ)
        validate(credentials)
        summary = login_check(Settings.from_environ(environ), credentials)
        lines = export_lines(credentials, environ)
    except CredentialError as exc:
        message = escape_command_data(str(exc))
        print(f"::error title=vault-credentials::{message}", flush=True)
        return 1
    target = environ.get("GITHUB_ENV")
    if target:
        with Path(target).open("a", encoding="utf-8") as handle:
            handle.write("".join(f"{line}\n" for line in lines))
    log.info(
        "credential login check passed (%s); exported %s",
        summary,
        ", ".join(line.split("=", 1)[0] for line in lines),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
