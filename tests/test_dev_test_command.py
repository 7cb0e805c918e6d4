"""``python3 dev.py test`` runs the suite on pytest-xdist workers and the other checks meanwhile.

What that relies on is tested here: an ``xdist_group`` mark keeps its tests on one worker
(pytest-xdist 3.8's ``--dist loadgroup`` silently stops grouping on pytest 9.2, whose node
ids it can no longer rewrite: pytest-xdist issue #1386; requirements/lock.txt pins a pytest
it works with), the slowest groups are collected first, and a check run in the background
shows its output whole and counts in the exit status.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import dev
import pytest

from tests.conftest import pytest_collection_modifyitems

GROUPED = """
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("shared")


@pytest.mark.parametrize("n", range(6))
def test_grouped(n):
    Path(f"grouped-{n}").write_text(os.environ["PYTEST_XDIST_WORKER"])
"""
UNGROUPED = """
import os
from pathlib import Path

import pytest


@pytest.mark.parametrize("n", range(6))
def test_alone(n):
    Path(f"alone-{n}").write_text(os.environ["PYTEST_XDIST_WORKER"])
"""


def test_a_group_runs_on_one_worker_and_the_rest_is_spread(tmp_path: Path) -> None:
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    (tmp_path / "test_ungrouped.py").write_text(UNGROUPED)
    xdist = ["-n", "2", "--dist", "loadgroup", "--no-loadscope-reorder"]
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-o", "addopts=", *xdist],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    grouped = {(tmp_path / f"grouped-{n}").read_text() for n in range(6)}
    everyone = grouped | {(tmp_path / f"alone-{n}").read_text() for n in range(6)}
    assert len(grouped) == 1, f"the group was split over the workers {sorted(grouped)}"
    assert everyone == {"gw0", "gw1"}


@dataclass
class FakeItem:
    name: str
    marks: set[str] = field(default_factory=set)

    def get_closest_marker(self, name: str) -> str | None:
        return name if name in self.marks else None


def test_workflows_then_soak_tests_are_collected_first_each_in_their_order() -> None:
    items = [
        FakeItem("quick-1"),
        FakeItem("soak-1", {"soak"}),
        FakeItem("act-1", {"act"}),
        FakeItem("quick-2", {"vault"}),
        FakeItem("act-2", {"act"}),
        FakeItem("soak-2", {"soak"}),
    ]
    pytest_collection_modifyitems(items)  # type: ignore[arg-type]
    assert [item.name for item in items] == [
        "act-1",
        "act-2",
        "soak-1",
        "soak-2",
        "quick-1",
        "quick-2",
    ]


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_background_steps_print_whole_after_the_foreground_and_count_when_they_fail(
    capfd: pytest.CaptureFixture[str],
) -> None:
    failed = dev._run_steps(
        foreground=[
            ("first", _python("print('first says hi')")),
            ("second", _python("import sys; print('second fails'); sys.exit(3)")),
        ],
        background=[
            ("slow", _python("import time; time.sleep(0.5); print('slow one'); print('two')")),
            ("broken", _python("import sys; print('broken', file=sys.stderr); sys.exit(1)")),
        ],
    )
    assert failed == ["second", "broken"]
    out = capfd.readouterr().out
    order = ["first says hi", "second fails", "[dev] slow:", "slow one\ntwo", "[dev] broken:"]
    positions = [out.index(text) for text in order]
    assert positions == sorted(positions), out
    assert "broken\n[dev] broken exited with 1" in out


def test_a_failing_background_step_alone_fails_the_run(
    capfd: pytest.CaptureFixture[str],
) -> None:
    failed = dev._run_steps(
        foreground=[("fine", _python("pass"))],
        background=[("lint", _python("import sys; sys.exit(2)"))],
    )
    assert failed == ["lint"]
    assert "[dev] lint exited with 2" in capfd.readouterr().out


def test_an_interrupted_run_leaves_no_background_step_running(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    sleeper = _python(
        f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    )

    def interrupted(step: str, argv: list[str]) -> bool:
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.01)
        raise KeyboardInterrupt

    monkeypatch.setattr(dev, "_run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        dev._run_steps(foreground=[("pytest", ["unused"])], background=[("mypy", sleeper)])
    pid = int(pid_file.read_text())
    # Killed and reaped: no such process any more (not even a zombie).
    assert not Path(f"/proc/{pid}").exists()


def test_the_suite_runs_on_workers_and_arguments_after_test_come_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, list[dev.Step]] = {}

    def record(foreground: list[dev.Step], background: list[dev.Step]) -> list[str]:
        seen["foreground"], seen["background"] = foreground, background
        return []

    monkeypatch.setattr(dev, "ensure_chromium", lambda: None)
    monkeypatch.setattr(dev, "_run_steps", record)
    monkeypatch.setenv("ADMIN_REQUESTS_TEST_WORKERS", "3")
    assert dev.run_tests(["-n", "0", "-k", "queue"]) == 0
    steps = dict(seen["foreground"])
    assert list(steps) == ["ruff lint", "ruff format", "pytest"]
    pytest_argv = steps["pytest"]
    assert pytest_argv[pytest_argv.index("-n") + 1] == "3"
    assert pytest_argv[-4:] == ["-n", "0", "-k", "queue"]
    assert "--cov" in pytest_argv
    assert pytest_argv[pytest_argv.index("--dist") + 1] == "loadgroup"
    background = dict(seen["background"])
    assert list(background) == ["mypy", "zizmor pedantic", "zizmor auditor", "docs"]
    for persona in ("pedantic", "auditor"):
        zizmor = background[f"zizmor {persona}"]
        assert Path(zizmor[0]).name == "zizmor"
        assert f"--persona={persona}" in zizmor
        assert {"--offline", "--strict-collection"} <= set(zizmor)
        assert zizmor[-2:] == [".github", "actions"]
