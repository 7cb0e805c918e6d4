"""``python3 dev.py bench`` still runs and prints its JSON (small sizes, no latency).

Not a benchmark: the figures are the full command's (docs/performance.md); this only
keeps the harness from rotting unnoticed, with every part run: the corpus check, the
engine, token_reset, feedstock creation, the conda-forge way (token_reset's too), the
ratios and the lower bounds the modelled rate limits impose, and the status page's
build (the act workflow has its own tests).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_dev_py_bench_prints_its_json() -> None:
    result = subprocess.run(
        [sys.executable, "dev.py", "bench", "--quick", "--no-act", "--latency", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["check_corpus"]["files"] > 0, report["check_corpus"]
    engine, baseline = report["engine"], report["conda_forge_way"]
    assert [r["done"] == r["items"] for r in engine + baseline] == [True] * 7
    # broken x100 (10 packages): a file-list read per package, a write per file and one
    # rebuild (an empty commit: read the ref and its commit, create the commit, move the
    # ref), the reads and the rebuild again on the re-run; the conda-forge way probes,
    # searches and writes each file.
    assert [r["http_calls"] for r in engine[:2]] == [114, 14]
    assert baseline[0]["http_calls"] == 300
    assert all(value is not None for value in report["ratios"].values())
    # Under the modelled limits (issue 18): the engine's pacing meets none of them; the
    # times are modelled; each benchmark has its lower bound and the engine's distance.
    for result in engine:
        assert result["limits"]["github_refused"] == {}, result
        assert result["limits"]["anaconda_refused"] == 0, result
        assert result["modelled_seconds"] >= result["wall_seconds"] - 0.5, result
    assert report["token_reset"]["done"] == 10
    assert report["token_reset"]["limits"]["github_refused"] == {}
    # token_reset the conda-forge way (token_reset_baseline.py), for each feedstock in
    # turn: a secret through PyGithub, nine Azure calls and a git clone, commit and push
    # of the registry per provider (Azure, GitHub Actions).
    reset = baseline[-1]
    assert reset["name"].startswith("token_reset x10"), reset
    assert reset["secret_writes"] == 10, reset
    assert reset["registry_commits"] == 20, reset
    assert reset["azure_calls"] == 90, reset
    assert reset["time_for_all_items"] == reset["modelled_seconds"], reset
    # Feedstock creation: every recipe created, every token scoped and revoked; only the
    # repository's creation (POST /orgs/{org}/repos) takes an organisation-wide token.
    creation = report["create_feedstocks"]
    assert creation["recipes"] == 3, creation
    assert creation["statuses"] == ["created"], creation
    assert creation["all_revoked"] is True
    assert creation["all_repositories_tokens"] == 3
    assert creation["installation_tokens_per_recipe"] >= 7  # a token per step at least
    assert len(report["lower_bounds"]) == 3
    assert all(value is not None for value in report["engine_over_lower_bound"].values())
    assert report["act_workflow"] == {"status": "skipped (--no-act)"}
    # One big broken request, run after run under a short budget, until it is done.
    [big] = report["big_request"]
    assert big["completed"], big
    assert big["labelled_broken"] == big["items"] == 2000
    assert big["http_calls"] >= 2 * big["items"]
    # The status page's build at a small scale: every queued request and recipe is in
    # status.json and on the page's counts, and the page was written.
    status = report["status_page"]
    assert status["page_shows"]["queued"] == status["requests_queued"] == 60, status
    assert status["page_shows"]["recipes"] == status["recipes"] == 60, status
    assert status["cold"]["calls"] > status["warm_15_minutes_later"]["calls"] > 0, status
    assert status["page_bytes"]["index.html"] > 0
