"""What every credential backend provides to the broker."""

from __future__ import annotations

from typing import Protocol

from admin_requests.credentials.ledger import CredentialLedger
from admin_requests.credentials.redact import Secret


class CredentialBackend(Protocol):
    name: str

    def start(self, ledger: CredentialLedger) -> None:
        """Prove the job's identity (vault login, STS session); record what it created."""

    def read_job_secret(self) -> dict[str, Secret]:
        """The job's secret entries, read fresh: callers clear what they no longer need."""

    def sign_rs256(self, message: bytes) -> bytes:
        """RSASSA-PKCS1-v1_5 SHA-256 signature of ``message`` with the GitHub App key."""

    def close(self, ledger: CredentialLedger) -> None:
        """Revoke whatever ``start`` created; safe to call twice."""
