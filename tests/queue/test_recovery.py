"""Recovery paths the soak and crash tests found: an issue that could not be closed,
one follow-up per group, items in a pool, checkpoints, an interrupted checkout, and
``run --push`` under the lease."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from admin_requests.cli import main
from admin_requests.config import Settings
from admin_requests.kinds.contract import Item, Outcome
from admin_requests.queue.checkpoints import (
    KILL_AT_VARIABLE,
    TRACE_VARIABLE,
    checkpoint_from_environ,
)
from admin_requests.queue.dispatch import QueueConfig, QueueRunner
from admin_requests.queue.gitops import Git
from admin_requests.queue.report import Disposition
from admin_requests.queue.state import StateStore
from admin_requests.services import Services
from tests.fakes import FakeAnaconda, FakeGitHub
from tests.fakes.clock import FakeClock
from tests.fakes.tracker import MemoryTracker
from tests.fakes.wiring import unreachable_services
from tests.queue.support import (
    BOT,
    POLICY,
    Repo,
    ScriptedKind,
    bare_of,
    clone_of,
    make_runner,
    registry_with,
    things,
)

# -- an issue that could not be closed ---------------------------------------------------


def test_a_completed_request_whose_issue_cannot_be_closed_is_closed_next_run(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    repo.add_request("a.yml", things("x"))
    kind.script["x"] = [Outcome.failed("no such feedstock")]
    make_runner(repo, clock, tracker, kinds=[kind]).run()
    [issue] = tracker.open_issues()

    tracker.fail = True  # GitHub is down when the request completes
    clock.advance(timedelta(hours=1))
    done = make_runner(repo, clock, tracker, kinds=[kind], retry=["requests/a.yml"]).run()
    assert done.results[0].disposition is Disposition.COMPLETED
    assert not repo.exists("requests/a.yml")
    state = StateStore(repo.root).load("requests/a.yml")
    assert state is not None
    assert (state.completed, state.issue) == (True, issue.number)
    assert "the next run tries again" in " ".join(done.results[0].notes)

    tracker.fail = False
    later = make_runner(repo, clock, tracker, kinds=[kind]).run()
    assert tracker.open_issues() == []
    assert (
        "is now complete" in issue.comments[-1]["body"]
    )  # the completion message, not 'withdrawn'
    assert StateStore(repo.root).load("requests/a.yml") is None
    assert later.commits == 1
    assert repo.subjects()[0].endswith("(completed, its issue is closed now)")
    assert repo.status() == ""


def test_a_withdrawn_request_keeps_its_state_until_its_issue_is_closed(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    repo.add_request("a.yml", things("x"))
    kind.script["x"] = [Outcome.failed("no such feedstock")]
    make_runner(repo, clock, tracker, kinds=[kind]).run()
    (repo.root / "requests" / "a.yml").unlink()
    repo.commit("Withdraw a.yml")

    tracker.fail = True
    first = make_runner(repo, clock, tracker, kinds=[kind]).run()
    assert first.commits == 0
    assert StateStore(repo.root).load("requests/a.yml") is not None

    tracker.fail = False
    make_runner(repo, clock, tracker, kinds=[kind]).run()
    assert tracker.open_issues() == []
    assert StateStore(repo.root).load("requests/a.yml") is None


# -- one follow-up per group -------------------------------------------------------------


def test_one_repodata_rebuild_for_broken_and_not_broken_in_one_run(
    fake_github: FakeGitHub, fake_anaconda: FakeAnaconda, repo: Repo, clock: FakeClock
) -> None:
    fake_github.add_token("gh")
    patches = fake_github.add_repo(
        "conda-forge-repodata-patches-feedstock", workflows=("rebuild.yml",)
    )
    fake_anaconda.add_token("ac")
    fake_anaconda.add_file("conda-forge", "noarch/a-1-h0_0.conda")
    fake_anaconda.add_file("conda-forge", "noarch/b-1-h0_0.conda", labels=["main", "broken"])
    repo.add_request("1.yml", "action: broken\npackages:\n  - noarch/a-1-h0_0.conda\n")
    repo.add_request("2.yml", "action: not_broken\npackages:\n  - noarch/b-1-h0_0.conda\n")
    settings = Settings(
        github_api_url=fake_github.url,
        anaconda_api_url=fake_anaconda.url,
        channel_url=fake_anaconda.url,
    )
    services = Services.build(settings, github_token="gh", anaconda_token="ac")

    report = make_runner(repo, clock, None, services=services).run()

    assert report.count(Disposition.COMPLETED) == 2
    assert fake_github.effects["workflow_dispatch"] == 1
    assert len(patches.workflow_dispatches) == 1


# -- items in a pool ---------------------------------------------------------------------


class PooledKind(ScriptedKind):
    parallel_items: ClassVar[int] = 4

    def __init__(self) -> None:
        super().__init__("pooled")
        self.together = threading.Barrier(4, timeout=30)
        self.threads: set[str] = set()

    def execute(self, item: Item, services: Any) -> Outcome:
        self.threads.add(threading.current_thread().name)
        if item.target != "slow":
            self.together.wait()  # all four at once, or this breaks
        return super().execute(item, services)


def test_items_of_a_pooled_kind_run_at_once_and_keep_their_order(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker
) -> None:
    pooled = PooledKind()
    repo.add_request("a.yml", things("a", "b", "c", "d", "e", "f", "g", "h", action="pooled"))
    pooled.script["c"] = [Outcome.retry("flaky")]
    pooled.script["f"] = [Outcome.retry("flaky")]

    report = make_runner(repo, clock, tracker, kinds=[pooled]).run()

    [result] = report.results
    assert [r.item.target for r in result.items] == ["a", "b", "c", "d", "e", "f", "g", "h"]
    assert [r.done for r in result.items] == [True, True, False, True, True, False, True, True]
    assert len(pooled.threads) == 4
    # The write-back is the same as one by one: the file keeps c and f, in order.
    assert repo.read("requests/a.yml") == things("c", "f", action="pooled")


def test_the_pool_can_be_turned_off(repo: Repo, clock: FakeClock, tracker: MemoryTracker) -> None:
    pooled = PooledKind()
    repo.add_request("a.yml", things("slow", "slow2", action="pooled"))
    pooled.together = threading.Barrier(1)
    runner = QueueRunner(
        repo.root,
        services=unreachable_services(),
        git=Git(repo.root, BOT),
        clock=clock,
        config=QueueConfig(policy=POLICY, max_parallel_items=1),
        registry=registry_with(pooled),
    )
    runner.run()
    assert pooled.threads == {threading.current_thread().name}


# -- checkpoints ---------------------------------------------------------------------------


def test_the_runner_passes_its_checkpoints_in_order(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    repo.add_request("a.yml", things("x", "y"))
    seen: list[str] = []
    QueueRunner(
        repo.root,
        services=unreachable_services(),
        git=Git(repo.root, BOT, checkpoint=seen.append),
        clock=clock,
        tracker=tracker,
        registry=registry_with(kind),
    ).run()
    assert seen == ["item done", "item done", "files written", "committed", "follow-ups"]


def test_the_kill_switch_kills_at_its_checkpoint_and_records_the_trace(tmp_path: Path) -> None:
    trace = tmp_path / "trace"
    script = (
        "import os\n"
        "from admin_requests.queue.checkpoints import checkpoint_from_environ\n"
        "hook = checkpoint_from_environ(os.environ)\n"
        "hook('first'); hook('second'); hook('third')\n"
        "print('survived')\n"
    )
    env = {"PATH": "/usr/bin:/bin", KILL_AT_VARIABLE: "2", TRACE_VARIABLE: str(trace)}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == -9
    assert "survived" not in result.stdout
    assert trace.read_text() == "1 first\n2 second\n"


def test_without_the_test_variables_checkpoints_do_nothing() -> None:
    hook = checkpoint_from_environ({"PATH": "/usr/bin"})
    hook("anything")  # would kill or pause if it were armed
    assert hook.__name__ == "no_checkpoint"  # type: ignore[attr-defined]


# -- an interrupted checkout ----------------------------------------------------------------


def test_what_an_interrupted_run_left_uncommitted_is_discarded(repo: Repo) -> None:
    repo.add_request("a.yml", things("x"))
    repo.add_request("b.yml", things("y"))
    (repo.root / "queue-state").mkdir()
    (repo.root / "queue-state" / "b.yml.json").write_text("{}\n")  # new, then staged
    repo.git("add", "queue-state/b.yml.json")
    (repo.root / "requests" / "a.yml").unlink()  # removed, not committed
    (repo.root / "requests" / "b.yml").write_text(things("z"))  # shrunk, not committed
    (repo.root / "notes.txt").write_text("not ours\n")

    left = Git(repo.root, BOT).discard_interrupted(["requests", "queue-state"])

    assert sorted(left) == ["queue-state/b.yml.json", "requests/a.yml", "requests/b.yml"]
    assert repo.read("requests/a.yml") == things("x")
    assert repo.read("requests/b.yml") == things("y")
    assert not repo.exists("queue-state/b.yml.json")
    assert repo.status() == "?? notes.txt\n"  # outside the queue: left alone
    assert Git(repo.root, BOT).discard_interrupted(["requests", "queue-state"]) == []


def test_sync_rebases_local_commits_onto_the_remote(repo: Repo, tmp_path: Path) -> None:
    remote = bare_of(repo, tmp_path)
    ours, theirs = clone_of(remote, tmp_path / "ours"), clone_of(remote, tmp_path / "theirs")
    theirs.add_request("new.yml", things("n"))
    theirs.git("push", "--quiet", "origin", "main")
    ours.add_request("mine.yml", things("m"))  # a killed run's commit, never pushed

    git = Git(ours.root, BOT)
    tip = git.sync("origin", "main")

    assert tip == theirs.head()
    assert git.commits_since(tip) == 1
    assert ours.exists("requests/new.yml")
    assert ours.exists("requests/mine.yml")


def test_run_push_takes_the_lease_and_pushes_what_an_interrupted_run_committed(
    repo: Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    remote = bare_of(repo, tmp_path)
    ours = clone_of(remote, tmp_path / "ours")
    (ours.root / "requests" / "README.md").write_text("the queue, edited by a killed run\n")
    Git(ours.root, BOT).commit(["requests/README.md"], "a commit that was never pushed")

    assert main(["run", "--root", str(ours.root), "--push"]) == 0

    pushed = subprocess.run(
        ["git", "--git-dir", str(remote), "log", "-1", "--format=%s", "main"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert pushed == "a commit that was never pushed"
    refs = subprocess.run(
        ["git", "--git-dir", str(remote), "for-each-ref", "--format=%(refname)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert refs == ["refs/heads/main"]  # the lease was released


def test_run_push_without_a_reachable_remote_is_an_error_not_a_crash(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.git("remote", "add", "origin", str(repo.root.parent / "nowhere.git"))
    assert main(["run", "--root", str(repo.root), "--push"]) == 1
    assert "run lease" in capsys.readouterr().err
