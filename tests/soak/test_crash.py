"""Crash safety: ``admin-requests run --push`` killed with SIGKILL, then run again.

Each run is a real ``admin-requests run --push`` process against FakeGitHub and a
local bare remote. An uninterrupted reference first records its checkpoints (after
each item, after a request's files change, after each commit, around the push, with
the lease held); each crash scenario then kills a run at checkpoints chosen from a
seed (every kind of checkpoint at least once), runs it again, and must reach the same
final state as the reference: the same repositories, references, files, issues and
comments on GitHub, the same side effects (each once), an empty queue on the remote,
and no lease left behind. Half of the scenarios re-run in a fresh clone (a hosted
runner), half in the killed run's own checkout (a self-hosted runner).

The queue holds the kinds that need only GitHub: ``admin-requests run`` gets no
anaconda.org credentials until the credentials wiring lands (broken, not_broken and
cfep3_copy are soaked in-process in test_soak.py).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from admin_requests.queue.checkpoints import KILL_AT_VARIABLE, PAUSE_VARIABLE, TRACE_VARIABLE
from admin_requests.queue.lease import LEASE_REF
from admin_requests.queue.state import DEFAULT_STATE_DIR, RequestState
from tests.fakes import FakeGitHub
from tests.queue.support import Repo
from tests.soak.world import GITHUB_TOKEN, HOME, World, build_world, fingerprint

pytestmark = pytest.mark.soak

SEED = 4242
PER_KIND = {
    "archive": 2,
    "unarchive": 1,
    "archive_branch": 2,
    "unarchive_branch": 1,
    "add_feedstock_output": 2,
}
CRASHES = 10  # crash scenarios per test run, chosen from the seed
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


@dataclass
class Site:
    """One world: fakes, the remote, and where the runs check it out."""

    gh: FakeGitHub
    world: World
    remote: Path
    work: Path
    clones: int = 0

    def clone(self) -> Path:
        self.clones += 1
        target = self.work / f"clone-{self.clones}"
        git("clone", "--quiet", str(self.remote), str(target))
        return target

    def env(self, **extra: str) -> dict[str, str]:
        environ = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("GITHUB_", "ADMIN_REQUESTS_", "ACTIONS_"))
        }
        environ.update(
            GITHUB_API_URL=self.gh.url,
            GITHUB_TOKEN=GITHUB_TOKEN,
            GITHUB_REPOSITORY=f"conda-forge/{HOME}",
            ADMIN_REQUESTS_HTTP_TIMEOUT="10",
            **extra,
        )
        return environ

    def start_run(self, checkout: Path, *options: str, **env: str) -> subprocess.Popen[str]:
        command = [sys.executable, "-m", "admin_requests", "run", "--root", str(checkout)]
        return subprocess.Popen(
            [*command, "--push", *options],
            env=self.env(**env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def run(self, checkout: Path, *options: str, **env: str) -> tuple[int, str]:
        process = self.start_run(checkout, *options, **env)
        output, _ = process.communicate()
        return process.returncode, output

    def fix_parked_typos(self) -> None:
        """A maintainer's pull request fixes each request parked for its typo."""
        checkout = self.clone()
        changed = False
        for request in self.world.requests:
            state_file = checkout / DEFAULT_STATE_DIR / f"{Path(request.path).name}.json"
            if request.fix is None or not state_file.exists():
                continue
            if not RequestState.from_json(state_file.read_text()).parked:
                continue
            path = checkout / request.path
            path.write_text(path.read_text().replace(*request.fix))
            changed = True
        if changed:
            identity = ["-c", "user.name=Maintainer", "-c", "user.email=m@example.invalid"]
            git(*identity, "commit", "--quiet", "-am", "Fix the feedstock name", cwd=checkout)
            git("push", "--quiet", "origin", "HEAD:refs/heads/main", cwd=checkout)

    def remote_tree(self) -> list[str]:
        return git("--git-dir", str(self.remote), "ls-tree", "-r", "--name-only", "main").split()

    def remote_refs(self) -> list[str]:
        return git("--git-dir", str(self.remote), "for-each-ref", "--format=%(refname)").split()

    def removals(self) -> Counter[str]:
        out = git(
            "--git-dir",
            str(self.remote),
            "log",
            "main",
            "--diff-filter=D",
            "--name-only",
            "--format=",
            "--",
            "requests/",
        )
        return Counter(line for line in out.splitlines() if line.strip())


MakeSite = Callable[[str], Site]


@pytest.fixture
def make_site(tmp_path: Path) -> Iterator[MakeSite]:
    """A fresh world (same seed: the same fakes, requests and remote) per call."""
    fakes: list[FakeGitHub] = []

    def make(name: str) -> Site:
        gh = FakeGitHub(org="conda-forge").start()
        fakes.append(gh)
        world = build_world(gh, None, seed=SEED, per_kind=PER_KIND, typos=1)
        origin = Repo(tmp_path / name / "origin")
        for request in world.requests:
            origin.add_request(request.path.removeprefix("requests/"), request.text)
        remote = tmp_path / name / "remote.git"
        git("clone", "--quiet", "--bare", str(origin.root), str(remote))
        return Site(gh, world, remote, tmp_path / name)

    yield make
    for gh in fakes:
        gh.stop()


