"""HTTP with timeouts and bounded retries, shared by every client in this package.

What is retried: connection errors and timeouts, 5xx, 429, and GitHub's rate limits.
Nothing else: any other 4xx means the call is wrong as it is, so it raises a
``PermanentError`` at once. Ordinary failures wait with exponential backoff and
jitter, bounded per wait, in number of attempts and in total.

Rate limits are waited out, as GitHub's "Rate limits for the REST API" page says, on a
budget of their own (``RetryPolicy.max_rate_limit_waits`` waits and
``max_rate_limit_wait`` seconds in one call):

- ``retry-after`` (seconds or an HTTP date): wait that long;
- primary limit (403 or 429 with ``x-ratelimit-remaining: 0``): wait until
  ``x-ratelimit-reset``; later calls of the same client wait for it too without
  asking again, since every one of them would be refused;
- a secondary limit without either header (403 or 429 whose message says "secondary
  rate limit"), or a 429 without hints: wait at least a minute, doubling each time.

Past the budget a ``TransientError`` tells the caller to try again in a later run (the
queue's backoff), never a permanent failure. ``Pacer`` keeps mutations at least
``RetryPolicy.mutation_spacing`` apart and one at a time, as GitHub asks of one client,
and all calls under GitHub's 900 points a minute (``github_points_per_minute``), so the
engine meets no limit in normal operation. Sleeping and the clock are injectable, so
tests never really wait.

The Authorization header and tokens never reach a log line or an exception message.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
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
    # Rate limits have a budget of their own: they pass by waiting, and GitHub's page
    # asks for at least a minute (doubling) when a secondary limit gives no hint.
    max_rate_limit_waits: int = 8
    max_rate_limit_wait: float = 900.0  # seconds of rate-limit waits in one call
    secondary_wait: float = 60.0  # the first wait for a limit without headers
    # Seconds between two mutations (POST, PATCH, PUT, DELETE) of one client; 0: none.
    mutation_spacing: float = 1.0
    # GitHub's 900 points a minute per endpoint (a read 1, a mutation 5): the client
    # keeps all its calls a little under it, so no endpoint can pass it (0: no pacing).
    github_points_per_minute: int = 880
    # anaconda.org publishes no limit; the client keeps under a modelled one, an
    # assumption docs/performance.md states (requests a minute; 0: no pacing).
    anaconda_requests_per_minute: int = 1150  # a little under the modelled 1,200

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """The wait before attempt ``attempt + 1`` when the server gave no hint."""
        delay = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return float(delay * (1 - self.jitter * rng.random()))


class RetryableFailure(Exception):
    """One attempt failed in a way that may pass; ``wait`` is the server's hint, if any.

    ``rate_limited``: a rate limit refused the call (its own budget; without a ``wait``
    the wait is at least ``secondary_wait``, doubling); ``until``: the primary limit's
    reset, when every call of the client waits.
    """

    def __init__(
        self,
        reason: str,
        wait: float | None = None,
        *,
        rate_limited: bool = False,
        until: float | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait
        self.rate_limited = rate_limited
        self.until = until


class Pacer:
    """Keeps calls of one client ``spacing`` seconds apart (thread-safe).

    ``take_slot``: each call takes the next free slot, counted from the last slot, and
    sleeps until it (a steady rate: anaconda.org's modelled limit). ``turn``: one call
    at a time, sent at least ``spacing`` after the previous one was answered, so
    arrivals are never closer than that whatever the network does (GitHub's mutations:
    it asks for a second between them, and for mutations one after the other).
    """

    def __init__(self, spacing: float, *, sleep: Sleep, clock: Clock) -> None:
        self.spacing = spacing
        self.sleep = sleep
        self.clock = clock
        self._next = 0.0
        self._last_done: float | None = None
        self._lock = threading.Lock()
        self._turn = threading.Lock()
        self.waited = 0.0  # seconds slept for pacing, in total

    def take_slot(self, cost: float = 1.0) -> None:
        if self.spacing <= 0:
            return
        with self._lock:
            now = self.clock()
            slot = max(now, self._next)
            self._next = slot + self.spacing * cost
            self.waited += slot - now
        if slot > now:
            self.sleep(slot - now)

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        if self.spacing <= 0:
            yield
            return
        with self._turn:
            if self._last_done is not None:
                wait = self._last_done + self.spacing - self.clock()
                if wait > 0:
                    self.waited += wait
                    self.sleep(wait)
            try:
                yield
            finally:
                self._last_done = self.clock()


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
        self.pacer = Pacer(self.policy.mutation_spacing, sleep=sleep, clock=clock)
        per_minute = self.policy.github_points_per_minute
        self.points = Pacer(60.0 / per_minute if per_minute > 0 else 0.0, sleep=sleep, clock=clock)
        # The primary limit's reset, once a call met it: every call waits for it.
        self._blocked_until = 0.0
        self._lock = threading.Lock()
        self.rate_limit_waits = 0  # every rate-limit wait of every call, for the figures

    def sibling(self) -> Retrier:
        """A Retrier for another service: the same policy, sleep and clock, its own
        pacing and its own memory of a spent primary limit (GitHub's is not
        anaconda.org's)."""
        return Retrier(self.policy, sleep=self.sleep, clock=self.clock, rng=self.rng)

    def paced(self, method: str) -> contextlib.AbstractContextManager[None]:
        """Around sending: every call takes its points (``github_points_per_minute``: a
        read 1, a mutation 5), and a mutation waits for its turn (``mutation_spacing``)."""
        if method.upper() in ("GET", "HEAD", "OPTIONS"):
            self.points.take_slot(1)
            return contextlib.nullcontext()
        self.points.take_slot(5)
        return self.pacer.turn()

    def run(self, operation: Callable[[], T], what: str) -> T:
        waited = 0.0
        attempt = 1
        limited = _RateLimitBudget(self.policy)
        while True:
            self._wait_for_reset(limited, what)
            try:
                return operation()
            except RetryableFailure as failure:
                if failure.rate_limited:
                    self._wait_out(failure, limited, what)
                    continue
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

    def _wait_for_reset(self, limited: _RateLimitBudget, what: str) -> None:
        """A call made while the primary limit is spent waits for its reset unsent."""
        with self._lock:
            delay = self._blocked_until - self.clock()
        if delay > 0:
            limited.spend(delay, what, "the primary rate limit is spent")
            self._sleep_rate_limit(delay, what, "the primary rate limit is spent")

    def _wait_out(self, failure: RetryableFailure, limited: _RateLimitBudget, what: str) -> None:
        if failure.until is not None:
            with self._lock:
                self._blocked_until = max(self._blocked_until, failure.until)
            # At least a second: a reset the server says is still ahead is, whatever
            # this clock says.
            delay = max(1.0, failure.until - self.clock())
        else:
            delay = limited.next_wait(failure.wait)
        limited.spend(delay, what, failure.reason)
        self._sleep_rate_limit(delay, what, failure.reason)

    def _sleep_rate_limit(self, delay: float, what: str, reason: str) -> None:
        log.info("%s: %s; waiting %.0fs for the rate limit", what, reason, delay)
        with self._lock:
            self.rate_limit_waits += 1
        self.sleep(delay)


class _RateLimitBudget:
    """The rate-limit waits of one call: how many, how long, the doubling blind wait."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.waits = 0
        self.waited = 0.0
        self.blind = 0  # waits without a hint so far

    def next_wait(self, hint: float | None) -> float:
        if hint is not None:
            return max(0.0, hint)
        self.blind += 1
        return float(self.policy.secondary_wait * 2.0 ** (self.blind - 1))

    def spend(self, delay: float, what: str, reason: str) -> None:
        policy = self.policy
        if self.waits >= policy.max_rate_limit_waits:
            raise TransientError(
                f"{what}: still rate-limited ({reason}) after {self.waits} waits; it is "
                "retried in a later run."
            )
        if self.waited + delay > policy.max_rate_limit_wait:
            raise TransientError(
                f"{what}: rate-limited ({reason}) for {self.waited + delay:.0f}s, longer than "
                f"one call waits ({policy.max_rate_limit_wait:.0f}s); it is retried in a "
                "later run."
            )
        self.waits += 1
        self.waited += delay


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


def is_secondary_limit(message: str) -> bool:
    """GitHub's words for a secondary rate limit ("You have exceeded a secondary rate
    limit..."); octokit's throttling plugin tells them apart the same way."""
    return "secondary rate limit" in message.lower()


def retryable(
    status: int, headers: Mapping[str, str], now: float, message: str = ""
) -> RetryableFailure | None:
    """The failure to retry for an answer, or None when retrying cannot help.

    Rate limits (429; 403 with ``retry-after``, with ``x-ratelimit-remaining: 0`` or
    with GitHub's secondary-limit message) are ``rate_limited``; 5xx are not.
    """
    if status >= 500:
        return RetryableFailure(f"HTTP {status}", retry_after_seconds(headers, now))
    if status not in (403, 429):
        return None
    retry_after = retry_after_seconds(headers, now)
    if retry_after is not None:
        return RetryableFailure(
            f"HTTP {status} rate limit, retry-after {retry_after:.0f}s",
            retry_after,
            rate_limited=True,
        )
    reset = rate_limit_reset_seconds(headers, now)
    if reset is not None:
        return RetryableFailure(
            f"HTTP {status} primary rate limit, resets in {reset:.0f}s",
            reset,
            rate_limited=True,
            until=now + reset,
        )
    if status == 429 or is_secondary_limit(message):
        return RetryableFailure(f"HTTP {status} secondary rate limit", rate_limited=True)
    return None


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
        message = _message(response)
        failure = retryable(status, response.headers, self.retrier.clock(), message)
        if failure is not None:
            raise failure
        raise permanent_error(status, f"{method} {self.base_url}{path}", message)

    def _send(
        self,
        method: str,
        url: str,
        json: Any,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
    ) -> requests.Response:
        try:
            with self.retrier.paced(method):
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
