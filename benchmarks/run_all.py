#!/usr/bin/env python3
"""Every benchmark of issue 9, as one JSON document on stdout (not a pass/fail test).

    python3 dev.py bench            # the figures docs/performance.md records (~10 min)
    python3 dev.py bench --quick    # small sizes, a smoke run of the harness (~1 min)

- ``check``: files per second over the real request corpus (check_corpus.py);
- the engine (engine_calls.py) and the conda-forge/admin-requests way (baseline.py),
  measured in the same run against the same fakes and latency, and their ratios;
- one huge ``broken`` request (40,000 items, about 1 MiB) run after run under the
  production time budget and under a 240 s one, until it completes (big_request.py;
  about 30 minutes of the full run; ``--no-big`` leaves it out);
- the whole processing workflow under ``act`` for 10 mixed requests, when
  benchmarks/act_workflow.py is present (it comes from another branch); otherwise
  reported as not available.
Progress goes to stderr; the JSON is the only thing on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from baseline import baseline_results
from big_request import big_request
from common import ROOT
from engine_calls import engine_results

from admin_requests.config import Settings
from admin_requests.queue.dispatch import QueueConfig

HERE = Path(__file__).resolve().parent
ACT_WORKFLOW = HERE / "act_workflow.py"


def _progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def _script_json(script: Path, args: list[str]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        return {"status": "failed", "exit_code": result.returncode, "stderr": result.stderr[-2000:]}
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def act_workflow(latency: float) -> dict[str, Any]:
    if not ACT_WORKFLOW.exists():
        return {
            "status": "not available",
            "reason": "benchmarks/act_workflow.py is not in this checkout (the sandbox "
            "branch adds it)",
        }
    return _script_json(ACT_WORKFLOW, ["--latency", str(latency)])


def _find(results: list[dict[str, Any]], *words: str) -> dict[str, Any] | None:
    """The first first-run result whose name has every word (re-runs are left out)."""
    return next(
        (
            r
            for r in results
            if all(word in r["name"] for word in words) and "re-run" not in r["name"]
        ),
        None,
    )


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None, key: str) -> float | None:
    if a is None or b is None or not b[key]:
        return None
    return round(a[key] / b[key], 2)


def ratios(engine: list[dict[str, Any]], baseline: list[dict[str, Any]]) -> dict[str, Any]:
    """How many times the conda-forge way's wall time (and HTTP calls) the engine's is."""
    pooled, serial = _find(engine, "broken", "pool"), _find(engine, "broken", "one by one")
    outputs = _find(engine, "add_feedstock_output")
    cf_broken = _find(baseline, "broken")
    cf_outputs = _find(baseline, "add_feedstock_output", "admin-requests way")
    cf_unpaced = _find(baseline, "add_feedstock_output", "without PyGithub pacing")
    return {
        "broken: wall, conda-forge way / engine (pool)": _ratio(cf_broken, pooled, "wall_seconds"),
        "broken: wall, conda-forge way / engine (one by one)": _ratio(
            cf_broken, serial, "wall_seconds"
        ),
        "broken: HTTP calls, conda-forge way / engine": _ratio(cf_broken, pooled, "http_calls"),
        "add_feedstock_output: wall, conda-forge way / engine": _ratio(
            cf_outputs, outputs, "wall_seconds"
        ),
        "add_feedstock_output: wall, conda-forge way without pacing / engine": _ratio(
            cf_unpaced, outputs, "wall_seconds"
        ),
        "add_feedstock_output: HTTP calls, conda-forge way / engine": _ratio(
            cf_outputs, outputs, "http_calls"
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per call")
    parser.add_argument("--no-act", action="store_true", help="skip the act workflow")
    parser.add_argument("--no-big", action="store_true", help="skip the 40,000-item request")
    args = parser.parse_args(argv)
    packages, outputs = (50, 10) if args.quick else (1000, 200)

    _progress("check over the real request corpus")
    # The corpus the tests check too (tests/data/README.md).
    corpus = _script_json(
        HERE / "check_corpus.py",
        [str(ROOT / "tests" / "data" / "real-requests"), "--repeat", "1" if args.quick else "5"],
    )
    _progress(f"engine: broken x{packages}, add_feedstock_output x{outputs}")
    engine = engine_results(args.latency, packages, outputs, pool=8)
    _progress("the conda-forge/admin-requests way, same fakes and latency")
    baseline = baseline_results(args.latency, packages, outputs)
    big: list[dict[str, Any]] | dict[str, str] = {"status": "skipped (--no-big)"}
    if not args.no_big:
        # Quick: 2,000 items, a budget shorter than one chunk takes, so it still takes
        # several runs.
        items, budgets, chunk = (
            (2000, (5.0,), 500)
            if args.quick
            else (40_000, (Settings().run_budget_seconds, 240.0), QueueConfig.chunk_items)
        )
        big = []
        for budget in budgets:
            _progress(f"big request: broken x{items}, budget {budget:g} s")
            big.append(big_request(items, args.latency, budget, chunk, max_runs=50))
    _progress("the processing workflow under act")
    act = {"status": "skipped (--no-act)"} if args.no_act else act_workflow(args.latency)

    report = {
        "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "python": platform.python_version(),
            "system": f"{platform.system()} {platform.machine()}",
            "cpus": _cpus(),
        },
        "latency_seconds_per_call": args.latency,
        "check_corpus": corpus,
        "engine": engine,
        "conda_forge_way": baseline,
        "ratios": ratios(engine, baseline),
        "big_request": big,
        "act_workflow": act,
        "commit": _commit(),
    }
    print(json.dumps(report, indent=2))
    return 0


def _cpus() -> int | None:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _commit() -> str | None:
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or None


if __name__ == "__main__":
    sys.exit(main())
