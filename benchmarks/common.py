"""What the engine benchmarks share: fakes seeded with the benchmark's world, and a child
process per measurement (its peak memory is the measured code's own, not the fakes').

The parent process runs the fake GitHub and anaconda.org (threads, 127.0.0.1) with a
fixed latency per call and counts the calls; the child process carries the work out
against them and reports its wall time and peak RSS as one JSON line.

The fakes enforce GitHub's documented rate limits and the modelled anaconda.org one
(tests/fakes/limits.py) on a clock both processes share (``SharedClock``): real time
plus every wait the child models. The child's retries and pacing sleep on it, so a
wait for a limit costs modelled time and no wall time; ``modelled_seconds`` is the
time the work would take against the real services (latency, waits and pacing).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT)]  # this checkout's code, and tests.fakes

from tests.fakes import FakeAnaconda, FakeGitHub  # noqa: E402
from tests.fakes.clock import SharedClock  # noqa: E402  (re-exported for baseline.py)
from tests.fakes.github import REPODATA_PATCHES_FILES  # noqa: E402
from tests.fakes.limits import AnacondaLimits, GitHubLimits  # noqa: E402

from admin_requests.services.http import Retrier, RetryPolicy  # noqa: E402

GITHUB_TOKEN = "gh-admin"  # noqa: S105 (a fake's token)
ANACONDA_TOKEN = "ac-admin"  # noqa: S105 (a fake's token)
ORG = "conda-forge"
PATCHES = "conda-forge-repodata-patches-feedstock"
OUTPUTS = "feedstock-outputs"
OUTPUTS_FEEDSTOCK = "foo"
OUTPUTS_CONFIG = {"outputs_path": "outputs", "shard_level": 3, "shard_fill": "z"}
ALLOWLIST = "feedstock_outputs_autoreg_allowlist.yml"


@dataclass
class Fakes:
    gh: FakeGitHub
    ac: FakeAnaconda
    clock: SharedClock
    clock_path: Path

    def limits(self) -> dict[str, Any]:
        """What the fakes' rate limits did: calls admitted, refusals by limit."""
        github, anaconda = self.gh.limiter, self.ac.limiter
        assert github is not None
        assert anaconda is not None
        return {
            "github_admitted": github.admitted,
            "github_refused": dict(github.refused),
            "github_peak_in_flight": github.peak_in_flight,
            "anaconda_admitted": anaconda.admitted,
            "anaconda_refused": anaconda.refused,
        }

    def limit_calls(self) -> None:
        """Fresh limit windows for the next measurement (as if an hour had passed)."""
        self.gh.enforce_limits(GitHubLimits())
        self.ac.enforce_limits(AnacondaLimits())

    def calls(self) -> int:
        return self.gh.call_count + self.ac.call_count

    def reset(self) -> None:
        self.gh.reset_counters()
        self.ac.reset_counters()

    def set_latency(self, seconds: float) -> None:
        self.gh.faults.latency = self.ac.faults.latency = seconds


def package_name(n: int, m: int = 0) -> str:
    """File ``m`` of package ``n`` (one version, a build string per file)."""
    return f"linux-64/pkg{n}-1.0-h{m}_0.conda"


