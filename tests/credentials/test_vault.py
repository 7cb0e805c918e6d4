"""The vault client (credentials/vault.py): transit signatures, and errors that name the claim
but never the token."""

from __future__ import annotations

import base64

import pytest
import requests

from admin_requests.credentials.github_app import b64url
from admin_requests.credentials.redact import Masker
from admin_requests.credentials.vault import VaultClient, decode_transit_signature
from admin_requests.errors import (
    VaultError,
)
from tests.fakes.oidc import FakeOidcIssuer
from tests.vault_trust import AUDIENCE, BaoServer


def test_transit_signature_becomes_base64url() -> None:
    raw = bytes(range(256))
    signature = decode_transit_signature("vault:v1:" + base64.b64encode(raw).decode())
    assert signature == raw
    assert "+" not in b64url(raw)
    assert "/" not in b64url(raw)
    with pytest.raises(VaultError, match="vault:v<N>"):
        decode_transit_signature("v1:abc")


ROLE = "admin-requests-process"  # the role of vault/roles/, which trusted_vault applied


@pytest.mark.vault
def test_vault_errors_name_the_claim_but_never_the_token(
    trusted_vault: BaoServer, oidc_issuer: FakeOidcIssuer
) -> None:
    masker = Masker(in_actions=False)
    client = VaultClient(trusted_vault.addr, session=requests.Session(), masker=masker)
    bad = masker.register(oidc_issuer.mint(AUDIENCE, event_name="pull_request"))
    with pytest.raises(VaultError) as caught:
        client.login_jwt("jwt", ROLE, bad)
    assert "event_name" in str(caught.value)
    assert bad.reveal() not in str(caught.value)
