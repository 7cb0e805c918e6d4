#!/usr/bin/env python3
"""Calls and time of the organisation part of ``admin-requests status``, and page size.

Seeds FakeGitHub with 20 bots (the cadences of the conda-forge defaults, plus one) and 30
days of their runs, 30 migrations (copies of the real samples in
tests/data/autotick-status) and two open incidents, then collects twice with a latency
per call (50 ms by default, roughly a round trip to api.github.com):

- cold: no previous status.json, 30 days of runs read;
- warm: 15 minutes later with the first build's status.json as ``--previous``.

Prints JSON: calls by kind, wall time, and the page's size raw and gzip-compressed (as
GitHub Pages serves it). Not a test: nothing here passes or fails.

    .venv/bin/python benchmarks/status_dashboard.py [--latency 0.05] [--bots 20]
        [--migrations 30] [--keep DIR]
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT)]  # this checkout's code, and tests.fakes

from tests.fakes import FakeGitHub  # noqa: E402
from tests.fakes.clock import FakeClock  # noqa: E402
from tests.fakes.wiring import retrier_for  # noqa: E402
from tests.status.organisation_data import GRAPH, STATUS, sample  # noqa: E402

from admin_requests.config import Settings  # noqa: E402
from admin_requests.queue.gitops import Git  # noqa: E402
from admin_requests.services import GitHubClient  # noqa: E402
from admin_requests.status import StatusCollector, StatusOptions, write_site  # noqa: E402
from admin_requests.status.config import (  # noqa: E402
    DEFAULT_BOTS,
    Bot,
    DashboardConfig,
    IncidentsSource,
    MigrationsSource,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
HOME = "admin-requests"
REPOSITORY = f"conda-forge/{HOME}"
SAMPLES = ("occt793", "urdfdom51", "volk33")


def bots(count: int) -> tuple[Bot, ...]:
    chosen = list(DEFAULT_BOTS)
    n = 0
    while len(chosen) < count:
        n += 1
        chosen.append(Bot(f"extra {n}", "regro/cf-scripts", f"extra-{n}.yml", timedelta(hours=1)))
    return tuple(b if b.repository != "." else Bot(b.name, REPOSITORY, b.workflow, b.cadence,
                                                   b.team) for b in chosen[:count])  # fmt: skip


def seed(github: FakeGitHub, watched: tuple[Bot, ...], migrations: int) -> int:
    """Repositories, 30 days of runs per bot, migration files, incidents: the runs seeded."""
    github.public_reads = True
    runs = 0
    for bot in watched:
        short = bot.repository.removeprefix("conda-forge/")
        if short not in github.repos:
            github.add_repo(short)
        workflow = github.add_workflow(short, f".github/workflows/{bot.workflow}", bot.name)
        # Event-driven workflows: a pull request check or a deploy every two hours.
        step = bot.cadence or timedelta(hours=2)
        at, n = NOW - timedelta(days=31), 0
        while at < NOW:
            n += 1
            github.add_workflow_run(
                short, workflow, conclusion="failure" if n % 37 == 0 else "success", created_at=at
            )
            at += step
        runs += n
    names = [f"{SAMPLES[i % 3]}_{i}" for i in range(migrations)]
    files: dict[str, str | bytes] = {
        "status/regular_status.json": json.dumps({n: f"{n} Migration Status" for n in names}),
        "status/longterm_status.json": "{}",
        "status/closed_status.json": sample("closed_status.json"),
    }
    for i, name in enumerate(names):
        files[f"status/migration_json/{name}.json"] = sample(
            f"migration_json/{SAMPLES[i % 3]}.json"
        )
    graph = github.add_repo(GRAPH, branches={"master": "a" * 40}, files=files)
    graph.default_branch = "master"
    github.add_repo(STATUS)
    for title, label in (("CI outage", "major outage"), ("Maintenance", "maintenance")):
        github.add_issue(STATUS, title, "Details.", labels=[label])
    return runs


def collect(
    github: FakeGitHub, root: Path, config: DashboardConfig, now: datetime, previous: dict | None
):  # type: ignore[no-untyped-def]
    settings = Settings(github_api_url=github.url, repository=REPOSITORY, http_timeout_seconds=30)
    client = GitHubClient.build(settings, "status-job", retrier=retrier_for(FakeClock()))
    options = StatusOptions(repository=REPOSITORY, dashboard=config, previous=previous)
    github.calls.clear()
    start = time.perf_counter()
    report = StatusCollector(
        root, git=Git(root), github=client, clock=lambda: now, options=options
    ).collect()
    seconds = time.perf_counter() - start
    kinds = Counter()
    for call in github.calls:
        if call.path.endswith("/runs"):
            kinds["workflow runs"] += 1
        elif "/contents/" in call.path:
            kinds["migration files"] += 1
        elif "/issues" in call.path:
            kinds["issues"] += 1
        else:
            kinds["other"] += 1
    return report, {
        "calls": len(github.calls),
        "by_kind": dict(kinds),
        "seconds": round(seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--bots", type=int, default=20)
    parser.add_argument("--migrations", type=int, default=30)
    parser.add_argument("--keep", type=Path, help="keep the rendered site here")
    args = parser.parse_args()
    watched = bots(args.bots)
    config = DashboardConfig(
        watched, MigrationsSource(GRAPH, "master"), IncidentsSource(f"conda-forge/{STATUS}")
    )
    work = Path(tempfile.mkdtemp(prefix="status-dashboard-"))
    try:
        root = work / "repo"
        (root / "requests").mkdir(parents=True)
        Git(root).run("init", "--quiet")
        Git(root).run(
            "-c", "user.name=bench", "-c", "user.email=bench@example.invalid",
            "commit", "--quiet", "--allow-empty", "-m", "An empty queue",
        )  # fmt: skip
        with FakeGitHub(org="conda-forge") as github:
            github.add_repo(HOME)
            github.add_token(
                "status-job",
                repositories=[HOME],
                permissions={"contents": "read", "issues": "read", "actions": "read"},
            )
            runs = seed(github, watched, args.migrations)
            github.faults.latency = args.latency
            cold_report, cold = collect(github, root, config, NOW, None)
            site = work / "site"
            write_site(cold_report, site)
            previous = json.loads((site / "status.json").read_text())
            _, warm = collect(github, root, config, NOW + timedelta(minutes=15), previous)
        sizes = {p.name: p.stat().st_size for p in site.iterdir() if p.is_file()}
        gz = {p.name: len(gzip.compress(p.read_bytes())) for p in site.iterdir() if p.is_file()}
        badges = sorted((site / "badges").iterdir())
        results = {
            "bots": len(watched),
            "runs_seeded": runs,
            "migrations": args.migrations,
            "latency_seconds_per_call": args.latency,
            "cold": cold,
            "warm_15_minutes_later": warm,
            "page_bytes": sizes,
            "gzip_bytes": gz,
            "badges": {"files": len(badges), "bytes": sum(b.stat().st_size for b in badges)},
        }
        if args.keep:
            shutil.copytree(site, args.keep, dirs_exist_ok=True)
        print(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
