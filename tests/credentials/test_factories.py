"""Building the credential backend and broker (credentials/factories.py): the backend the
settings choose, and the OIDC variables vault and aws need."""

from __future__ import annotations

import pytest
import requests

from admin_requests.credentials.aws import AwsBackend
from admin_requests.credentials.env import EnvBackend
from admin_requests.credentials.factories import build_backend
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
