"""The job's GitHub OIDC token: the only proof of identity a job has.

Actions gives a job with ``id-token: write`` two variables: a URL and a bearer token to
call it with. The ID token it returns is a short-lived (5 minute) RS256 JWT whose claims
(repository_id, job_workflow_ref, environment, event_name...) the vault's trust policy
checks. It is requested fresh for every login rather than kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import quote

import requests

from admin_requests.credentials.http import json_object, send, url_without_query
from admin_requests.credentials.redact import Masker, Secret
from admin_requests.errors import OidcTokenError
from admin_requests.services.http import Retrier

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OidcRequester:
    request_url: str
    request_token: Secret
    session: requests.Session
    masker: Masker
    timeout: float = 30.0
    retrier: Retrier | None = None

    def id_token(self, audience: str) -> Secret:
        separator = "&" if "?" in self.request_url else "?"
        url = f"{self.request_url}{separator}audience={quote(audience, safe='')}"
        response = send(
            self.session,
            "GET",
            url,
            error=OidcTokenError,
            timeout=self.timeout,
            headers={
                "Authorization": f"Bearer {self.request_token.reveal()}",
                "Accept": "application/json",
            },
            retrier=self.retrier,
        )
        if response.status_code != 200:
            raise OidcTokenError(
                f"the Actions ID-token endpoint {url_without_query(url)!r} answered "
                f"{response.status_code} for audience {audience!r}; the job needs "
                "'permissions: id-token: write' and must not run for a pull request"
            )
        value = json_object(response, OidcTokenError).get("value")
        if not isinstance(value, str) or not value:
            raise OidcTokenError(
                f"the Actions ID-token endpoint {url_without_query(url)!r} answered without "
                "a 'value'; check ACTIONS_ID_TOKEN_REQUEST_URL points at the runner's service"
            )
        log.debug("obtained an OIDC ID token for audience %r", audience)
        return self.masker.register(value)
