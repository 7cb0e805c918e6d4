"""Credential settings from the environment (credentials/settings.py)."""

from __future__ import annotations

import pytest

from admin_requests.credentials.settings import CredentialSettings
from admin_requests.errors import (
    CredentialConfigError,
)

TOKEN = "ghs_" + "A1b2" * 9


def test_settings_come_from_the_environment_once() -> None:
    settings = CredentialSettings.from_environ(
        {
            "ADMIN_REQUESTS_CREDENTIALS": "vault",
            "VAULT_ADDR": "https://vault.example/",
            "GITHUB_ACTIONS": "true",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": TOKEN,
            "ADMIN_DEV_ANACONDA_ORG_PASSWORD": "x",
        }
    )
    assert settings.vault_addr == "https://vault.example"
    assert settings.running_in_actions
    assert settings.dev_values == {"anaconda_org_password": "x"}
    assert TOKEN not in repr(settings)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"ADMIN_REQUESTS_CREDENTIALS": "keychain"}, "not a credential backend"),
        ({"ANACONDA_TOKEN_MAX_AGE": "3600"}, "outside 60"),
    ],
)
def test_bad_settings_say_what_to_fix(values: dict[str, str], message: str) -> None:
    with pytest.raises(CredentialConfigError, match=message):
        CredentialSettings.from_environ(values)