def play(
    site: Site, plan: list[int], *, kill_at: int | None = None, persistent: bool = False
) -> None:
    """Two runs with a maintainer's fix in between (the typo request parks in the first
    and completes in the second); kill the run that reaches checkpoint ``kill_at`` of
    the whole scenario (``plan``: how many checkpoints each run passes), then re-run it.
    """
    checkout = site.clone() if persistent else None
    first = 1
    for step, passes in enumerate(plan):
        if step:
            site.fix_parked_typos()
        here = checkout or site.clone()
        if kill_at is not None and first <= kill_at < first + passes:
            # The killed run's lease must be stale for the re-run: no time to live.
            env = {KILL_AT_VARIABLE: str(kill_at - first + 1)}
            code, output = site.run(here, "--lease-ttl", "0", **env)
            assert code == -signal.SIGKILL, output
            here = checkout or site.clone()
        code, output = site.run(here)
        assert code == 0, output
        first += passes


def record_reference(site: Site, traces: Path) -> list[list[str]]:
    """The checkpoints each run of the uninterrupted scenario passes, by name."""
    names: list[list[str]] = []
    for step in range(2):
        if step:
            site.fix_parked_typos()
        trace = traces / f"trace-{step}"
        code, output = site.run(site.clone(), **{TRACE_VARIABLE: str(trace)})
        assert code == 0, output
        names.append([line.split(" ", 1)[1] for line in trace.read_text().splitlines()])
    return names


def test_a_run_killed_anywhere_then_rerun_ends_as_an_uninterrupted_one(
    make_site: MakeSite, tmp_path: Path
) -> None:
    reference = make_site("reference")
    runs = record_reference(reference, tmp_path)
    names = [name for run in runs for name in run]
    assert reference.world.all_done() == []
    assert reference.remote_tree() == ["requests/README.md"]
    assert LEASE_REF not in reference.remote_refs()
    assert reference.removals() == Counter(r.path for r in reference.world.requests)
    expected_state = fingerprint(reference.gh, None)
    expected_effects = Counter(reference.gh.effects)
    assert expected_effects["create_issue"] == expected_effects["close_issue"] == 1
    for name in ("lease taken", "item done", "files written", "committed", "push", "pushed"):
        assert name in names, (name, names)

    # Kill points from the seed: one of each kind of checkpoint, then random ones.
    rng = random.Random(SEED)
    by_name: dict[str, list[int]] = {}
    for index, name in enumerate(names, start=1):
        by_name.setdefault(name, []).append(index)
    picks = [rng.choice(indices) for _, indices in sorted(by_name.items())]
    while len(picks) < CRASHES:
        picks.append(rng.randint(1, len(names)))

    plan = [len(run) for run in runs]
    for number, kill_at in enumerate(picks):
        persistent = number % 2 == 1
        site = make_site(f"crash-{number}")
        play(site, plan, kill_at=kill_at, persistent=persistent)
        where = f"killed at {kill_at} ({names[kill_at - 1]!r}), same checkout: {persistent}"
        assert site.world.all_done() == [], where
        assert site.remote_tree() == ["requests/README.md"], where
        assert LEASE_REF not in site.remote_refs(), where
        assert site.removals() == Counter(r.path for r in site.world.requests), where
        assert fingerprint(site.gh, None) == expected_state, where
        assert Counter(site.gh.effects) == expected_effects, where


def test_two_runs_started_together_never_both_process(make_site: MakeSite) -> None:
    reference = make_site("reference")
    code, output = reference.run(reference.clone())
    assert code == 0, output
    reference_writes = [reference.gh.count(method) for method in WRITES]

    site = make_site("together")
    site.gh.faults.latency = 0.05  # a run lasts long enough for the other to meet it
    processes = [site.start_run(site.clone()), site.start_run(site.clone())]
    outputs = [process.communicate()[0] for process in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs

    # Whichever came second found the lease taken, or nothing left to do: every
    # write went out once, as in a single run.
    assert [site.gh.count(method) for method in WRITES] == reference_writes, outputs
    assert Counter(site.gh.effects) == Counter(reference.gh.effects)
    assert site.removals() == reference.removals()
    assert LEASE_REF not in site.remote_refs()


def test_a_run_started_while_another_holds_the_lease_does_nothing(
    make_site: MakeSite, tmp_path: Path
) -> None:
    """Deterministic overlap: the first run pauses with the lease held; the second
    starts then, makes no call and no commit; a third, after the first, finds nothing
    left to do and commits nothing either."""
    site = make_site("overlap")
    resume, trace = tmp_path / "resume", tmp_path / "first-trace"
    first = site.start_run(
        site.clone(), **{PAUSE_VARIABLE: f"1:{resume}", TRACE_VARIABLE: str(trace)}
    )
    try:
        for _ in range(6000):  # until the first run reaches its first checkpoint
            if trace.exists() and "lease taken" in trace.read_text():
                break
            assert first.poll() is None, first.communicate()[0]
            time.sleep(0.05)
        assert "lease taken" in trace.read_text()
        main_before = git("--git-dir", str(site.remote), "rev-parse", "main")
        calls_before = site.gh.call_count

        code, output = site.run(site.clone())
        assert code == 0, output
        assert "another run is processing the queue" in output
        assert git("--git-dir", str(site.remote), "rev-parse", "main") == main_before
        assert site.gh.call_count == calls_before  # not a single call to GitHub
    finally:
        resume.touch()
        output = first.communicate()[0]
    assert first.returncode == 0, output

    main_after = git("--git-dir", str(site.remote), "rev-parse", "main")
    assert main_after != main_before
    code, output = site.run(site.clone())
    assert code == 0, output
    assert git("--git-dir", str(site.remote), "rev-parse", "main") == main_after
    assert LEASE_REF not in site.remote_refs()
