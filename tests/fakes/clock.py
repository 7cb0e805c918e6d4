"""The one fake clock: tests move it by hand, nothing ever really waits.

The queue calls it for the current ``datetime``; HTTP retries ask ``time()`` for
seconds since the epoch and ``sleep`` on it, which moves the clock and remembers the
wait. By default it starts now (the fake servers' tokens and rate-limit resets use
real time); queue tests start it at ``START`` so their timestamps are fixed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start if start is not None else datetime.now(UTC)
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta

    def time(self) -> float:
        return self.now.timestamp()

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(timedelta(seconds=seconds))
