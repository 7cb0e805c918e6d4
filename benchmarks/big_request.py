#!/usr/bin/env python3
"""One huge ``broken`` request through the queue, run after run until it is done (not a test).

Issue 16, finding 4: a request of 40,000 items (a request file of about 1 MiB) against
the fake anaconda.org and GitHub at a fixed latency per call (50 ms by default). Each
processing run is a child process with the run's time budget (the production default,
``Settings.run_budget_seconds``, unless ``--budget`` says otherwise) and its peak RSS is
measured there; runs follow each other until the request file is gone. Reported: runs,
wall time (the sum of the runs'), HTTP calls, commits and the highest peak RSS.

The fakes sleep their latency for real (they have no fake clock), so the wall time is
measured, not modelled: at 50 ms per call expect about 15 minutes per 40,000 items.

    python benchmarks/big_request.py [--items 40000] [--latency 0.05] [--budget 240]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import ANACONDA_TOKEN, GITHUB_TOKEN, ORG, fakes, measured, run_child
from engine_calls import queue_with

from admin_requests.config import Settings
from admin_requests.queue.dispatch import QueueConfig, QueueRunner
from admin_requests.queue.gitops import Git
from admin_requests.services import Services

SCRIPT = Path(__file__).resolve()
REQUEST = "requests/bench.yml"
# Dispositions after which another run would not make progress.
STUCK = {"parked", "still parked", "error", "waiting"}


def package(n: int) -> str:
    """Short names (``p`` and ``n`` in base 36), so 40,000 of them fit the checker's
    1 MiB limit on a request file: 26 bytes a line."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    name = ""
    while True:
        n, digit = divmod(n, 36)
        name = digits[digit] + name
        if not n:
            break
    return f"noarch/p{name:0>3}-1-0.conda"


def request_text(items: int) -> str:
    return "action: broken\npackages:\n" + "".join(f"  - {package(n)}\n" for n in range(items))


def child(args: argparse.Namespace) -> dict[str, Any]:
    """In the child process: one processing run over the queue at ``--root``."""
    settings = Settings(
        github_api_url=args.github, anaconda_api_url=args.anaconda, channel_url=args.anaconda
    )
    services = Services.build(settings, github_token=GITHUB_TOKEN, anaconda_token=ANACONDA_TOKEN)
    root = Path(args.root)
    runner = QueueRunner(
        root,
        services=services,
        git=Git(root),
        clock=lambda: datetime.now(UTC),
        config=QueueConfig(
            time_budget=timedelta(seconds=args.budget) if args.budget else None,
            chunk_items=args.chunk,
        ),
    )

    def work() -> dict[str, Any]:
        report = runner.run()
        [result] = report.results
        return {
            "disposition": result.disposition.value,
            "done": sum(r.done for r in result.items),
            "commits": report.commits,
            "out_of_time": report.out_of_time,
            "failed_follow_ups": report.failed_follow_ups,
        }

    return measured(work)


def fresh_checkout(root: Path) -> None:
    for args in (["reset", "--quiet", "--hard"], ["clean", "--quiet", "-d", "--force"]):
        subprocess.run(["git", *args], cwd=root, capture_output=True, check=True)


def commits_after_the_request(root: Path) -> int:
    out = subprocess.run(
        ["git", "rev-list", "--count", "HEAD"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout) - 1  # the commit that added the request


def big_request(
    items: int, latency: float, budget: float, chunk: int, max_runs: int
) -> dict[str, Any]:
    text = request_text(items)
    runs: list[dict[str, Any]] = []
    with fakes(0, 0) as world, tempfile.TemporaryDirectory() as folder:
        for n in range(items):
            world.ac.add_file(ORG, package(n))
        root = queue_with(Path(folder) / "queue", text)
        world.set_latency(latency)
        world.reset()
        while len(runs) < max_runs:
            # Each run starts from what is committed, as a fresh checkout would.
            fresh_checkout(root)
            if not (root / REQUEST).exists():
                break
            runs.append(
                run_child(
                    SCRIPT,
                    [
                        "--github",
                        world.gh.url,
                        "--anaconda",
                        world.ac.url,
                        "--root",
                        str(root),
                        "--budget",
                        str(budget),
                        "--chunk",
                        str(chunk),
                    ],
                )
            )
            print(f"[big_request] run {len(runs)}: {runs[-1]}", file=sys.stderr, flush=True)
            if runs[-1]["disposition"] in STUCK:
                break
        calls = world.calls()
        world.set_latency(0)
        labelled = sum(
            "broken" in file.labels for file in world.ac.files.get("conda-forge", {}).values()
        )
        fresh_checkout(root)
        completed = not (root / REQUEST).exists()
        commits = commits_after_the_request(root)
    return {
        "name": f"broken x{items}, budget {budget:g} s",
        "items": items,
        "request_file_bytes": len(text.encode()),
        "latency_seconds_per_call": latency,
        "budget_seconds": budget,
        "chunk_items": chunk,
        "completed": completed,
        "dispositions": [r["disposition"] for r in runs],
        "labelled_broken": labelled,
        "runs": len(runs),
        "wall_seconds": round(sum(r["wall_seconds"] for r in runs), 1),
        "run_wall_seconds": [r["wall_seconds"] for r in runs],
        "http_calls": calls,
        "commits": commits,
        "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=40_000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per call")
    parser.add_argument(
        "--budget",
        type=float,
        default=Settings().run_budget_seconds,
        help="each run's time budget in seconds (default: production's; 0: none)",
    )
    parser.add_argument("--chunk", type=int, default=QueueConfig.chunk_items)
    parser.add_argument("--max-runs", type=int, default=50)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--github", help=argparse.SUPPRESS)
    parser.add_argument("--anaconda", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args)))
        return 0
    result = big_request(args.items, args.latency, args.budget, args.chunk, args.max_runs)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
