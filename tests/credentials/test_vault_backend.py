"""The vault backend (credentials/vault_backend.py) in a simulated run: its login is revoked at
the end of the job and after a failed start, and renewed before it expires."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from admin_requests.credentials.redact import Secret
from tests.credentials.broker_world import ARCHIVE, Run

pytestmark = pytest.mark.vault


def test_vault_token_is_revoked_at_the_end_of_the_job(run: Run) -> None:
    tokens: list[Secret] = []
    with run.broker() as broker:
        backend = broker.backend
        tokens.append(backend._token.secret)  # type: ignore[attr-defined]
        raw = tokens[0].reveal()
    lookup = requests.get(
        f"{run.vault.addr}/v1/auth/token/lookup-self", headers={"X-Vault-Token": raw}, timeout=10
    )
    assert lookup.status_code == 403


def test_a_long_job_logs_in_again_before_the_vault_token_expires(run: Run) -> None:
    with run.broker() as broker:
        first = next(r for r in broker.ledger.records if r.kind == "vault-token")
        real_clock = broker.ledger.clock
        broker.backend._clock = lambda: real_clock() + timedelta(minutes=10)  # type: ignore[attr-defined]
        with broker.request_credentials(ARCHIVE, label="late.yml") as creds:
            assert creds.github_token is not None
        assert first.revoked_at is not None
        assert [r.kind for r in broker.ledger.records].count("vault-token") == 2
    assert broker.ledger.outstanding() == []


def test_a_failed_start_still_revokes_the_vault_login(run: Run) -> None:
    from dataclasses import replace

    from admin_requests.errors import VaultError

    run.credentials = replace(run.credentials, vault_secret_path="another-workflow")
    broker = run.broker()
    with pytest.raises(VaultError, match="403"), broker:
        pass
    [vault_token] = broker.ledger.records
    assert vault_token.kind == "vault-token"
    assert vault_token.revoked_at is not None
