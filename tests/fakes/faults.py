"""Fault injection shared by the fake servers: errors by rate or on the Nth call, latency.

A fault is decided per incoming request, before the fake's own handler runs, so a
fault never changes the fake's state (a 503 means "nothing happened", as on the real
services). ``Fault.timeout`` is the exception: it sleeps and then drops the connection,
so the client cannot know whether the request was processed (it was not), and
``Fault.lost_response`` carries the call out and then drops the connection.
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Fault:
    """What to do instead of answering normally.

    kind: ``status`` (answer ``status`` with ``headers``), ``timeout`` (sleep ``delay``
    seconds, longer than the client's timeout, then drop the connection), ``reset``
    (close the socket at once with a TCP reset), ``lost_response`` (do the call, then
    drop the connection, so the change happened but the client cannot know),
    ``wrong_data`` (answer 200 with a body that is not what the API returns).
    """

    kind: str
    status: int = 503
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    body: bytes = b'{"message": "injected fault"}'

    @classmethod
    def server_error(cls, status: int = 503) -> Fault:
        return cls("status", status=status)

    @classmethod
    def too_many_requests(cls, retry_after: str = "1") -> Fault:
        """429 with Retry-After (seconds, or an HTTP date)."""
        return cls("status", status=429, headers=(("Retry-After", retry_after),))

    @classmethod
    def secondary_rate_limit(cls, retry_after: str = "1") -> Fault:
        """GitHub's secondary rate limit: 403 with Retry-After."""
        return cls(
            "status",
            status=403,
            headers=(("Retry-After", retry_after),),
            body=b'{"message": "You have exceeded a secondary rate limit."}',
        )

    @classmethod
    def primary_rate_limit(cls, reset_epoch: int) -> Fault:
        """GitHub's primary rate limit: 403, remaining 0, reset at ``reset_epoch``."""
        return cls(
            "status",
            status=403,
            headers=(
                ("x-ratelimit-limit", "5000"),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", str(reset_epoch)),
            ),
            body=b'{"message": "API rate limit exceeded"}',
        )

    @classmethod
    def timeout(cls, delay: float = 1.0) -> Fault:
        return cls("timeout", delay=delay)

    @classmethod
    def reset(cls) -> Fault:
        return cls("reset")

    @classmethod
    def lost_response(cls) -> Fault:
        """Carry the call out, then drop the connection: the client never hears back."""
        return cls("lost_response")

    @classmethod
    def wrong_data(cls, body: bytes = b"<html>not json</html>") -> Fault:
        return cls("wrong_data", status=200, body=body)


@dataclass
class _Rule:
    fault: Fault
    method: str | None
    path: re.Pattern[str] | None
    nth: set[int] = field(default_factory=set)  # 1-based among matching calls
    rate: float = 0.0
    seen: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.path is None or self.path.search(path) is not None


class Faults:
    """The fault plan of one fake server; thread-safe.

    >>> fake.faults.on_call(1, Fault.server_error(), method="GET", path=r"/dist/")
    >>> fake.faults.at_rate(0.2, Fault.too_many_requests("0"))
    >>> fake.faults.latency = 0.05
    """

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._rules: list[_Rule] = []
        self.latency = 0.0  # seconds added to every call (faulty or not)
        self.injected = 0  # how many faults were injected so far
        self.injected_by_kind: Counter[str] = Counter()  # e.g. "status 503", "timeout"

    def seed(self, seed: int) -> None:
        with self._lock:
            self._rng = random.Random(seed)

    def on_call(
        self, *nth: int, fault: Fault, method: str | None = None, path: str | None = None
    ) -> None:
        """Inject ``fault`` on the given 1-based calls among those matching method/path."""
        self._add(_Rule(fault, method, _compile(path), nth=set(nth)))

    def at_rate(
        self, rate: float, fault: Fault, method: str | None = None, path: str | None = None
    ) -> None:
        """Inject ``fault`` on a seeded-random fraction ``rate`` of matching calls."""
        self._add(_Rule(fault, method, _compile(path), rate=rate))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self.latency = 0.0

    def _add(self, rule: _Rule) -> None:
        with self._lock:
            self._rules.append(rule)

    def pick(self, method: str, path: str) -> Fault | None:
        """The fault for this call, if any (every matching rule counts the call)."""
        chosen: Fault | None = None
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path):
                    continue
                rule.seen += 1
                hit = rule.seen in rule.nth or (rule.rate > 0 and self._rng.random() < rule.rate)
                if hit and chosen is None:
                    chosen = rule.fault
            if chosen is not None:
                self.injected += 1
                name = f"status {chosen.status}" if chosen.kind == "status" else chosen.kind
                self.injected_by_kind[name] += 1
        return chosen


def _compile(path: str | None) -> re.Pattern[str] | None:
    return re.compile(path) if path is not None else None
