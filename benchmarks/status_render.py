#!/usr/bin/env python3
"""How long ``admin-requests status`` takes on a big history, and how big the page is.

Generates (with ``git fast-import``, in seconds) a repository whose main branch has
40,000 commits over two years and 1,000 request files: each merged, most completed by
a ``Complete requests/x.yml: ...`` commit as the queue writes them, the rest still
queued (pending, retrying or parked, with their queue-state files). The other commits
are retry churn that rewrites a request file and its state file, heavy-tailed as on
conda-forge (a few requests retried thousands of times), so every commit touches
``requests/``: the worst case for reading the history.

Then times the collection and rendering three ways: without GitHub (history, queue,
render), against FakeGitHub with no latency, and with a latency per call (50 ms by
default, roughly a round trip to api.github.com), and prints JSON with the page size.
Not a test: nothing here passes or fails.

    .venv/bin/python benchmarks/status_render.py [--commits 40000] [--requests 1000]
        [--queued 50] [--latency 0.05] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT)]  # this checkout's code, and tests.fakes

from tests.fakes import FakeGitHub  # noqa: E402

from admin_requests.config import Settings  # noqa: E402
from admin_requests.queue.gitops import Git  # noqa: E402
from admin_requests.queue.notify import FAILURE_LABEL, marker  # noqa: E402
from admin_requests.queue.state import RequestState, content_digest  # noqa: E402
from admin_requests.services import GitHubClient  # noqa: E402
from admin_requests.status import StatusCollector, StatusOptions, write_site  # noqa: E402
from admin_requests.status.history import read_history  # noqa: E402

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
HOME = "admin-requests"
REPOSITORY = f"conda-forge/{HOME}"
BOT = "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"


@dataclass
class Request:
    name: str
    login: str
    added: float  # epoch seconds
    done: float | None  # None: still queued
    churn: list[float] = field(default_factory=list)
    state: str = "pending"  # for queued ones: pending, retrying, parked
    add_mark: int = 0

    @property
    def path(self) -> str:
        return f"requests/{self.name}"

    def text(self, revision: int = 0) -> str:
        body = f"action: archive\nfeedstocks:\n  - {self.name.removesuffix('.yml')}\n"
        return body if revision == 0 else f"# attempt {revision}\n{body}"


def plan(commits: int, requests: int, queued: int, rng: random.Random) -> list[Request]:
    start = (NOW - timedelta(days=730)).timestamp()
    end = (NOW - timedelta(minutes=30)).timestamp()
    made = []
    for i in range(requests):
        added = rng.uniform(start, end)
        is_queued = i >= requests - queued
        # Merge to done: log-normal around 20 minutes, a long tail into days.
        latency = 60 * math.exp(rng.gauss(math.log(20), 1.3))
        done = None if is_queued else min(added + latency, end)
        made.append(Request(f"req-{i:04d}.yml", f"user-{i % 97}", added, done))
    for request in made[requests - queued :]:
        request.state = rng.choice(["pending", "retrying", "parked"])
    churn = commits - 1 - requests - (requests - queued) - sum(r.state != "pending" for r in made)
    # Heavy-tailed churn: a few requests take most of the retries.
    weights = [rng.paretovariate(0.8) for _ in made]
    total = sum(weights)
    shares = [int(churn * w / total) for w in weights]
    shares[max(range(len(shares)), key=shares.__getitem__)] += churn - sum(shares)
    for request, share in zip(made, shares, strict=True):
        until = request.done if request.done is not None else end
        request.churn = sorted(rng.uniform(request.added, until) for _ in range(share))
    return made


def fast_import_stream(made: list[Request]) -> bytes:
    events: list[tuple[float, int, str, Request | None, int]] = [(0.0, 0, "init", None, 0)]
    for r in made:
        events.append((r.added, 1, "add", r, 0))
        events += [(t, 2, "churn", r, n + 1) for n, t in enumerate(r.churn)]
        if r.done is not None:
            events.append((r.done, 3, "complete", r, 0))
        elif r.state != "pending":
            events.append((r.churn[-1] + 1 if r.churn else r.added + 60, 3, r.state, r, 0))
    events.sort(key=lambda e: (e[0], e[1]))
    out: list[bytes] = []
    epoch = (NOW - timedelta(days=731)).timestamp()

    def data(text: str) -> None:
        raw = text.encode()
        out.append(f"data {len(raw)}\n".encode() + raw + b"\n")

    for mark, (when, _, kind, r, revision) in enumerate(events, start=1):
        stamp = int(max(when, epoch))
        if kind == "add" and r is not None:
            r.add_mark = mark
            who, message = f"{r.login} <{r.login}@users.noreply.github.com>", f"Add {r.path}"
        elif kind == "init":
            who, message = "Core <core@example.invalid>", "Set up the queue"
        else:
            who, message = BOT, ""
        out.append(f"commit refs/heads/main\nmark :{mark}\n".encode())
        out.append(f"author {who} {stamp} +0000\ncommitter {who} {stamp} +0000\n".encode())
        if kind == "init":
            data(message)
            out.append(b"M 100644 inline requests/README.md\n")
            data("The queue: one file per request.\n")
            continue
        assert r is not None
        state_path = f"queue-state/{r.name}.json"
        if kind == "add":
            data(message)
            out.append(f"M 100644 inline {r.path}\n".encode())
            data(r.text())
        elif kind == "churn":
            data(f"Retry {r.path} later: 1 of 1 item(s) left (attempt {revision})")
            out.append(f"M 100644 inline {r.path}\n".encode())
            data(r.text(revision))
            out.append(f"M 100644 inline {state_path}\n".encode())
            data(json.dumps({"attempts": revision}) + "\n")
        elif kind == "complete":
            data(f"Complete {r.path}: archive, 1 item(s) done (1 changed, 0 already done)")
            out.append(f"D {r.path}\n".encode())
            if r.churn:
                out.append(f"D {state_path}\n".encode())
        else:  # the queued request's current state
            text = r.text(len(r.churn))
            moment = datetime.fromtimestamp(stamp, UTC)
            state = RequestState(
                r.path,
                content_digest(text),
                attempts=len(r.churn) + 1,
                last_attempt=moment,
                next_attempt=None if kind == "parked" else moment + timedelta(hours=6),
                last_error="archive the repository x-feedstock: HTTP 503",
                parked=kind == "parked",
                parked_reason="it failed 8 times in a row" if kind == "parked" else None,
                issue=1000 + int(r.name[4:8]) if kind == "parked" else None,
            )
            data(f"{'Park' if kind == 'parked' else 'Retry'} {r.path}")
            out.append(f"M 100644 inline {state_path}\n".encode())
            data(state.to_json())
    return b"".join(out)


def generate(root: Path, made: list[Request]) -> dict[int, str]:
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main", str(root)], check=True)
    marks = root / ".git" / "marks"
    subprocess.run(
        ["git", "fast-import", "--quiet", f"--export-marks={marks}"],
        cwd=root,
        input=fast_import_stream(made),
        check=True,
    )
    subprocess.run(["git", "checkout", "--quiet", "--force", "main"], cwd=root, check=True)
    found = {}
    for line in marks.read_text().splitlines():
        mark, sha = line.split()
        found[int(mark[1:])] = sha
    return found


def seed_github(github: FakeGitHub, made: list[Request], marks: dict[int, str]) -> str:
    github.add_repo(HOME)
    for number, r in enumerate(made, start=1):
        github.add_commit_pull(HOME, marks[r.add_mark], number, user=r.login)
        if r.done is None and r.state == "parked":
            github.add_issue(
                HOME,
                f"Request {r.path} needs attention",
                f"@{r.login}\n{marker(r.path)}\n",
                labels=[FAILURE_LABEL],
            )
    for file, name in (("process.yml", "process requests"), ("check.yml", "check requests")):
        workflow = github.add_workflow(HOME, f".github/workflows/{file}", name)
        for n in range(30):
            github.add_workflow_run(
                HOME,
                workflow,
                conclusion="failure" if n > 26 else "success",
                created_at=NOW - timedelta(minutes=15 * (30 - n)),
            )
    permissions = {"contents": "read", "issues": "read", "actions": "read", "pull_requests": "read"}
    return github.add_token("status", repositories=[HOME], permissions=permissions)


def timed(repeat: int, action: object) -> tuple[float, float, object]:
    durations, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = action()  # type: ignore[operator]
        durations.append(time.perf_counter() - started)
    return min(durations), statistics.median(durations), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=40_000)
    parser.add_argument("--requests", type=int, default=1_000)
    parser.add_argument("--queued", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--keep", type=Path, help="keep the generated repository and site here")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="status-bench-"))
    root = (args.keep or work) / "repo"
    if root.exists():
        shutil.rmtree(root)
    rng = random.Random(args.seed)  # noqa: S311 (reproducible test data, not secrets)
    made = plan(args.commits, args.requests, args.queued, rng)
    started = time.perf_counter()
    marks = generate(root, made)
    generated = time.perf_counter() - started
    git = Git(root)
    commits = int(git.run("rev-list", "--count", "HEAD").stdout)
    options = StatusOptions(repository=REPOSITORY)
    site = (args.keep or work) / "site"
    results: dict[str, object] = {
        "benchmark": "status-render",
        "commits": commits,
        "requests": len(made),
        "queued": args.queued,
        "largest_churn": max(len(r.churn) for r in made),
        "generate_seconds": round(generated, 1),
    }

    best, median, history = timed(args.repeat, lambda: read_history(git))
    results["read_history_seconds"] = {"best": round(best, 3), "median": round(median, 3)}
    results["history_commits_read"] = history.commits  # type: ignore[attr-defined]

    def offline() -> object:
        report = StatusCollector(root, git=git, github=None, clock=lambda: NOW, options=options)
        return report.collect()

    best, median, report = timed(args.repeat, offline)
    results["collect_offline_seconds"] = {"best": round(best, 3), "median": round(median, 3)}
    best, median, sizes = timed(args.repeat, lambda: write_site(report, site))  # type: ignore[arg-type]
    results["render_seconds"] = {"best": round(best, 4), "median": round(median, 4)}
    tracemalloc.start()
    offline()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    results["collect_peak_traced_memory_mib"] = round(peak / 2**20, 1)

    with FakeGitHub(org="conda-forge") as github:
        token = seed_github(github, made, marks)
        settings = Settings(github_api_url=github.url, repository=REPOSITORY)
        for label, latency in (
            ("no_latency", 0.0),
            (f"latency_{int(args.latency * 1000)}ms", args.latency),
        ):
            github.faults.latency = latency

            def online() -> object:
                client = GitHubClient.build(settings, token)
                collector = StatusCollector(
                    root, git=git, github=client, clock=lambda: NOW, options=options
                )
                report = collector.collect()
                write_site(report, site)
                return report

            github.reset_counters()
            best, median, online_report = timed(args.repeat, online)
            results[f"collect_and_render_github_{label}_seconds"] = {
                "best": round(best, 3),
                "median": round(median, 3),
                "api_calls_per_run": github.call_count // args.repeat,
            }
        sizes = write_site(online_report, site)  # type: ignore[arg-type]
    results["page_bytes"] = sizes
    results["page_bytes_total"] = sum(sizes.values())  # type: ignore[union-attr]
    results["html_plus_json_bytes"] = sizes["index.html"] + sizes["status.json"]  # type: ignore[index]
    # GitHub Pages serves text gzip-compressed: what a phone actually downloads.
    results["gzip_bytes"] = {
        name: len(gzip.compress((site / name).read_bytes()))
        for name in sizes  # type: ignore[union-attr]
    }
    summary = online_report.to_dict()["summary"]  # type: ignore[attr-defined]
    results["page_shows"] = {
        k: summary[k] for k in ("queued", "pending", "retrying", "parked", "completed_total")
    }
    print(json.dumps(results, indent=2))
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
