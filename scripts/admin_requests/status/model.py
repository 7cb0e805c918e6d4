"""What the status page shows: plain values, built by ``collect`` and shown by ``render``.

``StatusReport.to_dict`` is ``status.json``: the same data as the HTML, for scripts.
Times are UTC ISO 8601 strings, durations are whole seconds.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from admin_requests.queue.state import format_time

JSON_VERSION = 1
# Conclusions that count as a failure in a streak; cancelled and skipped runs neither
# make nor break one (a superseded run says nothing about health).
FAILED_CONCLUSIONS = frozenset({"failure", "timed_out", "startup_failure", "action_required"})
NEUTRAL_CONCLUSIONS = frozenset({"cancelled", "skipped", "neutral", "stale"})


class QueueState(enum.Enum):
    PENDING = "pending"  # waits for the next processing run
    RETRYING = "retrying"  # failed before; tried again after a backoff
    PARKED = "parked"  # waits for a person: a change to the file or a retry


def _seconds(value: timedelta | None) -> int | None:
    return None if value is None else round(value.total_seconds())


@dataclass(frozen=True)
class Link:
    """Something with a number and a page on GitHub: a pull request or an issue."""

    number: int
    url: str

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number, "url": self.url}


@dataclass(frozen=True)
class Requester:
    """A GitHub login (from the pull request) or, failing that, the commit author's name."""

    login: str | None
    name: str | None
    url: str | None = None  # the login's GitHub profile

    @property
    def display(self) -> str:
        if self.login:
            return f"@{self.login}"
        return self.name or "unknown"

    def to_dict(self) -> dict[str, Any]:
        return {"login": self.login, "name": self.name, "url": self.url}


UNKNOWN = Requester(None, None)


@dataclass(frozen=True)
class QueuedRequest:
    path: str
    kind: str | None  # the file's action, as written (None: unreadable)
    items: int | None  # how many items it has (None: not valid)
    requester: Requester
    pull: Link | None
    merged_at: datetime | None  # None: not in the (possibly shallow) history
    age: timedelta | None
    state: QueueState
    attempts: int = 0
    next_attempt: datetime | None = None
    last_error: str | None = None
    parked_reason: str | None = None
    issue: Link | None = None
    note: str | None = None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "items": self.items,
            "requester": self.requester.to_dict(),
            "pull_request": self.pull.to_dict() if self.pull else None,
            "merged_at": format_time(self.merged_at),
            "age_seconds": _seconds(self.age),
            "state": self.state.value,
            "attempts": self.attempts,
            "next_attempt": format_time(self.next_attempt),
            "last_error": self.last_error,
            "parked_reason": self.parked_reason,
            "issue": self.issue.to_dict() if self.issue else None,
            "note": self.note,
        }


@dataclass(frozen=True)
class CompletedRequest:
    path: str
    kind: str | None
    requester: Requester
    pull: Link | None
    merged_at: datetime
    done_at: datetime
    commit: str

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def duration(self) -> timedelta:
        return self.done_at - self.merged_at

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "requester": self.requester.to_dict(),
            "pull_request": self.pull.to_dict() if self.pull else None,
            "merged_at": format_time(self.merged_at),
            "done_at": format_time(self.done_at),
            "merge_to_done_seconds": _seconds(self.duration),
            "commit": self.commit,
        }


@dataclass(frozen=True)
class LatencyWindow:
    days: int
    count: int  # requests completed in the window
    median: timedelta | None
    p90: timedelta | None
    p99: timedelta | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "completed": self.count,
            "median_seconds": _seconds(self.median),
            "p90_seconds": _seconds(self.p90),
            "p99_seconds": _seconds(self.p99),
        }


@dataclass(frozen=True)
class Latency:
    windows: tuple[LatencyWindow, ...]
    stale_after: timedelta
    older_than_stale: int  # queued requests merged longer ago than stale_after

    def to_dict(self) -> dict[str, Any]:
        return {
            "windows": [w.to_dict() for w in self.windows],
            "stale_after_seconds": _seconds(self.stale_after),
            "queued_older_than_stale": self.older_than_stale,
        }


