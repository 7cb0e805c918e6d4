"""What the status page shows: plain values, built by ``collect`` and shown by ``render``.

``StatusReport.to_dict`` is ``status.json``: the same data as the HTML, for scripts.
Times are UTC ISO 8601 strings, durations are whole seconds.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from admin_requests.queue.state import format_time
from admin_requests.status.creation import CreationQueue, CreationState

if TYPE_CHECKING:
    from admin_requests.status.oci_mirror import OciMirrorStatus

# 2: bots, migrations, incidents and sources; 3: the creation queue and the OCI mirror
JSON_VERSION = 3
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
class LatencyWeek:
    """Merge-to-done of the requests completed in one week (Monday to Sunday, UTC)."""

    start: date
    count: int
    median: timedelta | None
    p90: timedelta | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "week": self.start.isoformat(),
            "completed": self.count,
            "median_seconds": _seconds(self.median),
            "p90_seconds": _seconds(self.p90),
        }


@dataclass(frozen=True)
class Latency:
    windows: tuple[LatencyWindow, ...]
    stale_after: timedelta
    older_than_stale: int  # queued requests merged longer ago than stale_after
    weeks: tuple[LatencyWeek, ...] = ()  # the last 52 weeks, oldest first (the chart)

    def to_dict(self) -> dict[str, Any]:
        return {
            "windows": [w.to_dict() for w in self.windows],
            "stale_after_seconds": _seconds(self.stale_after),
            "queued_older_than_stale": self.older_than_stale,
            "weeks": [w.to_dict() for w in self.weeks],
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


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time from status.json or GitHub ('...Z' or '+00:00'), or None."""
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def run_from_dict(data: dict[str, Any]) -> RunSummary:
    return RunSummary(
        int(data["number"]),
        str(data["event"]),
        str(data["status"]),
        data.get("conclusion"),
        str(data.get("branch") or ""),
        parse_time(data["created_at"]) or datetime.min.replace(tzinfo=UTC),
        str(data["url"]),
    )


@dataclass(frozen=True)
class DayOutcome:
    """One day of a bot's runs (UTC), for the 30-day strip."""

    day: date
    success: int = 0
    failure: int = 0
    other: int = 0  # cancelled, skipped, still running

    @property
    def outcome(self) -> str:
        """failure (any run failed), success, other (only cancelled/skipped/running) or none."""
        if self.failure:
            return "failure"
        if self.success:
            return "success"
        return "other" if self.other else "none"

    @property
    def words(self) -> str:
        if self.outcome == "none":
            return f"{self.day.isoformat()}: no runs"
        parts = [
            f"{n} {w}"
            for n, w in (
                (self.success, "succeeded"),
                (self.failure, "failed"),
                (self.other, "other"),
            )
            if n
        ]
        return f"{self.day.isoformat()}: " + ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "outcome": self.outcome,
            "success": self.success,
            "failure": self.failure,
            "other": self.other,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DayOutcome:
        return cls(
            date.fromisoformat(str(data["date"])),
            int(data.get("success", 0)),
            int(data.get("failure", 0)),
            int(data.get("other", 0)),
        )


class BotState(enum.Enum):
    FAILING = "failing"  # its last completed runs failed
    STALE = "stale"  # no run in three times its cadence
    HEALTHY = "healthy"
    UNKNOWN = "unknown"  # its runs could not be read


