"""The env backend: local development against the sandbox, never in a real job.

Secrets come from ``ADMIN_DEV_*`` variables and the App JWT is signed with a local PEM
file. That is exactly the stored-secret setup this project exists to avoid, so the
backend refuses to run inside GitHub Actions (unless a test says so explicitly, for
whole-workflow runs under ``act`` against fakes) and warns loudly everywhere else.
"""

from __future__ import annotations

import logging
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from admin_requests.credentials.ledger import CredentialLedger
from admin_requests.credentials.redact import Masker, Secret
from admin_requests.credentials.settings import CredentialSettings
from admin_requests.errors import CredentialConfigError, EnvBackendRefused

log = logging.getLogger(__name__)

WARNING = (
    "!!! credentials backend 'env': reading secrets from ADMIN_DEV_* variables and a local "
    "key file. This is for local development against fakes ONLY; production jobs use "
    "ADMIN_REQUESTS_CREDENTIALS=vault (or aws). !!!"
)


class EnvBackend:
    name = "env"

    def __init__(self, settings: CredentialSettings, masker: Masker) -> None:
        if settings.running_in_actions and not settings.allow_env_backend_in_actions:
            raise EnvBackendRefused(
                "ADMIN_REQUESTS_CREDENTIALS='env' is refused inside GitHub Actions "
                "(GITHUB_ACTIONS='true'): it would need stored secrets. Use 'vault' or "
                "'aws' with the job's OIDC token"
            )
        self._settings = settings
        self._masker = masker

    def start(self, ledger: CredentialLedger) -> None:
        log.warning(WARNING)

    def read_job_secret(self) -> dict[str, Secret]:
        return {
            key: self._masker.register(value)
            for key, value in self._settings.dev_values.items()
            if key != "github_app_key_file"
        }

    def sign_rs256(self, message: bytes) -> bytes:
        path = self._settings.dev_github_app_key_file
        if not path:
            raise CredentialConfigError(
                "ADMIN_DEV_GITHUB_APP_KEY_FILE is empty; point it at the sandbox App's PEM "
                "key to sign App JWTs with the env backend"
            )
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise CredentialConfigError(f"{path!r} does not hold an RSA private key")
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256())

    def close(self, ledger: CredentialLedger) -> None:
        return None
