"""Requesting the job's OIDC token (credentials/oidc.py)."""

from __future__ import annotations

import jwt
import pytest
import requests

from admin_requests.credentials.oidc import OidcRequester
from admin_requests.credentials.redact import Masker, Secret
from admin_requests.errors import (
    OidcTokenError,
)
from tests.fakes.oidc import FakeOidcIssuer


def test_oidc_token_request_uses_audience_and_bearer() -> None:
    with FakeOidcIssuer() as issuer:
        url = issuer.actions_environ()["ACTIONS_ID_TOKEN_REQUEST_URL"]
        masker = Masker(in_actions=False)
        good = OidcRequester(url, Secret(issuer.request_token), requests.Session(), masker)
        token = good.id_token("https://vault.example")
        assert jwt.decode(token.reveal(), options={"verify_signature": False})["aud"] == (
            "https://vault.example"
        )
        assert masker.redact(token.reveal()) == "***"
        bad = OidcRequester(url, Secret("wrong-request-token"), requests.Session(), masker)
        with pytest.raises(OidcTokenError, match="id-token: write") as caught:
            bad.id_token("https://vault.example")
        assert "wrong-request-token" not in str(caught.value)
        assert "api-version" not in str(caught.value)  # no query string in errors
