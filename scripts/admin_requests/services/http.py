"""HTTP with timeouts and bounded retries, shared by every client in this package.

What is retried: connection errors and timeouts, 5xx, 429, and GitHub's rate limits
(403 with ``Retry-After``: the secondary limit; 403 or 429 with
``x-ratelimit-remaining: 0``: the primary limit, waiting until ``x-ratelimit-reset``).
Nothing else: any other 4xx means the call is wrong as it is, so it raises a
``PermanentError`` at once. Waits grow exponentially with jitter, honour
``Retry-After`` (seconds or an HTTP date), and are bounded per wait, in number of
attempts and in total; past the bound a ``TransientError`` tells the caller to try again
in a later run rather than block the job.

The Authorization header and tokens never reach a log line or an exception message.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import requests

from admin_requests.errors import (
    AccessDeniedError,
    ConflictError,
    NotFoundError,
    PermanentError,
    TransientError,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

Sleep = Callable[[float], None]
Clock = Callable[[], float]


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 1.0  # first backoff wait, doubled per attempt
    max_delay: float = 60.0  # no single wait is longer than this
    max_total_wait: float = 180.0  # waiting more than this in one call: give up for this run
    jitter: float = 0.5  # each backoff wait is scaled by a random factor in [1 - jitter, 1]

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """The wait before attempt ``attempt + 1`` when the server gave no hint."""
        delay = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return float(delay * (1 - self.jitter * rng.random()))


class RetryableFailure(Exception):
    """One attempt failed in a way that may pass; ``wait`` is the server's hint, if any."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


class Retrier:
    """Runs one operation with the retry policy; sleep, clock and RNG are injectable."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        sleep: Sleep = time.sleep,
        clock: Clock = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 (jitter, not security)

    def run(self, operation: Callable[[], T], what: str) -> T:
        waited = 0.0
        attempt = 1
        while True:
            try:
                return operation()
            except RetryableFailure as failure:
                delay = self._delay(failure, attempt)
                if attempt >= self.policy.max_attempts:
                    raise TransientError(
                        f"{what} failed {attempt} times (last: {failure.reason}); the service "
                        "is unavailable or rate-limiting: it is retried in a later run."
                    ) from None
                if delay > self.policy.max_delay or waited + delay > self.policy.max_total_wait:
                    raise TransientError(
                        f"{what} failed ({failure.reason}) and the service asks to wait "
                        f"{delay:.0f}s, longer than this run waits; it is retried in a later run."
                    ) from None
                log.info(
                    "%s: %s; attempt %d of %d in %.1fs",
                    what,
                    failure.reason,
                    attempt + 1,
                    self.policy.max_attempts,
                    delay,
                )
                self.sleep(delay)
                waited += delay
                attempt += 1

    def _delay(self, failure: RetryableFailure, attempt: int) -> float:
        if failure.wait is not None:
            return max(0.0, failure.wait)
        return self.policy.backoff(attempt, self.rng)


def retry_after_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """``Retry-After`` as seconds from ``now`` (it is either seconds or an HTTP date)."""
    value = _header(headers, "retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def rate_limit_reset_seconds(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds until GitHub's primary rate limit resets, when it is exhausted."""
    if _header(headers, "x-ratelimit-remaining") != "0":
        return None
    reset = _header(headers, "x-ratelimit-reset")
    if reset is None or not reset.strip().isdigit():
        return None
    # One second more: the reset time is rounded down to whole seconds.
    return max(0.0, float(reset) - now) + 1.0


def retry_hint(status: int, headers: Mapping[str, str], now: float) -> tuple[bool, float | None]:
    """(whether a response with ``status`` is worth retrying, how long to wait if known)."""
    retry_after = retry_after_seconds(headers, now)
    reset = rate_limit_reset_seconds(headers, now)
    if status >= 500:
        return True, retry_after
    if status == 429:
        return True, retry_after if retry_after is not None else reset
    if status == 403 and (retry_after is not None or reset is not None):
        return True, retry_after if retry_after is not None else reset
    return False, None