def file_name(n: int, packages: int) -> str:
    """The ``n``-th of the files spread evenly over ``packages`` packages."""
    return package_name(n % packages, n // packages)


def shared_retrier(clock_path: str) -> tuple[SharedClock, Retrier]:
    """In a child: the shared clock, and the project's retry policy sleeping on it."""
    clock = SharedClock(Path(clock_path))
    return clock, Retrier(RetryPolicy(), sleep=clock.sleep, clock=clock.time)


def sleep_on(clock: SharedClock) -> None:
    """In a child: every ``time.sleep`` (PyGithub's pacing, urllib3's retries) waits on
    the shared clock from now. ``SharedClock.sleep`` starts a wait at the time its thread
    last read, which PyGithub and urllib3 never do (they time with the real clock): left
    alone, a serial process's waits would overlap its own work and cost less than
    they do."""

    def sleep(seconds: float) -> None:
        clock.time()
        clock.sleep(seconds)

    time.sleep = sleep


def output_name(n: int) -> str:
    return f"foo-output{n}"


@contextmanager
def fakes(packages: int, outputs: int, *, files: int | None = None) -> Iterator[Fakes]:
    """Both fakes, seeded with ``files`` files (default: one each) of ``packages``
    packages for broken, and for ``outputs`` output items, their rate limits on a
    SharedClock (``limit_calls`` starts fresh windows)."""
    with (
        tempfile.TemporaryDirectory() as folder,
        FakeGitHub(org=ORG) as gh,
        FakeAnaconda() as ac,
    ):
        clock_path = Path(folder) / "clock"
        clock = SharedClock(clock_path, create=True)
        gh.time_source = ac.time_source = clock.time
        gh.add_token(GITHUB_TOKEN)
        ac.add_token(ANACONDA_TOKEN, scopes=["api:read", "api:write"])
        gh.add_repo(PATCHES, files=REPODATA_PATCHES_FILES)
        gh.add_repo(f"{OUTPUTS_FEEDSTOCK}-feedstock")
        gh.add_repo(
            OUTPUTS,
            files={
                "config.json": json.dumps(OUTPUTS_CONFIG),
                ALLOWLIST: f"# globs\n{OUTPUTS_FEEDSTOCK}:\n  - {OUTPUTS_FEEDSTOCK}-*\n",
            },
        )
        for n in range(files if files is not None else packages):
            ac.add_file(ORG, file_name(n, packages))
        world = Fakes(gh, ac, clock, clock_path)
        world.limit_calls()
        try:
            yield world
        finally:
            clock.close()


def broken_request(files: int, packages: int) -> str:
    return "action: broken\npackages:\n" + "".join(
        f"  - {file_name(n, packages)}\n" for n in range(files)
    )


def outputs_request(outputs: int) -> str:
    names = "".join(f"    - {output_name(n)}\n" for n in range(outputs))
    return (
        f"action: add_feedstock_output\nfeedstock_to_output_mapping:\n"
        f"  {OUTPUTS_FEEDSTOCK}:\n{names}"
    )


def git(cwd: Path, *args: str) -> None:
    """Run git in ``cwd`` as the benchmarks' own identity (no global git config needed)."""
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def run_child(script: Path, args: list[str]) -> dict[str, Any]:
    """Run ``script --child ARGS``; its last stdout line is its JSON result."""
    result = subprocess.run(
        [sys.executable, str(script), "--child", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{script.name} {args} failed:\n{result.stderr[-3000:]}")
    last: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return last


def measured(
    work: Callable[[], dict[str, Any]], clock: SharedClock | None = None
) -> dict[str, Any]:
    """Run ``work`` in this (child) process: its result plus wall time, modelled time
    (on ``clock``: wall time plus the modelled waits) and peak RSS."""
    start = time.perf_counter()
    modelled_start = clock.time() if clock is not None else 0.0
    result = work()
    result["wall_seconds"] = round(time.perf_counter() - start, 2)
    if clock is not None:
        result["modelled_seconds"] = round(clock.time() - modelled_start, 1)
    # ru_maxrss is in KiB on Linux: the whole child process, imports included.
    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def figures(
    name: str, items: int, child: dict[str, Any], calls: int, limits: dict[str, Any] | None = None
) -> dict[str, Any]:
    wall = child.get("modelled_seconds", child["wall_seconds"])
    return {
        "name": name,
        "items": items,
        **child,
        "http_calls": calls,
        "calls_per_item": round(calls / items, 3),
        "seconds_per_item": round(wall / items, 4),
        **({"limits": limits} if limits is not None else {}),
    }
