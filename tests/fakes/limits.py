"""GitHub's documented REST rate limits, and a modelled one for anaconda.org, as the fakes
enforce them.

GitHub (docs.github.com, "Rate limits for the REST API", and "Best practices for using
the REST API"):

- primary: 5,000 requests an hour for an App installation (all its tokens share it; a
  plain token has its own), in a window that starts with the first request and resets
  an hour later. Past it: 403, ``x-ratelimit-remaining: 0``, ``x-ratelimit-reset``.
- secondary: at most 100 concurrent requests; at most 900 points a minute per REST
  endpoint (GET, HEAD, OPTIONS cost 1, POST, PATCH, PUT, DELETE 5); at most 80
  content-generating requests a minute and 500 an hour; and, from the best-practice
  page, at least a second between mutations from one client. Past one: 403 (or 429)
  with "You have exceeded a secondary rate limit", ``retry-after`` when the limit says
  how long, otherwise no hint (the client waits at least a minute).

Every answer of a limited fake carries ``x-ratelimit-limit``, ``-remaining``, ``-used``,
``-reset`` and ``-resource``, as GitHub's do. What GitHub does not say, and this model
assumes: which requests are "content-generating" (``CONTENT_GENERATING``: issues,
comments, pull requests, commits and file writes; not secrets, labels or refs), that an
"endpoint" is one method on one path template, which limit answers 429 rather than 403
(``secondary_status``), and that the concurrency limit gives no ``retry-after``.

Time is the fake's clock (``FakeServer.now()``, which a test or benchmark may point at
``tests/fakes/clock.py``), so a limit's window passes when the client sleeps on the
same fake clock: nothing really waits.
"""

from __future__ import annotations

import math
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
)
SECONDARY_DOCS = (
    "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
    "#about-secondary-rate-limits"
)
PRIMARY_DOCS = (
    "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
    "#about-primary-rate-limits"
)
READS = ("GET", "HEAD", "OPTIONS")

# Requests that create content someone sees (GitHub does not publish the list).
CONTENT_GENERATING = tuple(
    (method, re.compile(pattern))
    for method, pattern in (
        ("POST", r"^/repos/[^/]+/[^/]+/issues$"),
        ("POST", r"^/repos/[^/]+/[^/]+/issues/\d+/comments$"),
        ("POST", r"^/repos/[^/]+/[^/]+/pulls$"),
        ("PUT", r"^/repos/[^/]+/[^/]+/contents/.+"),
        ("DELETE", r"^/repos/[^/]+/[^/]+/contents/.+"),
        ("POST", r"^/repos/[^/]+/[^/]+/git/commits$"),
        ("POST", r"^/repos/[^/]+/[^/]+/git/trees$"),
        ("POST", r"^/repos/[^/]+/[^/]+/git/blobs$"),
    )
)


def content_generating(method: str, path: str) -> bool:
    return any(method == m and regex.match(path) for m, regex in CONTENT_GENERATING)


@dataclass(frozen=True)
class GitHubLimits:
    """The numbers; ``GitHubLimits()`` is github.com's, ``generous()`` never bites."""

    requests_per_hour: int = 5000
    concurrent: int = 100
    points_per_minute: int = 900  # per endpoint
    read_points: int = 1
    mutation_points: int = 5
    content_per_minute: int = 80
    content_per_hour: int = 500
    mutation_spacing: float = 1.0  # seconds between two mutations of one client
    # The status of a secondary refusal: GitHub documents "403 or 429".
    secondary_status: int = 403

    @classmethod
    def generous(cls) -> GitHubLimits:
        big = 10**9
        return cls(
            requests_per_hour=big,
            concurrent=big,
            points_per_minute=big,
            content_per_minute=big,
            content_per_hour=big,
            mutation_spacing=0.0,
        )


@dataclass(frozen=True)
class Refusal:
    status: int
    message: str
    documentation_url: str
    headers: dict[str, str]
    limit: str  # which limit refused: "primary", "concurrent", "endpoint", ...


@dataclass
class _Client:
    window_start: float | None = None
    used: int = 0
    in_flight: int = 0
    last_mutation: float | None = None
    points: dict[str, deque[tuple[float, int]]] = field(default_factory=dict)
    content: deque[float] = field(default_factory=deque)


