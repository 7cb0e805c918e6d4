"""Building the broker from configuration: its backend, its Azure federation, the broker.

``open_broker`` is what the ``run`` command and the vault-credentials preflight call;
``build_backend`` picks vault, aws or (local development only) env.
"""

from __future__ import annotations

import requests

from admin_requests.config import Settings
from admin_requests.credentials.azure import AzureFederatedTokens
from admin_requests.credentials.backend import CredentialBackend
from admin_requests.credentials.broker import CredentialBroker
from admin_requests.credentials.ledger import CredentialLedger
from admin_requests.credentials.oidc import OidcRequester
from admin_requests.credentials.redact import Masker, install_redaction
from admin_requests.credentials.settings import CredentialSettings
from admin_requests.credentials.vault import VaultClient
from admin_requests.credentials.vault_backend import VaultBackend
from admin_requests.errors import CredentialConfigError
from admin_requests.services.http import Retrier


def _oidc_requester(
    settings: CredentialSettings,
    masker: Masker,
    session: requests.Session,
    retrier: Retrier | None,
) -> OidcRequester:
    """The job's ID-token requester; its request token is masked from the start."""
    return OidcRequester(
        settings.oidc_request_url,
        masker.register(settings.oidc_request_token),
        session,
        masker,
        settings.http_timeout_seconds,
        retrier,
    )


def build_backend(
    settings: CredentialSettings,
    masker: Masker,
    session: requests.Session,
    retrier: Retrier | None = None,
) -> CredentialBackend:
    # The env and aws backends' libraries (cryptography's key loading, boto3) load only
    # when that backend is chosen: a vault job never imports boto3.
    if settings.backend == "env":
        from admin_requests.credentials.env import EnvBackend

        return EnvBackend(settings, masker)
    if not settings.oidc_request_url or not settings.oidc_request_token:
        raise CredentialConfigError(
            f"the {settings.backend!r} backend needs the job's OIDC token, but "
            "ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN are not set; give the job "
            "'permissions: id-token: write' (processing jobs only, never pull requests)"
        )
    oidc = _oidc_requester(settings, masker, session, retrier)
    if settings.backend == "aws":
        from admin_requests.credentials.aws import AwsBackend

        return AwsBackend(settings, oidc, masker)
    client = VaultClient(
        settings.vault_addr,
        session=session,
        masker=masker,
        namespace=settings.vault_namespace,
        timeout=settings.http_timeout_seconds,
        retrier=retrier,
    )
    return VaultBackend(settings, client, oidc)


def open_broker(
    settings: Settings,
    credentials: CredentialSettings,
    *,
    session: requests.Session | None = None,
    masker: Masker | None = None,
    retrier: Retrier | None = None,
) -> CredentialBroker:
    """Build a broker from configuration; start it with ``with``."""
    masker = masker or Masker(in_actions=credentials.running_in_actions)
    install_redaction(masker)
    session = session or requests.Session()
    backend = build_backend(credentials, masker, session, retrier)
    ledger = CredentialLedger()
    return CredentialBroker(
        backend=backend,
        ledger=ledger,
        settings=credentials,
        github_api_url=settings.github_api_url,
        anaconda_api_url=settings.anaconda_api_url,
        # The anaconda.org owner the request kinds act on: minted tokens are for it.
        anaconda_organisation=settings.channel,
        masker=masker,
        session=session,
        retrier=retrier,
        azure=build_azure(credentials, masker, session, ledger, retrier),
    )


def build_azure(
    settings: CredentialSettings,
    masker: Masker,
    session: requests.Session,
    ledger: CredentialLedger,
    retrier: Retrier | None = None,
) -> AzureFederatedTokens | None:
    """Azure federation when its identifiers are configured (and the job has OIDC)."""
    if not (settings.azure_tenant_id and settings.azure_client_id):
        return None
    if not settings.oidc_request_url or not settings.oidc_request_token:
        raise CredentialConfigError(
            "AZURE_TENANT_ID/AZURE_CLIENT_ID are set but the job has no OIDC token "
            "(ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN): Azure is reached only through "
            "federation; give the processing job 'permissions: id-token: write'"
        )
    oidc = _oidc_requester(settings, masker, session, retrier)
    return AzureFederatedTokens(
        oidc=oidc,
        authority_url=settings.azure_authority_url,
        tenant_id=settings.azure_tenant_id,
        client_id=settings.azure_client_id,
        session=session,
        masker=masker,
        ledger=ledger,
        timeout=settings.http_timeout_seconds,
        clock=ledger.clock,
        retrier=retrier,
    )
