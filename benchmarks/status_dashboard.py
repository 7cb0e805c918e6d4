#!/usr/bin/env python3
"""Calls and time of ``admin-requests status`` for the whole organisation, and page size.

Seeds FakeGitHub with 20 bots (the cadences of the conda-forge defaults, plus one) and 30
days of their runs, 30 migrations (copies of the real samples in
tests/data/autotick-status) and two open incidents; generates (with status_render.py's
``git fast-import`` history) a queue of 1,000 requests still queued (pending, retrying
and parked, with their queue-state files and pull requests) beside 200 completed, and
writes 200 recipes into creation-state/ through creation's own ``ProgressStore``
(stuck, waiting and in progress). Then it builds the page twice with a latency per call
(50 ms by default, roughly a round trip to api.github.com):

- cold: no previous status.json, 30 days of runs read;
- warm: 15 minutes later with the first build's status.json as ``--previous``.

Prints JSON: calls by kind, the collection's and the whole build's wall time (collect
and write the site), and the page's size raw and gzip-compressed (as GitHub Pages
serves it). Not a test: nothing here passes or fails. ``--quick`` is a smoke run of a
few seconds (``python3 dev.py bench --quick`` runs it so).

    .venv/bin/python benchmarks/status_dashboard.py [--latency 0.05] [--bots 20]
        [--migrations 30] [--requests 1000] [--recipes 200] [--quick] [--keep DIR]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT)]  # this checkout's code, and tests.fakes
sys.path.insert(0, str(Path(__file__).resolve().parent))  # status_render, when imported

from status_render import generate, plan  # noqa: E402
from tests.fakes import FakeGitHub  # noqa: E402
from tests.fakes.clock import FakeClock  # noqa: E402
from tests.fakes.wiring import retrier_for  # noqa: E402
from tests.status.organisation_data import GRAPH, STATUS, sample  # noqa: E402

from admin_requests.config import Settings  # noqa: E402
from admin_requests.creation.progress import ProgressStore, RecipeProgress  # noqa: E402
from admin_requests.creation.steps import STEP_NAMES  # noqa: E402
from admin_requests.queue.gitops import Git  # noqa: E402
from admin_requests.queue.notify import FAILURE_LABEL, marker  # noqa: E402
from admin_requests.queue.state import RequestState, RetryPolicy  # noqa: E402
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


def seed_queue(github: FakeGitHub, root: Path, queued: int, completed: int) -> dict[str, int]:
    """A history with ``queued`` requests still in requests/ and ``completed`` done."""
    rng = random.Random(19)  # noqa: S311 (reproducible test data, not secrets)
    total = queued + completed
    made = plan(commits=3 * total + 1, requests=total, queued=queued, rng=rng)
    # plan() draws each queued state evenly; a big real queue is mostly waiting, with a
    # few parked (every one of which the page lists in full).
    for r in made:
        if r.done is None:
            r.state = rng.choices(["pending", "retrying", "parked"], weights=[85, 10, 5])[0]
            if r.state == "pending":
                r.churn = []  # never attempted: no state file (a churn one is not valid)
    marks = generate(root, made)
    for number, r in enumerate(made, start=1):
        github.add_commit_pull(HOME, marks[r.add_mark], number, user=r.login)
        if r.done is None and r.state == "parked":
            github.add_issue(
                HOME,
                f"Request {r.path} needs attention",
                f"@{r.login}\n{marker(r.path)}\n",
                labels=[FAILURE_LABEL],
            )
    states = [r.state for r in made if r.done is None]
    return {s: states.count(s) for s in ("pending", "retrying", "parked")}


def seed_recipes(root: Path, count: int, now: datetime) -> dict[str, int]:
    """``count`` recipes in creation-state/, written as creation writes them: a tenth
    stuck (parked), three tenths in backoff, the rest due with some steps done."""
    store = ProgressStore(root)
    policy = RetryPolicy()
    for n in range(count):
        state = RequestState(f"recipes/recipe-{n:04d}", f"tree-{n}")
        done = n % len(STEP_NAMES)
        failures = 8 if n % 10 == 0 else (n % 3 + 1 if n % 10 < 4 else 0)
        for k in range(failures):
            state = state.after_failed_attempt(
                now=now - timedelta(minutes=10 * (failures - k)),
                digest=state.content_sha256,
                pending={s: "not verified yet" for s in STEP_NAMES[done:]},
                error="Azure DevOps answered 503 while registering the pipeline",
                permanent=False,
                policy=policy,
            )
        steps = {s: "verified" for s in STEP_NAMES[:done]}
        store.save(RecipeProgress(state, f"recipe-{n:04d}", steps))
    return {"recipes": count}


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
    calls = len(github.calls)
    site = root.parent / f"site-{int(now.timestamp())}"
    write_site(report, site)
    built = time.perf_counter() - start
    kinds = Counter()
    for call in github.calls:
        if call.path.endswith("/runs"):
            kinds["workflow runs"] += 1
        elif "/contents/" in call.path:
            kinds["migration files"] += 1
        elif "/issues" in call.path:
            kinds["issues"] += 1
        elif "/pulls" in call.path:
            kinds["pull request lookups"] += 1
        else:
            kinds["other"] += 1
    return (
        report,
        site,
        {
            "calls": calls,
            "by_kind": dict(kinds),
            "seconds": round(seconds, 2),
            "build_seconds": round(built, 2),  # collect and write the site
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--bots", type=int, default=20)
    parser.add_argument("--migrations", type=int, default=30)
    parser.add_argument("--requests", type=int, default=1000, help="requests still queued")
    parser.add_argument("--completed", type=int, default=200, help="requests completed")
    parser.add_argument("--recipes", type=int, default=200, help="recipes in creation-state/")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--keep", type=Path, help="keep the rendered site here")
    args = parser.parse_args()
    if args.quick:
        args.bots, args.migrations = min(args.bots, 4), min(args.migrations, 3)
        args.requests, args.completed, args.recipes = 60, 10, 60
    watched = bots(args.bots)
    config = DashboardConfig(
        watched, MigrationsSource(GRAPH, "master"), IncidentsSource(f"conda-forge/{STATUS}")
    )
    work = Path(tempfile.mkdtemp(prefix="status-dashboard-"))
    try:
        root = work / "repo"
        with FakeGitHub(org="conda-forge") as github:
            github.add_repo(HOME)
            github.add_token(
                "status-job",
                repositories=[HOME],
                permissions={
                    "contents": "read",
                    "issues": "read",
                    "actions": "read",
                    "pull_requests": "read",
                },
            )
            queue = seed_queue(github, root, args.requests, args.completed)
            seed_recipes(root, args.recipes, NOW)
            runs = seed(github, watched, args.migrations)
            github.faults.latency = args.latency
            cold_report, site, cold = collect(github, root, config, NOW, None)
            previous = json.loads((site / "status.json").read_text())
            _, _, warm = collect(github, root, config, NOW + timedelta(minutes=15), previous)
        sizes = {p.name: p.stat().st_size for p in site.iterdir() if p.is_file()}
        gz = {p.name: len(gzip.compress(p.read_bytes())) for p in site.iterdir() if p.is_file()}
        badges = sorted((site / "badges").iterdir())
        summary = cold_report.to_dict()["summary"]
        creation = cold_report.creation.to_dict()
        results = {
            "bots": len(watched),
            "runs_seeded": runs,
            "migrations": args.migrations,
            "requests_queued": args.requests,
            "requests_completed": args.completed,
            "queue_states": queue,
            "recipes": args.recipes,
            "latency_seconds_per_call": args.latency,
            "cold": cold,
            "warm_15_minutes_later": warm,
            "page_shows": {
                "queued": summary["queued"],
                "parked": summary["parked"],
                "recipes": creation["recipes_total"],
                "recipes_stuck": creation["stuck"],
                "recipes_waiting": creation["waiting"],
                "recipes_in_progress": creation["in_progress"],
            },
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
