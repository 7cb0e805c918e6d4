"""actions/vault-credentials' Python side: validate, log in once, export config only."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from admin_requests.credentials import preflight
from tests.fakes.oidc import FakeOidcIssuer
from tests.vault_trust import ANACONDA_ORG_PASSWORD, ANACONDA_ORG_USERNAME, AUDIENCE, BaoServer


def action_environ(vault: BaoServer, issuer: FakeOidcIssuer, github_env: Path) -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_ENV": str(github_env),
        "ADMIN_REQUESTS_CREDENTIALS": "vault",
        "ADMIN_REQUESTS_OIDC_AUDIENCE": AUDIENCE,
        "VAULT_ADDR": vault.addr,
        "VAULT_ROLE": "admin-requests-process",
        **issuer.actions_environ(),
    }


@pytest.mark.vault
def test_login_check_exports_only_configuration(
    trusted_vault: BaoServer,
    oidc_issuer: FakeOidcIssuer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    github_env = tmp_path / "github_env"
    environ = action_environ(trusted_vault, oidc_issuer, github_env)
    assert preflight.main([], environ) == 0
    exported = github_env.read_text().splitlines()
    assert exported == [
        "ADMIN_REQUESTS_CREDENTIALS=vault",
        f"ADMIN_REQUESTS_OIDC_AUDIENCE={AUDIENCE}",
        f"VAULT_ADDR={trusted_vault.addr}",
        "VAULT_ROLE=admin-requests-process",
    ]
    out = capsys.readouterr().out
    # In Actions the values are masked by the runner: the lines name them, once each,
    # and nothing else of the run's output does.
    for value in (ANACONDA_ORG_USERNAME, ANACONDA_ORG_PASSWORD):
        assert out.count(value) == 1
        assert f"::add-mask::{value}" in out.splitlines()
    # The login it made is revoked: the token it got cannot read any more.
    tokens = [
        line.removeprefix("::add-mask::")
        for line in out.splitlines()
        if line.startswith("::add-mask::s.")
    ]
    assert tokens
    for token in tokens:
        lookup = requests.get(
            f"{trusted_vault.addr}/v1/auth/token/lookup-self",
            headers={"X-Vault-Token": token},
            timeout=10,
        )
        assert lookup.status_code == 403


@pytest.mark.vault
def test_refused_login_fails_the_step_with_the_reason(
    trusted_vault: BaoServer,
    oidc_issuer: FakeOidcIssuer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    oidc_issuer.claim_overrides = {"event_name": "pull_request"}
    environ = action_environ(trusted_vault, oidc_issuer, tmp_path / "env")
    assert preflight.main([], environ) == 1
    out = capsys.readouterr().out
    assert "::error title=vault-credentials::" in out
    assert "event_name" in out
    assert not (tmp_path / "env").exists()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ADMIN_REQUESTS_CREDENTIALS": "env"}, "use 'vault' or 'aws' in workflows"),
        ({"VAULT_ADDR": "http://vault.example.org"}, "must be an https:// URL"),
        ({"ACTIONS_ID_TOKEN_REQUEST_URL": ""}, "id-token: write"),
        ({"ADMIN_REQUESTS_CREDENTIALS": "gcp"}, "is not a credential backend"),
    ],
)
def test_bad_configuration_is_refused_before_any_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, str], message: str
) -> None:
    environ = {
        "GITHUB_ACTIONS": "true",
        "ADMIN_REQUESTS_CREDENTIALS": "vault",
        "ADMIN_REQUESTS_OIDC_AUDIENCE": AUDIENCE,
        "VAULT_ADDR": "https://vault.example.org",
        "ACTIONS_ID_TOKEN_REQUEST_URL": "http://127.0.0.1:9/token",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token",
        **change,
    }
    assert preflight.main([], environ) == 1
    assert message in capsys.readouterr().out
