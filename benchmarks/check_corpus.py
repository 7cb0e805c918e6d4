#!/usr/bin/env python3
"""Benchmark: `check` over the real request corpus. Prints JSON; not a pass/fail test.

.venv/bin/python benchmarks/check_corpus.py [CORPUS_DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import tracemalloc
from pathlib import Path

from admin_requests.validation.checker import check_paths

DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "real-requests"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    durations = []
    # CPU time too: on a busy machine wall time measures the neighbours as well.
    cpu_durations = []
    reports = []
    for _ in range(args.repeat):
        start, cpu_start = time.perf_counter(), time.process_time()
        reports = check_paths([args.corpus])
        durations.append(time.perf_counter() - start)
        cpu_durations.append(time.process_time() - cpu_start)
    tracemalloc.start()
    check_paths([args.corpus])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    best = min(durations)
    print(
        json.dumps(
            {
                "benchmark": "check-corpus",
                "files": len(reports),
                "accepted": sum(r.ok for r in reports),
                "rejected": sum(not r.ok for r in reports),
                "seconds_best": round(best, 3),
                "seconds_median": round(statistics.median(durations), 3),
                "files_per_second": round(len(reports) / best),
                "cpu_seconds_best": round(min(cpu_durations), 3),
                "files_per_cpu_second": round(len(reports) / min(cpu_durations)),
                "peak_traced_memory_mib": round(peak / 2**20, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