class RateLimiter:
    """Admits or refuses each request of each client; thread-safe.

    ``admit`` at arrival returns a ``Refusal`` or None (then ``release`` when the
    answer has gone out); ``headers`` are the ``x-ratelimit-*`` of the client's
    current window. ``refused`` counts refusals by limit.
    """

    def __init__(self, limits: GitHubLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.clock = clock
        self._clients: dict[str, _Client] = {}
        self._lock = threading.Lock()
        self.refused: dict[str, int] = {}
        self.admitted = 0
        self.peak_in_flight = 0

    def admit(self, client: str, method: str, endpoint: str, path: str) -> Refusal | None:
        now = self.clock()
        with self._lock:
            state = self._clients.setdefault(client, _Client())
            refusal = self._check(state, now, method, endpoint, path)
            if refusal is not None:
                self.refused[refusal.limit] = self.refused.get(refusal.limit, 0) + 1
                return refusal
            self._count(state, now, method, endpoint, path)
            self.admitted += 1
            state.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, state.in_flight)
            return None

    def release(self, client: str) -> None:
        with self._lock:
            self._clients[client].in_flight -= 1

    def headers(self, client: str) -> dict[str, str]:
        with self._lock:
            state = self._clients.setdefault(client, _Client())
            self._roll_window(state, self.clock())
            return self._primary_headers(state)

    # -- the checks, in GitHub's order of cost: primary first ------------------------

    def _check(
        self, state: _Client, now: float, method: str, endpoint: str, path: str
    ) -> Refusal | None:
        limits = self.limits
        self._roll_window(state, now)
        if state.used >= limits.requests_per_hour:
            return Refusal(
                403,
                "API rate limit exceeded.",
                PRIMARY_DOCS,
                self._primary_headers(state),
                "primary",
            )
        if state.in_flight >= limits.concurrent:
            return self._secondary(state, None, "concurrent")
        mutation = method not in READS
        if mutation and state.last_mutation is not None:
            gap = now - state.last_mutation
            if gap < limits.mutation_spacing:
                return self._secondary(state, limits.mutation_spacing - gap, "mutation spacing")
        cost = limits.mutation_points if mutation else limits.read_points
        window = state.points.setdefault(endpoint, deque())
        _drop_before(window, now - 60)
        spent = sum(points for _, points in window)
        if spent + cost > limits.points_per_minute:
            return self._secondary(state, _free_after(window, now, 60), "endpoint points")
        if content_generating(method, path):
            _drop_before_times(state.content, now - 3600)
            last_minute = sum(1 for t in state.content if t > now - 60)
            if last_minute >= limits.content_per_minute:
                wait = min(t for t in state.content if t > now - 60) + 60 - now
                return self._secondary(state, wait, "content per minute")
            if len(state.content) >= limits.content_per_hour:
                return self._secondary(state, state.content[0] + 3600 - now, "content per hour")
        return None

    def _count(self, state: _Client, now: float, method: str, endpoint: str, path: str) -> None:
        mutation = method not in READS
        state.used += 1
        if mutation:
            state.last_mutation = now
        cost = self.limits.mutation_points if mutation else self.limits.read_points
        state.points[endpoint].append((now, cost))
        if content_generating(method, path):
            state.content.append(now)

    def _roll_window(self, state: _Client, now: float) -> None:
        if state.window_start is None or now >= state.window_start + 3600:
            state.window_start = now
            state.used = 0

    def _primary_headers(self, state: _Client) -> dict[str, str]:
        start = state.window_start if state.window_start is not None else self.clock()
        limit = self.limits.requests_per_hour
        return {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(max(0, limit - state.used)),
            "x-ratelimit-used": str(state.used),
            "x-ratelimit-reset": str(math.ceil(start + 3600)),
            "x-ratelimit-resource": "core",
        }

    def _secondary(self, state: _Client, wait: float | None, limit: str) -> Refusal:
        headers = self._primary_headers(state)
        if wait is not None:
            headers["retry-after"] = str(max(1, math.ceil(wait)))
        return Refusal(
            self.limits.secondary_status, SECONDARY_MESSAGE, SECONDARY_DOCS, headers, limit
        )


def _drop_before(window: deque[tuple[float, int]], when: float) -> None:
    while window and window[0][0] <= when:
        window.popleft()


def _drop_before_times(window: deque[float], when: float) -> None:
    while window and window[0] <= when:
        window.popleft()


def _free_after(window: deque[tuple[float, int]], now: float, span: float) -> float:
    """Seconds until the oldest request of the window leaves it."""
    return window[0][0] + span - now if window else 0.0


# == anaconda.org ======================================================================
# anaconda.org publishes no rate limits. The fake models a conservative one, an
# assumption docs/performance.md states: per token (or per address when anonymous), at
# most ``requests_per_minute`` requests in any minute (1,200: 20 a second, what one
# client calling one after the other at 50 ms a call makes), answered 429 with
# Retry-After (the status and header anaconda-client and every HTTP library understand).


@dataclass(frozen=True)
class AnacondaLimits:
    requests_per_minute: int = 1200

    @classmethod
    def generous(cls) -> AnacondaLimits:
        return cls(10**9)


class AnacondaRateLimiter:
    def __init__(self, limits: AnacondaLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.clock = clock
        self._windows: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self.refused = 0
        self.admitted = 0

    def admit(self, client: str) -> float | None:
        """None when admitted, else the seconds to wait (the Retry-After)."""
        now = self.clock()
        with self._lock:
            window = self._windows.setdefault(client, deque())
            _drop_before_times(window, now - 60)
            if len(window) >= self.limits.requests_per_minute:
                self.refused += 1
                return window[0] + 60 - now
            window.append(now)
            self.admitted += 1
            return None
