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

from ..errors import CredentialError
from .redact import Masker

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
) -> requests.Response:
    """One request with a timeout; connection failures name the URL, nothing else."""
    try:
        return session.request(
            method, url, headers=dict(headers or {}), json=json, data=data, timeout=timeout
        )
    except requests.RequestException as exc:
        # str(exc) of a requests error can include the full URL with its query string
        # (an OIDC request URL carries a token-like parameter), so only the type is kept.
        raise error(
            f"{method} {url_without_query(url)} failed: {type(exc).__name__}; check that "
            "the address is right and reachable from the runner"
        ) from None


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
