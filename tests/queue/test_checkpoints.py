"""The run's checkpoints (queue/checkpoints.py): passed in order, the kill switch, and nothing
without the test variables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from admin_requests.queue.checkpoints import (
    KILL_AT_VARIABLE,
    TRACE_VARIABLE,
    checkpoint_from_environ,
)
from admin_requests.queue.dispatch import QueueRunner
from admin_requests.queue.gitops import Git
from tests.fakes.clock import FakeClock
from tests.fakes.tracker import MemoryTracker
from tests.fakes.wiring import unreachable_services
from tests.queue.support import (
    BOT,
    Repo,
    ScriptedKind,
    registry_with,
    things,
)


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