@dataclass(frozen=True)
class BotHealth:
    name: str
    repository: str
    workflow: str
    url: str  # the workflow's page on GitHub
    team: str | None
    cadence: timedelta | None
    last_run: RunSummary | None
    last_success: datetime | None
    failure_streak: int
    failing_since: datetime | None
    streak_complete: bool  # False: every run read failed, the streak may be longer
    stale: bool
    days: tuple[DayOutcome, ...]  # oldest first, the last 30 days
    runs_read: int  # runs read in this build (the API calls are the pages of these)
    error: str | None = None  # why its runs could not be read this time
    as_of: datetime | None = None  # the data is from an earlier build (a read failed)
    slug: str = ""

    @property
    def state(self) -> BotState:
        if self.error is not None and self.as_of is None:
            return BotState.UNKNOWN
        if self.failure_streak > 0 and not self.pull_request_only:
            return BotState.FAILING
        if self.stale:
            return BotState.STALE
        return BotState.HEALTHY

    @property
    def pull_request_only(self) -> bool:
        # Pull-request checks fail when a contribution is wrong: the check doing its job.
        return (
            self.cadence is None
            and self.last_run is not None
            and self.last_run.event
            in (
                "pull_request",
                "pull_request_target",
            )
        )

    @property
    def team_url(self) -> str | None:
        if not self.team:
            return None
        owner, _, slug = self.team.partition("/")
        return f"https://github.com/orgs/{owner}/teams/{slug}"

    def badge(self) -> dict[str, Any]:
        """shields.io's endpoint JSON (https://shields.io/badges/endpoint-badge)."""
        state = self.state
        if state is BotState.FAILING:
            n = self.failure_streak
            message = f"failing ({n}{'+' if not self.streak_complete else ''} in a row)"
        elif state is BotState.STALE:
            message = "stale"
        elif state is BotState.UNKNOWN:
            message = "unknown"
        else:
            message = "passing"
        colours = {"failing": "critical", "stale": "orange", "unknown": "lightgrey"}
        return {
            "schemaVersion": 1,
            "label": self.name,
            "message": message,
            "color": colours.get(state.value, "success"),
            "isError": state in (BotState.FAILING, BotState.UNKNOWN),
        }

    def to_dict(self) -> dict[str, Any]:
        from admin_requests.status.config import format_cadence

        return {
            "name": self.name,
            "slug": self.slug,
            "repository": self.repository,
            "workflow": self.workflow,
            "url": self.url,
            "team": self.team,
            "cadence": format_cadence(self.cadence),
            "state": self.state.value,
            "last_run": self.last_run.to_dict() if self.last_run else None,
            "last_success": format_time(self.last_success),
            "failure_streak": self.failure_streak,
            "streak_complete": self.streak_complete,
            "failing_since": format_time(self.failing_since),
            "stale": self.stale,
            "days": [d.to_dict() for d in self.days],
            "runs_read": self.runs_read,
            "error": self.error,
            "as_of": format_time(self.as_of),
        }


MIGRATION_STATES = ("done", "in-pr", "awaiting-pr", "awaiting-parents", "not-solvable", "bot-error")
MIGRATION_TITLES = {
    "done": "Done",
    "in-pr": "In PR",
    "awaiting-pr": "Awaiting PR",
    "awaiting-parents": "Awaiting parents",
    "not-solvable": "Not solvable",
    "bot-error": "Bot error",
}


@dataclass(frozen=True)
class Feedstock:
    name: str
    url: str


