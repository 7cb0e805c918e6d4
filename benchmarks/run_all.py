#!/usr/bin/env python3
"""Every benchmark of issues 9 and 18, as one JSON document on stdout (not a test).

    python3 dev.py bench            # the figures docs/performance.md records (~30 min)
    python3 dev.py bench --quick    # small sizes, a smoke run of the harness (~2 min)

Against the fakes with GitHub's documented rate limits and the modelled anaconda.org
one in force, 50 ms a call; times are modelled (benchmarks/common.py).

- ``check``: files per second over the real request corpus (check_corpus.py);
- the engine (engine_calls.py, token_reset_calls.py) and the conda-forge/admin-requests
  way (baseline.py, token_reset_baseline.py), measured in the same run against the same
  fakes and latency, and their ratios;
- one huge ``broken`` request (40,000 items, about 1 MiB) run after run under the
  production time budget and under a 240 s one, until it completes (big_request.py;
  about 30 minutes of the full run; ``--no-big`` leaves it out);
- the status page for the whole organisation (status_dashboard.py): 20 bots with 30 days
  of runs, 1,000 queued requests, 200 recipes in creation-state/, 30 migrations;
- feedstock creation (create_feedstocks.py): 20 recipes from staged-recipes, the wall
  time, the calls per recipe and the installation tokens per recipe with their lifetimes;
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
from token_reset_baseline import token_reset_baseline
from token_reset_calls import lower_bound as token_reset_bound

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
    if a is None or b is None or not b.get(key):
        return None
    return round(a[key] / b[key], 2)


def ratios(
    engine: list[dict[str, Any]],
    baseline: list[dict[str, Any]],
    token_reset: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """How many times the conda-forge way's modelled time (and HTTP calls) the engine's is."""
    pooled = _find(engine, "broken", "pool")
    outputs = _find(engine, "add_feedstock_output")
    cf_broken = _find(baseline, "broken")
    cf_outputs = _find(baseline, "add_feedstock_output", "admin-requests way")
    cf_reset = _find(baseline, "token_reset")
    # The engine's token_reset: GitHub's REST calls (its registry commits are Git Data
    # API calls); the conda-forge way's GitHub calls are REST and git over HTTPS.
    engine_reset = (
        {
            "time_for_all_items": token_reset.get("modelled_seconds"),
            "github_calls_for_all_items": token_reset.get("github_calls"),
        }
        if token_reset
        else None
    )
    time = "modelled_seconds"
    return {
        "token_reset: modelled time, conda-forge way / engine": _ratio(
            cf_reset, engine_reset, "time_for_all_items"
        ),
        "token_reset: GitHub calls, conda-forge way / engine": _ratio(
            cf_reset, engine_reset, "github_calls_for_all_items"
        ),
        "broken: modelled time, conda-forge way / engine (pool)": _ratio(
            cf_broken, pooled, "time_for_all_items"
        ),
        "broken: HTTP calls, conda-forge way / engine": _ratio(
            cf_broken, pooled, "calls_for_all_items"
        ),
        "add_feedstock_output: modelled time, conda-forge way / engine": _ratio(
            cf_outputs, outputs, time
        ),
        "add_feedstock_output: HTTP calls, conda-forge way / engine": _ratio(
            cf_outputs, outputs, "http_calls"
        ),
    }


# == what the limits alone impose =====================================================
# The least modelled time any client needs for the work under the modelled limits
# (tests/fakes/limits.py), whatever its code: GitHub's second between mutations, and
# anaconda.org's modelled 1,200 requests a minute. Reads are not counted (they may
# overlap), so the bound is low, never high.

MUTATION_SPACING = 1.0  # GitHubLimits.mutation_spacing
ANACONDA_PER_SECOND = 1200 / 60  # AnacondaLimits.requests_per_minute
ONE_COMMIT = 3  # Git Data API: a tree, a commit, a ref update


def lower_bounds(files: int, packages: int, outputs: int, feedstocks: int) -> dict[str, Any]:
    return {
        f"broken x{files} ({packages} packages)": {
            "seconds": round(
                (files + packages) / ANACONDA_PER_SECOND + ONE_COMMIT * MUTATION_SPACING, 1
            ),
            "why": "a label write per file and a file-list read per package at the modelled "
            "1,200 anaconda.org requests a minute, and the repodata rebuild's one commit",
        },
        f"add_feedstock_output x{outputs}": {
            "seconds": ONE_COMMIT * MUTATION_SPACING,
            "why": "one commit of every output through the Git Data API: three mutations "
            "a second apart",
        },
        # A secret write per feedstock and two registry commits per request file, a
        # second apart, or what the primary limit imposes on the calls no reset can
        # do without (benchmarks/token_reset_calls.py).
        f"token_reset x{feedstocks}": token_reset_bound(feedstocks),
    }


def closeness(bounds: dict[str, Any], measured: dict[str, float | None]) -> dict[str, Any]:
    """Engine modelled time / lower bound, per benchmark (1.0 is the bound itself)."""
    out: dict[str, Any] = {}
    for (name, bound), seconds in zip(bounds.items(), measured.values(), strict=True):
        out[name] = None if seconds is None else round(seconds / bound["seconds"], 2)
    return out


def _extrapolated(result: dict[str, Any] | None, items: int) -> None:
    """The conda-forge way's broken, measured on fewer files, scaled to ``items``: it is
    serial with a constant cost per file, so its time and calls grow linearly."""
    if result is None:
        return
    scale = items / result["items"]
    result["time_for_all_items"] = round(result["modelled_seconds"] * scale, 1)
    result["calls_for_all_items"] = round(result["http_calls"] * scale)
    if "github_calls" in result:
        result["github_calls_for_all_items"] = round(result["github_calls"] * scale)
    result["scaled_from_items"] = result["items"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per call")
    parser.add_argument("--no-act", action="store_true", help="skip the act workflow")
    parser.add_argument("--no-big", action="store_true", help="skip the 40,000-item request")
    args = parser.parse_args(argv)
    # The scale of issue 18: 10,000 files of 300 packages, 2,000 outputs, 1,000 feedstocks.
    files, packages, outputs, feedstocks = (
        (100, 10, 20, 10) if args.quick else (10_000, 300, 2_000, 1_000)
    )
    # The conda-forge way's broken is serial at ~0.15 s a file: measured on at most
    # 1,000 files and scaled (see _extrapolated).
    baseline_files = min(files, 1000)

    _progress("check over the real request corpus")
    # The corpus the tests check too (tests/data/README.md).
    corpus = _script_json(
        HERE / "check_corpus.py",
        [str(ROOT / "tests" / "data" / "real-requests"), "--repeat", "1" if args.quick else "5"],
    )
    _progress(f"engine: broken x{files} of {packages} packages, add_feedstock_output x{outputs}")
    engine = engine_results(args.latency, packages, outputs, pool=8, files=files, serial=False)
    pooled = _find(engine, "broken", "pool")
    if pooled is not None:
        pooled["time_for_all_items"] = pooled["modelled_seconds"]
        pooled["calls_for_all_items"] = pooled["http_calls"]
    _progress(f"engine: token_reset x{feedstocks}")
    token_reset = _script_json(
        HERE / "token_reset_calls.py",
        ["--feedstocks", str(feedstocks), "--latency", str(args.latency)],
    )
    recipes = 3 if args.quick else 20
    _progress(f"feedstock creation: {recipes} recipes")
    creation = _script_json(
        HERE / "create_feedstocks.py",
        ["--recipes", str(recipes), "--latency", str(args.latency)],
    )
    _progress("the conda-forge/admin-requests way, same fakes, limits and latency")
    baseline = baseline_results(
        args.latency,
        packages,
        outputs,
        unthrottled=False,
        files=baseline_files,
    )
    _extrapolated(_find(baseline, "broken"), files)
    # The conda-forge way's token_reset is serial at a constant cost per feedstock (about
    # 30 calls and 3 s, under no limit): measured on at most 100 and scaled.
    baseline_feedstocks = min(feedstocks, 100)
    _progress(f"the conda-forge way: token_reset x{baseline_feedstocks}")
    baseline.append(token_reset_baseline(args.latency, baseline_feedstocks))
    _extrapolated(baseline[-1], feedstocks)
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
    _progress("the status page: 20 bots, 1,000 queued requests, 200 recipes, 30 migrations")
    status_page = _script_json(
        HERE / "status_dashboard.py",
        ["--latency", str(args.latency), *(["--quick"] if args.quick else [])],
    )
    _progress("the processing workflow under act")
    act = {"status": "skipped (--no-act)"} if args.no_act else act_workflow(args.latency)

    bounds = lower_bounds(files, packages, outputs, feedstocks)
    outputs_run = _find(engine, "add_feedstock_output")
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
        "token_reset": token_reset,
        "create_feedstocks": creation,
        "conda_forge_way": baseline,
        "ratios": ratios(engine, baseline, token_reset),
        "big_request": big,
        "lower_bounds": bounds,
        "engine_over_lower_bound": closeness(
            bounds,
            {
                "broken": pooled["modelled_seconds"] if pooled else None,
                "outputs": outputs_run["modelled_seconds"] if outputs_run else None,
                "token_reset": token_reset.get("modelled_seconds"),
            },
        ),
        "act_workflow": act,
        "status_page": status_page,
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
