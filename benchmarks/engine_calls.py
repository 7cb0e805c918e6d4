#!/usr/bin/env python3
"""How many HTTP calls, and how long, the request kinds need per item (not a test).

Starts the fake services with a fixed latency per call (50 ms by default, roughly a
round trip to api.github.com or api.anaconda.org from a hosted runner), then carries out
one ``broken`` request of 1,000 packages and one ``add_feedstock_output`` request of 200
outputs through the kinds, and prints JSON: wall time, HTTP calls, calls per item.

    python benchmarks/engine_calls.py [--latency 0.05] [--packages 1000] [--outputs 200]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT)]  # this checkout's code, and tests.fakes

from tests.fakes import FakeAnaconda, FakeGitHub  # noqa: E402
from tests.requests.helpers import Loaded, load  # noqa: E402

from admin_requests.config import Settings  # noqa: E402
from admin_requests.requests.base import OutcomeStatus  # noqa: E402
from admin_requests.services import Services  # noqa: E402

PATCHES = "conda-forge-repodata-patches-feedstock"
GITHUB_TOKEN = "gh-admin"  # noqa: S105 (a fake's token)
ANACONDA_TOKEN = "ac-admin"  # noqa: S105 (a fake's token)


def _services(gh: FakeGitHub, ac: FakeAnaconda) -> Services:
    settings = Settings(
        github_api_url=gh.url,
        anaconda_api_url=ac.url,
        channel_url=ac.url,
        http_timeout_seconds=10.0,
    )
    return Services.build(settings, github_token=GITHUB_TOKEN, anaconda_token=ANACONDA_TOKEN)


def _measure(
    name: str, request: Loaded, services: Services, fakes: list[FakeGitHub | FakeAnaconda]
) -> dict[str, Any]:
    for fake in fakes:
        fake.reset_counters()
    start = time.perf_counter()
    outcomes = [request.kind.execute(item, services) for item in request.items]
    done = [
        i for i, o in zip(request.items, outcomes, strict=True) if o.status is OutcomeStatus.DONE
    ]
    request.kind.after_run(done, services)
    wall = time.perf_counter() - start
    calls = sum(fake.call_count for fake in fakes)
    return {
        "request": name,
        "items": len(request.items),
        "done": len(done),
        "changed": sum(o.changed for o in outcomes),
        "wall_seconds": round(wall, 2),
        "http_calls": calls,
        "calls_per_item": round(calls / len(request.items), 3),
        "seconds_per_item": round(wall / len(request.items), 4),
    }


def bench_broken(gh: FakeGitHub, ac: FakeAnaconda, packages: int) -> Loaded:
    lines = []
    for n in range(packages):
        basename = f"linux-64/pkg{n}-1.0-h0_0.conda"
        ac.add_file("conda-forge", basename)
        lines.append(f"  - {basename}\n")
    return load("action: broken\npackages:\n" + "".join(lines))


def bench_outputs(gh: FakeGitHub, outputs: int) -> Loaded:
    gh.add_repo("foo-feedstock")
    gh.add_repo(
        "feedstock-outputs",
        files={
            "config.json": json.dumps(
                {"outputs_path": "outputs", "shard_level": 3, "shard_fill": "z"}
            ),
            "feedstock_outputs_autoreg_allowlist.yml": "# globs\nfoo:\n  - foo-*\n",
        },
    )
    names = "".join(f"    - foo-output{n}\n" for n in range(outputs))
    return load(f"action: add_feedstock_output\nfeedstock_to_output_mapping:\n  foo:\n{names}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per call")
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--outputs", type=int, default=200)
    args = parser.parse_args(argv)
    results: list[dict[str, Any]] = []
    with FakeGitHub() as gh, FakeAnaconda() as ac:
        gh.add_token(GITHUB_TOKEN)
        ac.add_token(ANACONDA_TOKEN, scopes=["api:read", "api:write"])
        gh.add_repo(PATCHES, workflows=("rebuild.yml",))
        broken = bench_broken(gh, ac, args.packages)
        outputs = bench_outputs(gh, args.outputs)
        gh.faults.latency = ac.faults.latency = args.latency
        runs: list[tuple[str, Loaded, Callable[[], Services]]] = [
            (f"broken x{args.packages}", broken, lambda: _services(gh, ac)),
            (f"add_feedstock_output x{args.outputs}", outputs, lambda: _services(gh, ac)),
        ]
        for name, request, services in runs:
            results.append(_measure(name, request, services(), [gh, ac]))
            # The same request again: everything is in place, so nothing is written.
            results.append(_measure(f"{name} (re-run)", request, services(), [gh, ac]))
    print(json.dumps({"latency_seconds": args.latency, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
