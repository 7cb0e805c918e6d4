"""The credential code's HTTP helpers (credentials/http.py): errors name the method, the URL
without its query and the status, never a body; vault's own errors pass, redacted."""

from __future__ import annotations

import json

import pytest
import requests

from admin_requests.credentials.http import json_object, url_without_query, vault_error_detail
from admin_requests.credentials.redact import Masker
from admin_requests.errors import VaultError

TOKEN = "hvs." + "Q7z" * 10


def response(body: bytes, status: int = 200) -> requests.Response:
    made = requests.Response()
    made.status_code = status
    made._content = body
    made.url = f"https://vault.example/v1/auth/jwt/login?token={TOKEN}"
    made.request = requests.Request("POST", made.url).prepare()
    return made


def test_a_url_loses_its_query_and_fragment() -> None:
    assert url_without_query("https://h.example/a/b?x=1#f") == "https://h.example/a/b"


def test_an_answer_that_is_not_a_json_object_is_named_without_its_body() -> None:
    assert json_object(response(b'{"auth": {}}'), VaultError) == {"auth": {}}
    for body in (f"<html>{TOKEN}</html>".encode(), json.dumps([TOKEN]).encode()):
        with pytest.raises(VaultError) as caught:
            json_object(response(body, 502), VaultError)
        assert str(caught.value) == (
            "POST https://vault.example/v1/auth/jwt/login answered 502 without a JSON object"
        )


def test_vault_errors_are_passed_on_redacted() -> None:
    masker = Masker(in_actions=False)
    masker.register(TOKEN)
    body = json.dumps({"errors": [f"claim 'event_name' does not match ({TOKEN})"]}).encode()
    detail = vault_error_detail(response(body, 400), masker)
    assert "claim 'event_name' does not match" in detail
    assert TOKEN not in detail
    assert vault_error_detail(response(b"not json", 500), masker) == ""