@dataclass(frozen=True)
class RunSummary:
    number: int
    event: str
    status: str
    conclusion: str | None
    branch: str
    created_at: datetime
    url: str

    @property
    def outcome(self) -> str:
        """One word: success, failure, cancelled, ... or running/queued while not done."""
        if self.status != "completed":
            return "running" if self.status == "in_progress" else self.status
        return self.conclusion or "unknown"

    @property
    def failed(self) -> bool:
        return self.status == "completed" and self.conclusion in FAILED_CONCLUSIONS

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "event": self.event,
            "status": self.status,
            "conclusion": self.conclusion,
            "outcome": self.outcome,
            "branch": self.branch,
            "created_at": format_time(self.created_at),
            "url": self.url,
        }


@dataclass(frozen=True)
class WorkflowHealth:
    name: str
    path: str
    url: str
    state: str
    last_run: RunSummary | None
    failure_streak: int  # completed runs in a row that failed, newest first
    failing_since: datetime | None  # the first run of the current streak
    last_success: datetime | None
    runs_examined: int
    # Pull-request checks fail when a request file is invalid: that is the check doing
    # its job, so they do not make the automation unhealthy.
    pull_request_only: bool = False

    @property
    def unhealthy(self) -> bool:
        return self.failure_streak > 0 and not self.pull_request_only

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "url": self.url,
            "state": self.state,
            "last_run": self.last_run.to_dict() if self.last_run else None,
            "failure_streak": self.failure_streak,
            "failing_since": format_time(self.failing_since),
            "last_success": format_time(self.last_success),
            "runs_examined": self.runs_examined,
            "pull_request_only": self.pull_request_only,
            "unhealthy": self.unhealthy,
        }


@dataclass(frozen=True)
class FailureIssue:
    """An open issue the queue opened for a parked request."""

    number: int
    title: str
    url: str
    request: str | None  # the request file it is about, from its hidden marker
    in_queue: bool  # False: the request is gone, so the issue can probably be closed

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "title": self.title,
            "url": self.url,
            "request": self.request,
            "request_in_queue": self.in_queue,
        }


@dataclass(frozen=True)
class StatusReport:
    generated_at: datetime
    repository: str
    repository_url: str
    queue: tuple[QueuedRequest, ...]
    completed: tuple[CompletedRequest, ...]  # most recent first, at most the configured number
    completed_total: int  # every completed request in the history
    latency: Latency
    workflows: tuple[WorkflowHealth, ...]
    issues: tuple[FailureIssue, ...]
    # What could not be read (no token, an API error, a shallow clone): shown on the page.
    problems: tuple[str, ...] = field(default_factory=tuple)

    def count(self, state: QueueState) -> int:
        return sum(request.state is state for request in self.queue)

    @property
    def attention(self) -> list[str]:
        """Why core should look, in words; empty when all is well."""
        reasons = []
        parked = self.count(QueueState.PARKED)
        if parked:
            reasons.append(f"{parked} parked request{'s' if parked != 1 else ''}")
        stale = self.latency.older_than_stale
        if stale:
            hours = round(self.latency.stale_after.total_seconds() / 3600)
            reasons.append(f"{stale} request{'s' if stale != 1 else ''} older than {hours} h")
        failing = [w.name for w in self.workflows if w.unhealthy]
        if failing:
            reasons.append("failing: " + ", ".join(failing))
        if self.problems:
            reasons.append(f"{len(self.problems)} data source problem(s)")
        return reasons

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": JSON_VERSION,
            "generated_at": format_time(self.generated_at),
            "repository": self.repository,
            "repository_url": self.repository_url,
            "summary": {
                "queued": len(self.queue),
                **{state.value: self.count(state) for state in QueueState},
                "queued_older_than_stale": self.latency.older_than_stale,
                "completed_total": self.completed_total,
                "unhealthy_workflows": sum(w.unhealthy for w in self.workflows),
                "attention": self.attention,
            },
            "queue": [r.to_dict() for r in self.queue],
            "completed": [r.to_dict() for r in self.completed],
            "latency": self.latency.to_dict(),
            "workflows": [w.to_dict() for w in self.workflows],
            "issues": [i.to_dict() for i in self.issues],
            "problems": list(self.problems),
        }
