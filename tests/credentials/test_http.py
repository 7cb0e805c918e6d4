"""The credential code's HTTP helpers (credentials/http.py): which failures send retries
(never a credential mint that may have happened); errors name the method, the URL without
its query and the status, never a body; vault's own errors pass, redacted."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests

from admin_requests.credentials.http import json_object, send, url_without_query, vault_error_detail
from admin_requests.credentials.redact import Masker
from admin_requests.errors import VaultError
from admin_requests.services.http import Retrier, RetryPolicy

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


Step = Callable[[], requests.Response]


class ScriptedSession(requests.Session):
    """Answers each request with the next step of its script (a response or a raise)."""

    def __init__(self, *steps: Step) -> None:
        super().__init__()
        self.steps = list(steps)
        self.calls = 0

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self.steps.pop(0)()


def answer(status: int, body: object = None) -> Step:
    return lambda: response(json.dumps(body).encode(), status)


def raise_(exc: Exception) -> Step:
    def step() -> requests.Response:
        raise exc

    return step


NO_WAIT = Retrier(RetryPolicy(max_attempts=3, base_delay=0.01), sleep=lambda _: None)
REFUSED = requests.ConnectionError("NewConnectionError: [Errno 111] Connection refused")
RESET = requests.ConnectionError("('Connection aborted.', ConnectionResetError(104))")


def call(session: ScriptedSession, *, creates_credential: bool = False) -> requests.Response:
    return send(
        session,
        "POST",
        f"https://vault.example/v1/auth/jwt/login?token={TOKEN}",
        error=VaultError,
        timeout=5,
        retrier=NO_WAIT,
        creates_credential=creates_credential,
    )


@pytest.mark.parametrize("creates_credential", [False, True])
def test_a_connection_never_made_and_a_429_are_retried(creates_credential: bool) -> None:
    session = ScriptedSession(raise_(REFUSED), answer(429), answer(200, {"ok": True}))
    assert call(session, creates_credential=creates_credential).status_code == 200
    assert session.calls == 3


def test_server_errors_and_dropped_connections_are_retried_for_ordinary_calls() -> None:
    session = ScriptedSession(answer(503), raise_(RESET), answer(200, {}))
    assert call(session).status_code == 200
    assert session.calls == 3


def test_a_mint_that_may_have_happened_is_not_retried() -> None:
    after_sending = ScriptedSession(raise_(RESET), answer(200, {}))
    with pytest.raises(VaultError, match=r"failed after sending .*not retried"):
        call(after_sending, creates_credential=True)
    assert after_sending.calls == 1
    server_error = ScriptedSession(answer(502), answer(200, {}))
    assert call(server_error, creates_credential=True).status_code == 502
    assert server_error.calls == 1


def test_giving_up_raises_the_callers_error_without_the_query_string() -> None:
    session = ScriptedSession(answer(503), answer(503), answer(503))
    with pytest.raises(VaultError) as raised:
        call(session)
    assert "POST https://vault.example/v1/auth/jwt/login" in str(raised.value)
    assert TOKEN not in str(raised.value)
    assert session.calls == 3


def test_other_request_failures_name_only_their_type() -> None:
    session = ScriptedSession(
        raise_(requests.exceptions.InvalidURL(f"bad https://vault.example/?token={TOKEN}"))
    )
    with pytest.raises(VaultError, match=r"failed: InvalidURL; check that the address") as raised:
        call(session)
    assert TOKEN not in str(raised.value)
