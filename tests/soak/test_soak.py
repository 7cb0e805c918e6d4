"""Soak under faults: a queue of mixed requests, carried out by repeated runs of the real
QueueRunner (a real git repository, the real clients) while both fakes inject 5xx, 429
with Retry-After, timeouts, connection resets and lost responses at random.

Bounded by work, not time: at most ``MAX_RUNS`` runs; retries wait on a fake clock.
GitHub's documented rate limits and the modelled anaconda.org one are in force on that
clock (tests/fakes/limits.py), and the client paces its mutations as in production.
At the end every request is done exactly once, each side effect happened once, no item
was lost, no request file lost an item before that item was done (checked at every
commit, and every commit in the history was checked), and no run crashed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from admin_requests.kinds import REGISTRY
from admin_requests.kinds.broken import RESYNC_MESSAGE
from admin_requests.queue.dispatch import QueueConfig, QueueRunner
from admin_requests.queue.gitops import Git
from admin_requests.queue.notify import GitHubIssueTracker
from admin_requests.queue.report import Disposition, RunReport
from admin_requests.queue.state import RetryPolicy as QueuePolicy
from admin_requests.queue.state import StateStore
from admin_requests.services.http import RetryPolicy
from tests.fakes import FakeAnaconda, FakeCirun, FakeGitHub, Fault
from tests.fakes.clock import START, FakeClock
from tests.fakes.github import REPODATA_PATCHES_WORKFLOW
from tests.fakes.limits import AnacondaLimits, GitHubLimits
from tests.queue.support import BOT, Repo
from tests.soak.world import (
    HOME,
    OUTPUTS,
    PATCHES,
    TOKENS,
    World,
    build_world,
    world_services,
)

pytestmark = pytest.mark.soak

# (seed, HTTP attempts per call): fewer attempts push more failures up to the queue
# (shrunk files, backoff, requests parked after too many attempts and retried by core).
ROUNDS = ((20260105, 4), (7, 3), (1234, 2))
PER_KIND = {
    "archive": 6,
    "unarchive": 5,
    "archive_branch": 5,
    "unarchive_branch": 5,
    "add_feedstock_output": 6,
    "broken": 7,
    "not_broken": 5,
    "cfep3_copy": 5,
    "token_reset": 3,
    "travis": 2,
    "blacksmith": 2,
    "namespace": 2,
    "depot": 2,
    "cirrus_runners": 2,
    "cirun": 4,
}
TYPOS = 4  # archive requests that park on a misspelt feedstock until a maintainer fixes it
MAX_RUNS = 20
# Short client timeouts keep injected timeouts cheap (PyGithub rounds up to 1 s).
HTTP_TIMEOUT = 0.5
# Effects that must never happen in this queue, besides those the world expects.
UNEXPECTED = (
    "reopen_issue",
    "mint",
    "mint_token",
    "remove_token",
    "revoke_token",
    "installation_remove",
)


def inject_faults(fake: FakeGitHub | FakeAnaconda | FakeCirun, timeout: float, seed: int) -> None:
    """20% 5xx, plus 429 with Retry-After, timeouts, resets and lost responses.

    On GitHub, the first issue, comment and close calls also lose their answer, so the
    writes that are not idempotent are certain to meet an uncertain outcome.
    """
    faults = fake.faults
    faults.seed(seed)
    if isinstance(fake, FakeGitHub):
        lost = Fault.lost_response()
        faults.on_call(1, 3, fault=lost, method="POST", path=r"/issues$")
        faults.on_call(1, 4, fault=lost, method="POST", path=r"/issues/\d+/comments$")
        faults.on_call(1, fault=lost, method="PATCH", path=r"/issues/\d+$")
        # ... and so do the first pull request, and the first branch a kind creates.
        faults.on_call(1, fault=lost, method="POST", path=r"/pulls$")
        faults.on_call(1, fault=lost, method="POST", path=r"-feedstock/git/refs$")
        faults.at_rate(0.03, Fault.secondary_rate_limit("5"))
    for status in (500, 502, 503):
        faults.at_rate(0.07, Fault.server_error(status))
    faults.at_rate(0.05, Fault.too_many_requests("3"))
    faults.at_rate(0.04, Fault.timeout(timeout))
    faults.at_rate(0.04, Fault.reset())
    faults.at_rate(0.05, Fault.lost_response())


class AuditedGit(Git):
    """Git that checks, at the moment of each commit, what the commit does to requests.

    A commit may drop an item from a request file (shrink it, or remove the file) only
    when that item's end state holds in the fakes right now; it never adds items.
    """

    def __init__(self, root: Path, world: World, originals: dict[str, set[str]]) -> None:
        super().__init__(root, BOT)
        self.world = world
        self.originals = originals
        self.audited: set[str] = set()
        self.violations: list[str] = []

    def commit(self, paths: Sequence[str], message: str) -> bool:
        for path in paths:
            if path not in self.originals:
                continue
            current = self.root / path
            left = self.world.items_of(current.read_text()) if current.exists() else set()
            if not left <= self.originals[path]:
                self.violations.append(f"{path}: items appeared: {left - self.originals[path]}")
            for item in sorted(self.originals[path] - left):
                if not self.world.item_done(item):
                    self.violations.append(f"{path}: {item} dropped before it was done")
        made = super().commit(paths, message)
        if made:
            self.audited.add(self.head())
        return made


@pytest.fixture
def fakes() -> Iterator[tuple[FakeGitHub, FakeAnaconda]]:
    with FakeGitHub(org="conda-forge") as gh, FakeAnaconda() as ac:
        yield gh, ac


def _maintainer_fixes(
    world: World, repo: Repo, store: StateStore, fixed: set[str], originals: dict[str, set[str]]
) -> None:
    """A maintainer corrects each request that got parked for its typo (once).

    The corrected file is the new original: its items are what the bot must do. The
    maintainer learns of the typo from the issue, so a park whose issue could not be
    opened yet (a fault) waits for the run that opens it.
    """
    for request in world.requests:
        if request.fix is None or request.path in fixed:
            continue
        state = store.load(request.path)
        if state is None or not state.parked or state.issue is None:
            continue
        typo, meant = request.fix
        path = repo.root / request.path
        path.write_text(path.read_text().replace(typo, meant))
        repo.commit(f"Fix the feedstock name in {request.path}")
        fixed.add(request.path)
        originals[request.path] = world.items_of(path.read_text())


def _parked_for_attempts(world: World, store: StateStore) -> list[str]:
    parked = []
    for request in world.requests:
        state = store.load(request.path)
        # Core learns of a park from its issue: one not opened yet (a fault) waits.
        if state is not None and state.parked and request.fix is None and state.issue:
            parked.append(request.path)
    return parked


def _git_lines(repo: Repo, *args: str) -> list[str]:
    return [line for line in repo.git(*args).splitlines() if line.strip()]


@pytest.mark.parametrize(("seed", "attempts"), ROUNDS)
def test_soak_mixed_queue_under_faults(
    fakes: tuple[FakeGitHub, FakeAnaconda],
    fake_cirun: FakeCirun,
    tmp_path: Path,
    seed: int,
    attempts: int,
) -> None:
    gh, ac = fakes
    cirun = fake_cirun
    world = build_world(gh, ac, seed=seed, per_kind=PER_KIND, typos=TYPOS, cirun=cirun)
    assert len(world.requests) >= 50
    assert {r.text.split("\n", 1)[0] for r in world.requests} == {
        f"action: {action}" for action in PER_KIND
    }
    repo = Repo(tmp_path / "queue")
    originals: dict[str, set[str]] = {}
    for request in world.requests:
        repo.add_request(request.path.removeprefix("requests/"), request.text)
        originals[request.path] = world.items_of(request.text)

    sleeps = FakeClock()  # the HTTP retries' waits and pacing; the fakes' limits run on it
    # GitHub's documented rate limits and the modelled anaconda.org one, as in production;
    # the client paces its mutations a second apart (RetryPolicy's default).
    for limited in (gh, ac):
        limited.time_source = sleeps.time
    github_limits = gh.enforce_limits(GitHubLimits())
    anaconda_limits = ac.enforce_limits(AnacondaLimits())
    policy = RetryPolicy(max_attempts=attempts, base_delay=1.0, max_delay=30.0, max_total_wait=90.0)
    assert policy.mutation_spacing == 1.0
    inject_faults(gh, timeout=1.2, seed=seed)
    inject_faults(ac, timeout=0.8, seed=seed + 1)
    inject_faults(cirun, timeout=0.8, seed=seed + 2)

    clock = FakeClock(START)  # the queue's
    git = AuditedGit(repo.root, world, originals)
    store = StateStore(repo.root)
    reports: list[RunReport] = []
    fixed: set[str] = set()
    retried: list[str] = []
    for _ in range(MAX_RUNS):
        if not any((repo.root / r.path).exists() for r in world.requests) and not (
            store.requests_with_state()
        ):
            break
        # Core retries requests parked for failing too often (the workflow's retry input).
        retry = _parked_for_attempts(world, store)
        retried += retry
        # Built per run, as in production: per-run memos start empty.
        services = world_services(
            gh, ac, clock=sleeps, policy=policy, http_timeout_seconds=HTTP_TIMEOUT, cirun=cirun
        )
        # The tracker shares the run's client, so its writes are paced with the kinds'.
        tracker = GitHubIssueTracker(services.github, f"conda-forge/{HOME}")
        runner = QueueRunner(
            repo.root,
            services=services,
            git=git,
            clock=clock,
            tracker=tracker,
            config=QueueConfig(policy=QueuePolicy(), retry=frozenset(retry)),
        )
        reports.append(runner.run())  # a run that raised would fail the test here
        _maintainer_fixes(world, repo, store, fixed, originals)
        clock.advance(timedelta(hours=7))  # past the longest backoff: everything is due
        sleeps.advance(timedelta(hours=7))  # the next run is as far away for the limits

    print(  # the figures docs/performance.md quotes
        f"\nsoak: {len(world.requests)} requests, {len(world.checks)} items, {len(reports)} "
        f"runs ({len(retried)} retries by core), "
        f"{gh.call_count + ac.call_count + cirun.call_count} HTTP calls, "
        f"{sum(f.faults.injected_by_kind.total() for f in (gh, ac, cirun))} faults, "
        f"{len(sleeps.sleeps)} waits, backoff and mutation pacing ({sum(sleeps.sleeps):.0f} s on "
        "the fake clock); "
        f"GitHub's limits: {github_limits.admitted} calls admitted, refused "
        f"{github_limits.refused or 'none'}, peak {github_limits.peak_in_flight} in flight; "
        f"anaconda.org's modelled limit: {anaconda_limits.admitted} admitted, "
        f"{anaconda_limits.refused} refused"
    )
    # The limits were in force for the whole soak.
    assert github_limits.admitted > 0
    assert anaconda_limits.admitted > 0

    # Faults of every kind were injected, and often.
    for fake in (gh, ac):
        injected = fake.faults.injected_by_kind
        assert {"status 500", "status 502", "status 503", "status 429"} <= set(injected)
        assert {"timeout", "reset", "lost_response"} <= set(injected), injected
        assert sum(injected.values()) >= 25, injected

    # No run crashed; the queue is empty; every item's end state holds.
    errors = [
        (n, r.request, r.notes)
        for n, report in enumerate(reports)
        for r in report.results
        if r.disposition is Disposition.ERROR
    ]
    assert errors == []
    assert [r.path for r in world.requests if (repo.root / r.path).exists()] == []
    assert store.requests_with_state() == []
    assert world.all_done() == []
    assert repo.status() == ""

    # Every request completed exactly once, and no item was dropped before it was done.
    assert git.violations == []
    completed = Counter(
        r.request
        for report in reports
        for r in report.results
        if r.disposition is Disposition.COMPLETED
    )
    assert completed == Counter(r.path for r in world.requests)
    removed = Counter(
        _git_lines(repo, "log", "--diff-filter=D", "--name-only", "--format=", "--", "requests/")
    )
    assert removed == Counter(r.path for r in world.requests)
    bot_commits = _git_lines(repo, "log", f"--author={BOT.name}", "--format=%H")
    assert bot_commits
    assert set(bot_commits) <= git.audited

    # Each side effect happened once (the fakes count changes, not calls).
    effects = gh.effects + ac.effects + cirun.effects
    for name, expected in world.effects.items():
        assert effects[name] == expected, (name, effects[name], expected)
    for name, least in world.at_least.items():
        assert effects[name] >= least, (name, effects[name], least)
    # token_reset: two commits on the registry per request (provisional, final), more
    # when a run is cut short and the next one resets again.
    resets = [r for r in world.requests if "action: token_reset" in r.text]
    assert len(gh.repo(TOKENS).pushes) >= 2 * len(resets)
    assert [name for name in UNEXPECTED if effects[name]] == []
    # Each cirun pull request opened once, and conda-forge's bot asked once to rerender.
    for feedstock in world.pulls:
        [pull] = gh.pulls(feedstock)
        assert [c["body"] for c in pull.comments] == ["@conda-forge-admin, please rerender"]

    # Faults are transient: only a real mistake (the typos) parks a request for good;
    # too many failed attempts in a row may park one (and core retries it).
    permanent = sorted(
        r.request
        for report in reports
        for r in report.results
        if r.disposition is Disposition.PARKED
        and r.state is not None
        and "permanent" in (r.state.parked_reason or "")
    )
    assert permanent == sorted(r.path for r in world.requests if r.fix), [
        (r.request, r.state.last_error if r.state else None)
        for report in reports
        for r in report.results
        if r.request in set(permanent) - {w.path for w in world.requests if w.fix}
    ]

    # One issue per request that was ever parked (a typo, or too many failures), never
    # two; each closed with one "complete" comment; nothing said twice in a row.
    parks = Counter(
        r.request
        for report in reports
        for r in report.results
        if r.disposition is Disposition.PARKED
    )
    issues = gh.issues(HOME)
    assert sorted(issue.title for issue in issues) == sorted(
        f"Request {request} needs attention" for request in parks
    )
    for issue in issues:
        bodies = [c["body"] for c in issue.comments]
        request = issue.title.removeprefix("Request ").removesuffix(" needs attention")
        assert issue.state == "closed", issue.title
        assert sum("is now complete" in body for body in bodies) == 1, bodies
        assert "is now complete" in bodies[-1]
        assert len(bodies) - 1 <= parks[request] - 1, (issue.title, bodies)  # parked again
        assert all(a != b for a, b in pairwise(bodies)), bodies
    assert effects["create_issue"] == effects["close_issue"] == len(parks)
    assert effects["comment"] == sum(len(i.comments) for i in issues) + len(world.pulls)

    # One repodata rebuild (an empty commit on the feedstock's main, whose push starts
    # its build) per run that handled labels; a failed follow-up may leave one out. A
    # lost answer adds none: the ref update is repeated to the same commit, which moves
    # nothing, and a commit object created twice is never on the branch.
    label_runs = [
        any(
            r.action in ("broken", "not_broken") and any(i.done for i in r.items)
            for r in report.results
        )
        for report in reports
    ]
    failed = sum(bool(report.failed_follow_ups) for report in reports)
    rebuilds = gh.repo(PATCHES).pushes_starting(REPODATA_PATCHES_WORKFLOW)
    assert sum(label_runs) - failed <= len(rebuilds) <= sum(label_runs)
    assert all(p.message.startswith(RESYNC_MESSAGE) for p in rebuilds)
    assert len(gh.repo(PATCHES).pushes) == len(rebuilds)  # nobody else pushes there
    # No other ref is moved but the registries' main: add_feedstock_output's one commit
    # per request (or per run that carried some of its items out), token_reset's two.
    outputs = [r for r in world.requests if "add_feedstock_output" in r.text]
    items = sum(len(world.items_of(r.text)) for r in outputs)
    assert len(outputs) <= len(gh.repo(OUTPUTS).pushes) <= items
    registries = len(gh.repo(OUTPUTS).pushes) + len(gh.repo(TOKENS).pushes)
    assert effects["update_ref"] == len(rebuilds) + registries


def test_every_kind_is_soaked(
    fakes: tuple[FakeGitHub, FakeAnaconda], fake_cirun: FakeCirun
) -> None:
    """The extension point: every kind is in the soak's queue, and its builder
    (``soak_request`` in tests/kinds/<kind>/hooks.py) checks the end state of each item
    its request plans (a builder without checks would pass without soaking anything)."""
    assert sorted(PER_KIND) == sorted(REGISTRY), "add the kind to PER_KIND above"
    gh, ac = fakes
    world = build_world(gh, ac, seed=3, per_kind=dict.fromkeys(REGISTRY, 1), cirun=fake_cirun)
    for request in world.requests:
        unchecked = world.items_of(request.text) - set(world.checks)
        assert not unchecked, f"{request.path}: no end-state check for {sorted(unchecked)}"


def test_the_audit_catches_an_item_dropped_before_it_was_done(
    fakes: tuple[FakeGitHub, FakeAnaconda], tmp_path: Path
) -> None:
    """The soak's commit audit can fail: dropping an undone item is a violation."""
    gh, ac = fakes
    world = build_world(gh, ac, seed=1, per_kind={"archive": 1})
    [request] = world.requests
    repo = Repo(tmp_path / "queue")
    repo.add_request(request.path.removeprefix("requests/"), request.text)
    git = AuditedGit(repo.root, world, {request.path: world.items_of(request.text)})
    (repo.root / request.path).unlink()
    assert git.commit([request.path], "remove it without doing it")
    assert git.violations
    assert "dropped before it was done" in git.violations[0]


def test_world_is_reproducible_from_its_seed() -> None:
    with (
        FakeGitHub() as one,
        FakeGitHub() as two,
        FakeAnaconda() as ac1,
        FakeAnaconda() as ac2,
        FakeCirun() as c1,
        FakeCirun() as c2,
    ):
        first = build_world(one, ac1, seed=7, per_kind=PER_KIND, typos=1, cirun=c1)
        second = build_world(two, ac2, seed=7, per_kind=PER_KIND, typos=1, cirun=c2)
    assert [(r.path, r.text) for r in first.requests] == [(r.path, r.text) for r in second.requests]
    assert sorted(first.checks) == sorted(second.checks)
