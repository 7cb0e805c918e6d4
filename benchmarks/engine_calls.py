#!/usr/bin/env python3
"""The engine's wall time, HTTP calls, calls per item and peak memory (not a test).

Carries out one ``broken`` request of 1,000 packages and one ``add_feedstock_output``
request of 200 outputs the way production does: through the QueueRunner, in a git
repository (execute, write back, commit), against the fake services with a fixed
latency per call (50 ms by default: roughly a round trip to api.github.com or
api.anaconda.org from a hosted runner). Each measurement runs in its own process, so
its peak RSS is the engine's. ``broken`` is measured with items one by one and with the
default pool (``QueueConfig.max_parallel_items``), then re-run when everything is in
place; ``add_feedstock_output`` items are GitHub content writes and stay serial.

    python benchmarks/engine_calls.py [--latency 0.05] [--packages 1000] [--outputs 200]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import (
    ANACONDA_TOKEN,
    GITHUB_TOKEN,
    broken_request,
    fakes,
    figures,
    git,
    measured,
    outputs_request,
    run_child,
    shared_retrier,
)

from admin_requests.config import Settings
from admin_requests.queue.dispatch import QueueConfig, QueueRunner
from admin_requests.queue.gitops import Git
from admin_requests.services import Services

SCRIPT = Path(__file__).resolve()


def queue_with(root: Path, text: str) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "--quiet", "--initial-branch=main")
    (root / "requests").mkdir()
    (root / "requests" / "bench.yml").write_text(text)
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", "Add requests/bench.yml")
    return root


def child(args: argparse.Namespace) -> dict[str, Any]:
    """In the child process: one QueueRunner run over the queue at ``--root``."""
    settings = Settings(
        github_api_url=args.github,
        anaconda_api_url=args.anaconda,
        channel_url=args.anaconda,
        http_timeout_seconds=30.0,
    )
    clock, retrier = shared_retrier(args.clock)
    services = Services.build(
        settings, github_token=GITHUB_TOKEN, anaconda_token=ANACONDA_TOKEN, retrier=retrier
    )
    root = Path(args.root)
    runner = QueueRunner(
        root,
        services=services,
        git=Git(root),
        clock=clock,
        config=QueueConfig(max_parallel_items=args.parallel),
    )

    def work() -> dict[str, Any]:
        report = runner.run()
        [result] = report.results
        return {
            "disposition": result.disposition.value,
            "notes": [str(note)[:300] for note in result.notes][:3],
            "done": sum(r.done for r in result.items),
            "changed": sum(r.outcome.changed for r in result.items),
            "commits": report.commits,
            "parallel_items": args.parallel,
            "rate_limit_waits": retrier.rate_limit_waits,
            "mutation_pacing_seconds": round(retrier.pacer.waited, 1),
        }

    return measured(work, clock)


def measure(
    name: str,
    text: str,
    items: int,
    *,
    parallel: int,
    latency: float,
    rerun: bool,
    packages: int,
    outputs: int,
    files: int | None = None,
) -> list[dict[str, Any]]:
    results = []
    with (
        fakes(packages, outputs, files=files) as world,
        tempfile.TemporaryDirectory() as folder,
    ):
        runs = [("", Path(folder) / "first")]
        if rerun:
            runs.append((" (re-run: all in place)", Path(folder) / "again"))
        for suffix, root in runs:
            queue_with(root, text)
            world.set_latency(latency)
            world.reset()
            world.limit_calls()
            result = run_child(
                SCRIPT,
                [
                    "--github",
                    world.gh.url,
                    "--anaconda",
                    world.ac.url,
                    "--root",
                    str(root),
                    "--parallel",
                    str(parallel),
                    "--clock",
                    str(world.clock_path),
                ],
            )
            results.append(figures(name + suffix, items, result, world.calls(), world.limits()))
            world.set_latency(0)
    return results


def engine_results(
    latency: float,
    packages: int,
    outputs: int,
    pool: int,
    *,
    files: int | None = None,
    serial: bool = True,
) -> list[dict[str, Any]]:
    files = files if files is not None else packages
    sizes = {"packages": packages, "outputs": outputs, "files": files}
    broken, outs = broken_request(files, packages), outputs_request(outputs)
    what = f"broken x{files} ({packages} packages)"
    return [
        *(
            measure(
                f"{what}, one by one",
                broken,
                files,
                parallel=1,
                latency=latency,
                rerun=False,
                **sizes,
            )
            if serial
            else []
        ),
        *measure(
            f"{what}, pool of {pool}",
            broken,
            files,
            parallel=pool,
            latency=latency,
            rerun=True,
            **sizes,
        ),
        *measure(
            f"add_feedstock_output x{outputs}",
            outs,
            outputs,
            parallel=pool,
            latency=latency,
            rerun=True,
            **sizes,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per call")
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--outputs", type=int, default=200)
    parser.add_argument("--pool", type=int, default=QueueConfig.max_parallel_items)
    parser.add_argument("--files", type=int, help="broken files (default: one per package)")
    parser.add_argument("--no-serial", action="store_true", help="skip broken one by one")
    parser.add_argument("--clock", help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--github", help=argparse.SUPPRESS)
    parser.add_argument("--anaconda", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--parallel", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args)))
        return 0
    results = engine_results(
        args.latency,
        args.packages,
        args.outputs,
        args.pool,
        files=args.files,
        serial=not args.no_serial,
    )
    print(json.dumps({"latency_seconds": args.latency, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