@dataclass(frozen=True)
class Migration:
    name: str
    kind: str  # regular, longterm, paused or closed
    description: str
    counts: dict[str, int]  # MIGRATION_STATES -> how many feedstocks; empty when unread
    bot_errors: tuple[Feedstock, ...] = ()
    url: str = ""  # its migration_json file
    error: str | None = None

    @property
    def done(self) -> int:
        """Feedstocks with the PR made: done plus in PR (conda-forge.org's measureProgress)."""
        return self.counts.get("done", 0) + self.counts.get("in-pr", 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def percentage(self) -> float:
        return self.done * 100 / (self.total or 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "counts": dict(self.counts),
            "prs_made": self.done,
            "total": self.total,
            "percentage": round(self.percentage, 1),
            "bot_errors": [{"name": f.name, "url": f.url} for f in self.bot_errors],
            "url": self.url,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Migration:
        return cls(
            str(data["name"]),
            str(data["kind"]),
            str(data.get("description") or ""),
            {str(k): int(v) for k, v in (data.get("counts") or {}).items()},
            tuple(Feedstock(str(f["name"]), str(f["url"])) for f in data.get("bot_errors", [])),
            str(data.get("url") or ""),
            data.get("error"),
        )


@dataclass(frozen=True)
class Incident:
    number: int
    title: str
    url: str
    severity: str  # the first incident label it has, in the configured order
    created_at: datetime | None
    updated_at: datetime | None
    latest_update: str  # the newest comment, else the description (cut)
    latest_update_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "title": self.title,
            "url": self.url,
            "severity": self.severity,
            "created_at": format_time(self.created_at),
            "updated_at": format_time(self.updated_at),
            "latest_update": self.latest_update,
            "latest_update_at": format_time(self.latest_update_at),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Incident:
        return cls(
            int(data["number"]),
            str(data["title"]),
            str(data["url"]),
            str(data["severity"]),
            parse_time(data.get("created_at")),
            parse_time(data.get("updated_at")),
            str(data.get("latest_update") or ""),
            parse_time(data.get("latest_update_at")),
        )


@dataclass(frozen=True)
class SourceStatus:
    """One data source of the page and whether this build could read it."""

    name: str
    ok: bool
    error: str | None = None
    failing_since: datetime | None = None  # the first build in a row that could not read it
    last_ok: datetime | None = None

    @property
    def words(self) -> str:
        return f"{self.name}: {self.error}" if self.error else self.name

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "error": self.error,
            "failing_since": format_time(self.failing_since),
            "last_ok": format_time(self.last_ok),
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
    # The organisation's automation (config.py): bots, migrations, incidents, and how
    # each of those sources fared in this build.
    bots: tuple[BotHealth, ...] = ()
    migrations: tuple[Migration, ...] = ()
    incidents: tuple[Incident, ...] = ()
    sources: tuple[SourceStatus, ...] = ()
    # Feedstock creation's recipes that did not become a feedstock in one run.
    creation: CreationQueue = field(default_factory=CreationQueue)
    oci_mirror: OciMirrorStatus | None = None  # status/oci_mirror.py; None: not watched

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
        stuck = self.creation.count(CreationState.STUCK)
        if stuck:
            reasons.append(f"{stuck} stuck recipe{'s' if stuck != 1 else ''}")
        if self.incidents:
            n = len(self.incidents)
            reasons.insert(0, f"{n} open incident{'s' if n != 1 else ''}")
        failing = [w.name for w in self.workflows if w.unhealthy]
        known = set(failing)
        failing += [
            b.name for b in self.bots if b.state is BotState.FAILING and b.name not in known
        ]
        if failing:
            reasons.append("failing: " + ", ".join(failing))
        stale_bots = [b.name for b in self.bots if b.state is BotState.STALE]
        if stale_bots:
            reasons.append("stale: " + ", ".join(stale_bots))
        lagging = self.oci_mirror.lagging if self.oci_mirror else []
        if lagging:
            reasons.append("OCI mirror lagging: " + ", ".join(lagging))
        broken = [s for s in self.sources if not s.ok]
        if self.problems or broken:
            reasons.append(f"{len(self.problems) + len(broken)} data source problem(s)")
        return reasons

    def queue_badge(self) -> dict[str, Any]:
        """shields.io endpoint JSON for the request queue."""
        parked = self.count(QueueState.PARKED)
        queued = len(self.queue)
        message = f"{queued} queued" + (f", {parked} parked" if parked else "")
        colour = (
            "critical" if parked else ("orange" if self.latency.older_than_stale else "success")
        )
        return {"schemaVersion": 1, "label": "admin requests", "message": message, "color": colour}

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
                "failing_bots": sum(b.state is BotState.FAILING for b in self.bots),
                "stale_bots": sum(b.state is BotState.STALE for b in self.bots),
                "open_incidents": len(self.incidents),
                "migrations_in_flight": sum(m.kind != "closed" for m in self.migrations),
                "recipes_stuck": self.creation.count(CreationState.STUCK),
                "attention": self.attention,
            },
            "queue": [r.to_dict() for r in self.queue],
            "completed": [r.to_dict() for r in self.completed],
            "latency": self.latency.to_dict(),
            "workflows": [w.to_dict() for w in self.workflows],
            "issues": [i.to_dict() for i in self.issues],
            "problems": list(self.problems),
            "bots": [b.to_dict() for b in self.bots],
            "migrations": [m.to_dict() for m in self.migrations],
            "incidents": [i.to_dict() for i in self.incidents],
            "sources": [s.to_dict() for s in self.sources],
            "creation": self.creation.to_dict(),
            "oci_mirror": self.oci_mirror.to_dict() if self.oci_mirror else None,
        }
