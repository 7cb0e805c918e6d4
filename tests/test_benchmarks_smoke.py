"""The benchmark scripts still run and print their JSON (tiny sizes, no latency).

Not a benchmark: the figures are `python3 dev.py bench`'s (docs/performance.md); this
only keeps the harness from rotting unnoticed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def bench(script: str, *args: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_engine_and_baseline_benchmarks_run() -> None:
    sizes = ("--packages", "3", "--outputs", "2", "--latency", "0")
    engine = bench("engine_calls.py", *sizes)
    baseline = bench("baseline.py", *sizes)
    for data, count in ((engine, 5), (baseline, 3)):
        results = data["results"]
        assert isinstance(results, list)
        assert len(results) == count
        for result in results:
            assert result["done"] == result["items"]
            assert result["http_calls"] > 0
            assert result["peak_rss_mib"] > 0
    # broken x3: a read and a write per package, one rebuild; the conda-forge way
    # probes, searches and writes per package.
    assert [r["http_calls"] for r in engine["results"]][:3] == [7, 7, 4]  # type: ignore[index]
    assert baseline["results"][0]["http_calls"] == 9  # type: ignore[index]
