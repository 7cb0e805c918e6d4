"""process.yml on schedule while GitHub keeps refusing one call, then after it recovers.

GitHub answers every attempt to archive ``retired-tool-feedstock`` with its primary
rate limit (403, remaining 0, reset in an hour): each run gives up on that item at once
and the request is retried in a later run. Time passes for real between the runs: the
workflow gets a retry policy in seconds (ADMIN_REQUESTS_RETRY_FIRST_DELAY=45, _MAX_DELAY
=60, _MAX_ATTEMPTS=3, passed with --env; production keeps 15 min / 6 h / 8), and the
test sleeps until each attempt is due. The first wait is long enough for run 2 to start
before it ends even on a loaded machine (the suite runs act beside other tests; with a
15 s wait a slow run 2 found the request due). The runs:

1. schedule: attempt 1 fails; retried 45 s later at the earliest (committed);
2. schedule, at once: not due yet, so nothing is attempted and nothing committed;
3. schedule, once due: attempt 2 fails; the wait doubles, capped at 60 s;
4. schedule, once due: attempt 3 fails; parked, one issue for the requester;
5. schedule: parked requests wait for a person: nothing attempted, nothing committed;
6. the rate limit is over; core retries it by hand (workflow_dispatch, retry=the file):
   the request completes, its file and state are removed, its issue is closed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sandbox import org
from sandbox.demo import run_process_workflow
from sandbox.workflow import ActResult, dispatch_event, schedule_event

from tests.fakes import Fault

from .act import Run, state_on_main

# One worker runs the whole module under pytest-xdist: its tests share the module's act runs.
pytestmark = [pytest.mark.act, pytest.mark.xdist_group("process_schedule_act")]

REQUEST = "archive-retired.yml"
REPO_PATH = r"^/repos/conda-forge/retired-tool-feedstock$"
POLICY = {
    "ADMIN_REQUESTS_RETRY_FIRST_DELAY": "45",
    "ADMIN_REQUESTS_RETRY_MAX_DELAY": "60",
    "ADMIN_REQUESTS_RETRY_MAX_ATTEMPTS": "3",
}


@dataclass
class Step:
    result: ActResult
    head: str
    state: dict[str, Any] | None
    patches: int  # attempts to archive, as GitHub counted them
    issues: list[tuple[int, str, int]]  # number, state, comments
    started: datetime  # when the run was started


def _parse(moment: str) -> datetime:
    return datetime.strptime(moment, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _wait_until_due(state: dict[str, Any] | None) -> None:
    assert state is not None
    due = _parse(state["next_attempt"])
    remaining = (due - datetime.now(UTC)).total_seconds() + 1
    if remaining > 0:
        time.sleep(remaining)


@pytest.fixture(scope="module")
def history(run: Run) -> list[Step]:
    sandbox, ws = run.sandbox, run.workspace
    ws.merge_request(
        REQUEST, "action: archive\nfeedstocks:\n  - retired-tool\n", author="alice", number=21
    )
    reset = int(time.time()) + 3600
    sandbox.github.faults.at_rate(
        1.0, Fault.primary_rate_limit(reset), method="PATCH", path=REPO_PATH
    )
    steps: list[Step] = []

    def step(event_name: str, event: dict[str, Any]) -> Step:
        started = datetime.now(UTC)
        result = run_process_workflow(sandbox, ws, event_name, event, env=POLICY)
        issues = [(i.number, i.state, len(i.comments)) for i in sandbox.github.issues(org.HOME)]
        taken = Step(
            result,
            ws.head(),
            state_on_main(ws, REQUEST),
            sandbox.github.count("PATCH", REPO_PATH),
            issues,
            started,
        )
        steps.append(taken)
        return taken

    first = step("schedule", schedule_event())  # 1
    step("schedule", schedule_event())  # 2: at once
    _wait_until_due(first.state)
    third = step("schedule", schedule_event())  # 3
    _wait_until_due(third.state)
    step("schedule", schedule_event())  # 4
    step("schedule", schedule_event())  # 5
    sandbox.github.faults.clear()
    step("workflow_dispatch", dispatch_event(retry=REQUEST))  # 6
    return steps


def test_every_run_succeeds(history: list[Step]) -> None:
    for number, step in enumerate(history, start=1):
        assert step.result.ok, f"run {number}:\n{step.result.output[-4000:]}"


def test_each_failed_attempt_is_committed_with_a_doubling_backoff(history: list[Step]) -> None:
    first, _, third, *_ = history
    assert first.patches == 1
    assert first.state is not None
    assert first.state["attempts"] == 1
    assert first.state["parked"] is False
    first_wait = _parse(first.state["next_attempt"]) - _parse(first.state["last_attempt"])
    assert first_wait.total_seconds() == 45
    assert "longer than one call waits" in first.state["last_error"]  # an hour: not waited out
    assert third.patches == 2
    assert third.state is not None
    assert third.state["attempts"] == 2
    second_wait = _parse(third.state["next_attempt"]) - _parse(third.state["last_attempt"])
    assert second_wait.total_seconds() == 60
    assert first.issues == third.issues == []  # retrying is not worth a person's time yet


def test_a_request_waiting_for_its_next_attempt_costs_nothing(history: list[Step]) -> None:
    first, second, *_ = history
    assert first.state is not None
    # Meaningful only if run 2 decided before the first wait was over.
    assert _parse(first.state["next_attempt"]) > second.started, "run 2 started too late"
    assert second.patches == first.patches  # not attempted
    assert second.head == first.head  # no commit
    assert f"{REQUEST}: waiting" in second.result.output


def test_parked_after_the_limit_with_one_issue_and_left_alone(history: list[Step]) -> None:
    fourth, fifth = history[3], history[4]
    assert fourth.patches == 3
    assert fourth.state is not None
    assert fourth.state["parked"] is True
    assert fourth.state["parked_reason"] == "it failed 3 times in a row"
    assert fourth.state["issue"] == 1
    assert fourth.issues == [(1, "open", 0)]
    # The schedule does not retry a parked request: a person decides.
    assert fifth.patches == fourth.patches
    assert fifth.head == fourth.head
    assert fifth.issues == fourth.issues


def test_once_the_fault_clears_a_retry_completes_it_and_closes_the_issue(
    run: Run, history: list[Step]
) -> None:
    last = history[-1]
    assert last.patches == 4
    assert run.sandbox.github.repo("retired-tool-feedstock").archived
    assert last.state is None
    assert run.workspace.remote_file(f"requests/{REQUEST}") is None
    assert last.issues == [(1, "closed", 1)]  # one issue all along, closed with a comment
    [issue] = run.sandbox.github.issues(org.HOME)
    assert "is now complete" in issue.comments[0]["body"]
    subject = run.workspace.remote_git("log", "-1", "--format=%s", "main")
    assert subject.startswith(f"Complete requests/{REQUEST}")


def test_each_run_logged_in_with_its_own_event(run: Run, history: list[Step]) -> None:
    logins = [e for e in run.sandbox.vault.audit_events() if e.is_login]
    # Two logins per run (the action's check, then the processing step).
    events = [e.metadata.get("event_name") for e in logins]
    assert events == ["schedule"] * 10 + ["workflow_dispatch"] * 2
    assert all(not e.error for e in logins)
    assert run.sandbox.vault.live_tokens("auth/jwt/login") == []
