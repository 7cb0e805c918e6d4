"""The env backend (credentials/env.py): refused in Actions except for tests, loud, signing
locally."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from admin_requests.credentials.env import EnvBackend
from admin_requests.credentials.ledger import CredentialLedger
from admin_requests.credentials.redact import Masker
from admin_requests.credentials.settings import CredentialSettings
from admin_requests.errors import (
    EnvBackendRefused,
)


def test_env_backend_refuses_to_run_in_actions() -> None:
    settings = CredentialSettings(backend="env", running_in_actions=True)
    with pytest.raises(EnvBackendRefused, match="GITHUB_ACTIONS='true'"):
        EnvBackend(settings, Masker(in_actions=True))


def test_env_backend_warns_loudly_and_signs_locally(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "app.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    settings = CredentialSettings(
        backend="env",
        dev_values={"anaconda_org_password": "dev-credential"},
        dev_github_app_key_file=str(pem),
    )
    backend = EnvBackend(settings, Masker(in_actions=False))
    backend.start(CredentialLedger())
    assert "for local development against fakes ONLY" in caplog.text
    assert backend.read_job_secret()["anaconda_org_password"].reveal() == "dev-credential"
    key.public_key().verify(backend.sign_rs256(b"m"), b"m", padding.PKCS1v15(), hashes.SHA256())


def test_env_backend_is_allowed_in_actions_only_for_tests() -> None:
    settings = CredentialSettings.from_environ(
        {
            "ADMIN_REQUESTS_CREDENTIALS": "env",
            "GITHUB_ACTIONS": "true",
            "ADMIN_REQUESTS_ALLOW_ENV_BACKEND": "test-only",
        }
    )
    EnvBackend(settings, Masker(in_actions=True))
