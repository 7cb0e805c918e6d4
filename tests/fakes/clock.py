"""The one fake clock: tests move it by hand, nothing ever really waits.

The queue calls it for the current ``datetime``; HTTP retries ask ``time()`` for
seconds since the epoch and ``sleep`` on it, which moves the clock and remembers the
wait. By default it starts now (the fake servers' tokens and rate-limit resets use
real time); queue tests start it at ``START`` so their timestamps are fixed.
"""

from __future__ import annotations

import mmap
import struct
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

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


class SharedClock:
    """Real time plus modelled waits, shared by the processes of a benchmark.

    The benchmark's fakes (parent process) and the code it measures (child process)
    open the same 8-byte file: the seconds of waiting modelled so far. ``sleep`` moves
    that offset instead of sleeping, so rate-limit waits and pacing cost modelled time
    and no wall time; the calls' latency is real. Waits of concurrent threads overlap:
    a sleep ends at the time its thread last read plus the wait, and the clock moves to
    the latest such end, so two threads waiting for the same second cost one second.
    """

    def __init__(self, path: Path, *, create: bool = False) -> None:
        if create:
            path.write_bytes(struct.pack("d", 0.0))
        self._file = path.open("r+b")
        self._map = mmap.mmap(self._file.fileno(), 8)
        self._lock = threading.Lock()
        self._seen = threading.local()
        self.sleeps = 0

    def offset(self) -> float:
        value: float = struct.unpack_from("d", self._map)[0]
        return value

    def time(self) -> float:
        now = time.time() + self.offset()
        self._seen.now = now
        return now

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def sleep(self, seconds: float) -> None:
        with self._lock:
            start = getattr(self._seen, "now", None)
            if start is None:
                start = time.time() + self.offset()
            end = start + max(0.0, seconds)
            offset = max(self.offset(), end - time.time())
            struct.pack_into("d", self._map, 0, offset)
            self.sleeps += 1
            self._seen.now = end

    def close(self) -> None:
        self._map.close()
        self._file.close()
