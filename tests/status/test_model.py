"""What the page shows: the attention summary, run outcomes and the status.json shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from admin_requests.status.model import (
    UNKNOWN,
    CompletedRequest,
    Latency,
    LatencyWindow,
    QueuedRequest,
    QueueState,
    Requester,
    RunSummary,
    StatusReport,
    WorkflowHealth,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _queued(name: str, state: QueueState, age: timedelta | None = None) -> QueuedRequest:
    return QueuedRequest(f"requests/{name}", "archive", 1, UNKNOWN, None, None, age, state)


def _workflow(name: str, streak: int, *, pull_request_only: bool = False) -> WorkflowHealth:
    return WorkflowHealth(
        name,
        f".github/workflows/{name}.yml",
        "u",
        "active",
        None,
        streak,
        None,
        None,
        3,
        pull_request_only=pull_request_only,
    )


def _report(
    queue: tuple[QueuedRequest, ...] = (),
    *,
    stale: int = 0,
    workflows: tuple[WorkflowHealth, ...] = (),
    problems: tuple[str, ...] = (),
) -> StatusReport:
    return StatusReport(
        generated_at=NOW,
        repository="o/r",
        repository_url="https://github.com/o/r",
        queue=queue,
        completed=(),
        completed_total=0,
        latency=Latency((LatencyWindow(30, 0, None, None, None),), timedelta(hours=24), stale),
        workflows=workflows,
        issues=(),
        problems=problems,
    )


def test_all_is_well_means_no_attention() -> None:
    report = _report(
        (_queued("a.yml", QueueState.PENDING), _queued("b.yml", QueueState.RETRYING)),
        workflows=(_workflow("check", 2, pull_request_only=True), _workflow("process", 0)),
    )
    assert report.attention == []


def test_attention_says_why_in_words() -> None:
    one = _report((_queued("a.yml", QueueState.PARKED),), stale=1)
    assert one.attention == ["1 parked request", "1 request older than 24 h"]
    report = _report(
        (_queued("a.yml", QueueState.PARKED), _queued("b.yml", QueueState.PARKED)),
        stale=3,
        workflows=(_workflow("process", 2), _workflow("status", 1), _workflow("ok", 0)),
        problems=("no token", "shallow clone"),
    )
    assert report.attention == [
        "2 parked requests",
        "3 requests older than 24 h",
        "failing: process, status",
        "2 data source problem(s)",
    ]


@pytest.mark.parametrize(
    ("status", "conclusion", "outcome", "failed"),
    [
        ("in_progress", None, "running", False),
        ("queued", None, "queued", False),
        ("completed", "success", "success", False),
        ("completed", "failure", "failure", True),
        ("completed", "timed_out", "timed_out", True),
        ("completed", "cancelled", "cancelled", False),
        ("completed", None, "unknown", False),
    ],
)
def test_a_run_outcome_is_one_word(
    status: str, conclusion: str | None, outcome: str, failed: bool
) -> None:
    run = RunSummary(1, "schedule", status, conclusion, "main", NOW, "u")
    assert (run.outcome, run.failed) == (outcome, failed)
    assert run.to_dict()["outcome"] == outcome


def test_a_requester_is_a_login_or_else_a_name() -> None:
    assert Requester("ann", "Ann A").display == "@ann"
    assert Requester(None, "Ann A").display == "Ann A"
    assert UNKNOWN.display == "unknown"


def test_json_durations_are_whole_seconds_and_times_utc_strings() -> None:
    queued = _queued("a.yml", QueueState.RETRYING, age=timedelta(seconds=89.6))
    done = CompletedRequest(
        "requests/b.yml", "archive", UNKNOWN, None, NOW - timedelta(minutes=20), NOW, "c" * 40
    )
    data = _report((queued,)).to_dict()
    assert data["queue"][0]["age_seconds"] == 90
    assert data["queue"][0]["state"] == "retrying"
    assert data["generated_at"] == "2026-03-02T12:00:00Z"
    assert done.to_dict()["merge_to_done_seconds"] == 1200
    assert done.to_dict()["done_at"] == "2026-03-02T12:00:00Z"
    assert _queued("c.yml", QueueState.PENDING).to_dict()["age_seconds"] is None


def test_the_json_summary_counts_each_state() -> None:
    report = _report(
        (
            _queued("a.yml", QueueState.PARKED),
            _queued("b.yml", QueueState.PENDING),
            _queued("c.yml", QueueState.PENDING),
        ),
        workflows=(_workflow("process", 1), _workflow("check", 1, pull_request_only=True)),
    )
    summary = report.to_dict()["summary"]
    assert (summary["queued"], summary["parked"], summary["pending"], summary["retrying"]) == (
        3,
        1,
        2,
        0,
    )
    assert summary["unhealthy_workflows"] == 1
    assert summary["attention"] == report.attention
