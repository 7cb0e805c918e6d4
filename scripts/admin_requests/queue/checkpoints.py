"""Named points in a processing run, where the crash-safety tests kill the process.

A run calls ``checkpoint(name)`` where being killed would leave the most half-done
state behind: after an item was carried out (nothing recorded yet), after a request's
files were changed (not committed), after each commit (not pushed), around the push,
and while it holds the run lease. In production the hook does nothing.

The CLI builds a hook from test-only environment variables and nothing else does:
``ADMIN_REQUESTS_TEST_KILL_AT=N`` makes the process SIGKILL itself at its N-th
checkpoint (so a test picks kill points from a seed, reproducibly);
``ADMIN_REQUESTS_TEST_CHECKPOINTS=FILE`` appends each checkpoint's number and name to
FILE (so a test learns the points of an uninterrupted run first); and
``ADMIN_REQUESTS_TEST_PAUSE_AT=N:FILE`` holds the process at its N-th checkpoint until
FILE exists (so a test can start a second run at a known moment of the first).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

Checkpoint = Callable[[str], None]

KILL_AT_VARIABLE = "ADMIN_REQUESTS_TEST_KILL_AT"
TRACE_VARIABLE = "ADMIN_REQUESTS_TEST_CHECKPOINTS"
PAUSE_VARIABLE = "ADMIN_REQUESTS_TEST_PAUSE_AT"
# A paused run gives up waiting after this long, so a broken test cannot hang CI.
PAUSE_LIMIT_SECONDS = 300.0


def no_checkpoint(name: str) -> None:
    """The production hook: nothing happens at a checkpoint."""
    return None


class CheckpointHook:
    """Counts checkpoints; records them, SIGKILLs the process at one, or pauses at one."""

    def __init__(
        self,
        *,
        kill_at: int | None = None,
        trace: Path | None = None,
        pause_at: int | None = None,
        resume_when: Path | None = None,
    ) -> None:
        self.kill_at = kill_at
        self.trace = trace
        self.pause_at = pause_at
        self.resume_when = resume_when
        self.count = 0
        self._lock = threading.Lock()  # items may run in threads

    def __call__(self, name: str) -> None:
        with self._lock:
            self.count += 1
            if self.trace is not None:
                with self.trace.open("a", encoding="utf-8") as out:
                    out.write(f"{self.count} {name}\n")
            if self.count == self.kill_at:
                # No cleanup, no flush, no finally: as if the runner machine vanished.
                os.kill(os.getpid(), signal.SIGKILL)
            if self.count == self.pause_at and self.resume_when is not None:
                deadline = time.monotonic() + PAUSE_LIMIT_SECONDS
                while not self.resume_when.exists() and time.monotonic() < deadline:
                    time.sleep(0.05)


def checkpoint_from_environ(environ: Mapping[str, str]) -> Checkpoint:
    kill_at = environ.get(KILL_AT_VARIABLE, "").strip()
    trace = environ.get(TRACE_VARIABLE, "").strip()
    pause = environ.get(PAUSE_VARIABLE, "").strip()
    if not (kill_at or trace or pause):
        return no_checkpoint
    pause_at, _, resume_when = pause.partition(":")
    return CheckpointHook(
        kill_at=int(kill_at) if kill_at else None,
        trace=Path(trace) if trace else None,
        pause_at=int(pause_at) if pause_at else None,
        resume_when=Path(resume_when) if resume_when else None,
    )