def never_connected(error: requests.ConnectionError) -> bool:
    """True when the request cannot have reached the server (no connection was made)."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    text = repr(error.args)
    return any(
        sign in text for sign in ("NewConnectionError", "Connection refused", "NameResolutionError")
    )


def permanent_error(status: int, what: str, message: str) -> PermanentError:
    """The named error for a 4xx that retrying cannot fix."""
    if status == 404:
        return NotFoundError(f"{what}: not found (404): {message}", status=status)
    if status in (401, 403):
        return AccessDeniedError(
            f"{what}: access denied ({status}): {message}; the token is missing, expired or "
            "lacks the permission; check the credentials this request was given.",
            status=status,
        )
    if status == 409:
        return ConflictError(f"{what}: conflict (409): {message}", status=status)
    return PermanentError(f"{what}: refused ({status}): {message}", status=status)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def error_message(body: Any) -> str:
    """A service's error text from its JSON body, short.

    GitHub puts the detail of a 422 in ``errors``: ``{"message": "Validation Failed",
    "errors": [{"resource": "PullRequest", "code": "custom", "message": "A pull request
    already exists for owner:branch."}]}``; other answers carry it in ``message`` alone
    (``{"message": "Reference already exists"}``). Both are read, so callers can tell
    one refusal from another.
    """
    if not isinstance(body, dict) or "message" not in body:
        return str(body)[:300]
    parts = [str(body["message"])]
    for error in body.get("errors") or []:
        if isinstance(error, dict):
            detail = error.get("message") or " ".join(
                str(error[key]) for key in ("resource", "field", "code") if error.get(key)
            )
            if detail:
                parts.append(str(detail))
        elif error:
            parts.append(str(error))
    return ": ".join(parts)[:300]


def _message(response: requests.Response) -> str:
    """The service's error message, short; never the request (it has the token)."""
    try:
        body = response.json()
    except ValueError:
        return response.reason or "no message"
    return error_message(body)


class HttpClient:
    """A requests.Session bound to one base URL, with a timeout and retries on every call."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        auth_scheme: str = "token",
        timeout: float = 30.0,
        retrier: Retrier | None = None,
        session: requests.Session | None = None,
        user_agent: str = "admin-requests",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retrier = retrier or Retrier()
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = user_agent
        if token:
            self.session.headers["Authorization"] = f"{auth_scheme} {token}"

    def __repr__(self) -> str:  # never show the session's headers
        return f"HttpClient({self.base_url!r})"

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        missing_ok: bool = False,
    ) -> requests.Response | None:
        """One call with retries; None for a 404 when ``missing_ok``; other 4xx raise."""
        what = f"{method} {self.base_url}{path}"
        return self.retrier.run(
            lambda: self._attempt(method, path, json, params, headers, missing_ok), what
        )

    def json(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        missing_ok: bool = False,
    ) -> Any:
        """A call whose answer must be JSON; a 2xx with a body that is not JSON is retried."""

        def attempt() -> Any:
            response = self._attempt(method, path, json, params, headers, missing_ok)
            if response is None:
                return None
            if not response.content:
                return {}
            try:
                return response.json()
            except ValueError:
                raise RetryableFailure("the answer was not JSON") from None

        return self.retrier.run(attempt, f"{method} {self.base_url}{path}")

    def _attempt(
        self,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        missing_ok: bool,
    ) -> requests.Response | None:
        response = self._send(method, self.base_url + path, json, params, headers)
        status = response.status_code
        if status < 400:
            return response
        if status == 404 and missing_ok:
            return None
        retry, wait = retry_hint(status, response.headers, self.retrier.clock())
        if retry:
            raise RetryableFailure(f"HTTP {status}", wait)
        raise permanent_error(status, f"{method} {self.base_url}{path}", _message(response))

    def _send(
        self,
        method: str,
        url: str,
        json: Any,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
    ) -> requests.Response:
        try:
            response = self.session.request(
                method,
                url,
                json=json,
                params=params,
                headers=dict(headers or {}),
                timeout=self.timeout,
            )
        except requests.Timeout:
            raise RetryableFailure(f"no answer within {self.timeout}s") from None
        except requests.ConnectionError as error:
            raise RetryableFailure(f"connection failed ({type(error).__name__})") from None
        log.debug("%s %s -> %d", method, url, response.status_code)
        return response
