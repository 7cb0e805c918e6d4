"""The few HTTP calls the credential code makes, with errors that cannot leak.

Responses to these calls carry tokens, so an error never quotes a response body: it
names the method, the URL (without query string) and the status. Vault's ``errors``
list is the exception: it says which bound claim did not match, holds no secret, and
is what an operator needs to fix a trust policy; it still passes through the redactor.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from admin_requests.credentials.redact import Masker
from admin_requests.errors import CredentialError, TransientError
from admin_requests.services.http import Retrier, RetryableFailure, is_secondary_limit, retryable

log = logging.getLogger(__name__)


def url_without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def vault_error_detail(response: requests.Response, masker: Masker) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return ""
    text = "; ".join(str(error) for error in errors)[:300]
    return masker.redact(text)


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    error: type[CredentialError],
    timeout: float,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    data: Mapping[str, str] | None = None,
    retrier: Retrier | None = None,
    creates_credential: bool = False,
) -> requests.Response:
    """One request with a timeout and bounded retries; failures name the URL only.

    A call that creates a credential (a login, a mint) is retried only when it cannot
    have taken effect: the connection was never made, or the service answered 429. A
    retried 5xx could leave a first token nobody can revoke (it would still expire).
    Every other call is retried on connection errors, timeouts, 5xx and 429.
    """
    where = f"{method} {url_without_query(url)}"
    retrier = retrier or Retrier()
    clock = retrier.clock

    def attempt() -> requests.Response:
        try:
            # Mints and revocations are mutations too: paced with the kinds' (GitHub's
            # second between mutations counts every call of the installation).
            with retrier.paced(method):
                response = session.request(
                    method, url, headers=dict(headers or {}), json=json, data=data, timeout=timeout
                )
        except requests.ConnectTimeout:
            raise RetryableFailure(f"no connection within {timeout}s") from None
        except requests.ConnectionError as exc:
            sent = not _never_connected(exc)
            if creates_credential and sent:
                raise error(
                    f"{where} failed after sending ({type(exc).__name__}); not retried, as "
                    "it may have created a credential; the next run tries again"
                ) from None
            raise RetryableFailure(f"connection failed ({type(exc).__name__})") from None
        except requests.RequestException as exc:
            # str(exc) can include the full URL with its query string, so only the type.
            raise error(
                f"{where} failed: {type(exc).__name__}; check that the address is right "
                "and reachable from the runner"
            ) from None
        status = response.status_code
        failure = retryable(status, response.headers, clock(), _limit_message(response))
        # A refusal by a rate limit did nothing, so even a mint may be repeated.
        if failure is not None and (failure.rate_limited or not creates_credential):
            raise failure
        return response

    try:
        return retrier.run(attempt, where)
    except TransientError as exc:
        raise error(f"{exc}") from None


def _limit_message(response: requests.Response) -> str:
    """The words of a 403 when they name a secondary rate limit, else nothing.

    Bodies of these calls may hold tokens, so nothing else of them is kept.
    """
    if response.status_code != 403:
        return ""
    try:
        body = response.json()
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) and is_secondary_limit(message) else ""


def _never_connected(exc: requests.ConnectionError) -> bool:
    """True when the failure happened before any byte of the request was sent."""
    text = repr(exc.args)
    return (
        "NewConnectionError" in text
        or "Connection refused" in text
        or ("NameResolutionError" in text)
    )


def json_object(response: requests.Response, error: type[CredentialError]) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise error(
            f"{response.request.method} {url_without_query(response.url)} answered "
            f"{response.status_code} without a JSON object"
        )
    return body
