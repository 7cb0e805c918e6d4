"""What the engine benchmarks share: fakes seeded with the benchmark's world, and a child
process per measurement (its peak memory is the measured code's own, not the fakes').

The parent process runs the fake GitHub and anaconda.org (threads, 127.0.0.1) with a
fixed latency per call and counts the calls; the child process carries the work out
against them and reports its wall time and peak RSS as one JSON line.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT)]  # this checkout's code, and tests.fakes

from tests.fakes import FakeAnaconda, FakeGitHub  # noqa: E402
from tests.fakes.github import REPODATA_PATCHES_FILES  # noqa: E402

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

    def calls(self) -> int:
        return self.gh.call_count + self.ac.call_count

    def reset(self) -> None:
        self.gh.reset_counters()
        self.ac.reset_counters()

    def set_latency(self, seconds: float) -> None:
        self.gh.faults.latency = self.ac.faults.latency = seconds


def package_name(n: int) -> str:
    return f"linux-64/pkg{n}-1.0-h0_0.conda"


def output_name(n: int) -> str:
    return f"foo-output{n}"


@contextmanager
def fakes(packages: int, outputs: int) -> Iterator[Fakes]:
    """Both fakes, seeded for ``packages`` broken items and ``outputs`` output items."""
    with FakeGitHub(org=ORG) as gh, FakeAnaconda() as ac:
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
        for n in range(packages):
            ac.add_file(ORG, package_name(n))
        yield Fakes(gh, ac)


def broken_request(packages: int) -> str:
    return "action: broken\npackages:\n" + "".join(
        f"  - {package_name(n)}\n" for n in range(packages)
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


def measured(work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run ``work`` in this (child) process: its result plus wall time and peak RSS."""
    start = time.perf_counter()
    result = work()
    result["wall_seconds"] = round(time.perf_counter() - start, 2)
    # ru_maxrss is in KiB on Linux: the whole child process, imports included.
    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def figures(name: str, items: int, child: dict[str, Any], calls: int) -> dict[str, Any]:
    wall = child["wall_seconds"]
    return {
        "name": name,
        "items": items,
        **child,
        "http_calls": calls,
        "calls_per_item": round(calls / items, 3),
        "seconds_per_item": round(wall / items, 4),
    }
