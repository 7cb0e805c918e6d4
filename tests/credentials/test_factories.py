"""Building the credential backend and broker (credentials/factories.py): the backend the
settings choose, the configurations it and build_azure refuse (with which named error), and
the Azure federation built only when configured. open_broker runs end to end in
test_broker.py."""

from __future__ import annotations

from dataclasses import replace

import pytest
import requests

from admin_requests.credentials.aws import AwsBackend
from admin_requests.credentials.azure import AzureFederatedTokens
from admin_requests.credentials.env import EnvBackend
from admin_requests.credentials.factories import build_azure, build_backend
from admin_requests.credentials.ledger import CredentialLedger
from admin_requests.credentials.redact import Masker
from admin_requests.credentials.settings import CredentialSettings
from admin_requests.credentials.vault_backend import VaultBackend
from admin_requests.errors import (
    CredentialConfigError,
)


def test_vault_and_aws_need_the_oidc_variables() -> None:
    for backend in ("vault", "aws"):
        settings = CredentialSettings(backend=backend)  # type: ignore[arg-type]
        with pytest.raises(CredentialConfigError, match="id-token: write"):
            build_backend(settings, Masker(in_actions=False), requests.Session())


@pytest.mark.parametrize(
    ("backend", "built"), [("env", EnvBackend), ("vault", VaultBackend), ("aws", AwsBackend)]
)
def test_the_settings_choose_the_backend(backend: str, built: type) -> None:
    settings = CredentialSettings(
        backend=backend,  # type: ignore[arg-type]
        oidc_request_url="https://oidc.example/token",
        oidc_request_token="request-token",
        vault_addr="https://vault.example",
        audience="https://vault.admin-requests.test",
        aws_role_arn="arn:aws:iam::123456789012:role/admin-requests-process",
        aws_secret_id="admin-requests/process",
    )
    made = build_backend(settings, Masker(in_actions=False), requests.Session())
    assert type(made) is built  # nothing is contacted until the broker starts it


REQUEST_TOKEN = "oidc-request-" + "Z9y8" * 8
WITH_OIDC = CredentialSettings(
    oidc_request_url="https://oidc.example/token", oidc_request_token=REQUEST_TOKEN
)


def test_the_oidc_request_token_is_masked_from_the_start() -> None:
    masker = Masker(in_actions=False)
    settings = replace(
        WITH_OIDC, backend="vault", vault_addr="https://vault.example", audience="admin-requests"
    )
    build_backend(settings, masker, requests.Session())
    assert REQUEST_TOKEN not in masker.redact(f"the token was {REQUEST_TOKEN}")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (replace(WITH_OIDC, backend="vault", audience="a"), "VAULT_ADDR is empty"),
        (
            replace(WITH_OIDC, backend="vault", vault_addr="https://vault.example"),
            "ADMIN_REQUESTS_OIDC_AUDIENCE is empty",
        ),
        (replace(WITH_OIDC, backend="aws"), "AWS_ROLE_ARN and ADMIN_REQUESTS_AWS_SECRET_ID"),
    ],
)
def test_an_incomplete_backend_configuration_is_refused_with_words(
    settings: CredentialSettings, message: str
) -> None:
    with pytest.raises(CredentialConfigError, match=message):
        build_backend(settings, Masker(in_actions=False), requests.Session())


def azure(settings: CredentialSettings) -> AzureFederatedTokens | None:
    return build_azure(settings, Masker(in_actions=False), requests.Session(), CredentialLedger())


def test_azure_is_left_out_unless_both_its_identifiers_are_set() -> None:
    assert azure(WITH_OIDC) is None
    assert azure(replace(WITH_OIDC, azure_tenant_id="t")) is None
    assert azure(replace(WITH_OIDC, azure_client_id="c")) is None
    configured = azure(replace(WITH_OIDC, azure_tenant_id="t", azure_client_id="c"))
    assert isinstance(configured, AzureFederatedTokens)


def test_azure_without_an_oidc_token_is_refused() -> None:
    with pytest.raises(CredentialConfigError, match="Azure is reached only through federation"):
        azure(CredentialSettings(azure_tenant_id="t", azure_client_id="c"))
