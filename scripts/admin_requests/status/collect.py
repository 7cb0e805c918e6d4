"""Gather the status page's data from the queue, the git history and the GitHub API.

Reads only. Everything comes in: the checkout's root, a ``Git``, a GitHub client (or
None offline) and a clock, so tests drive it with fixed times and fake services. A
source that cannot be read (no token, a missing permission, an outage) leaves its part
of the page empty and adds a line to ``StatusReport.problems`` instead of failing: a
status page is most needed when something is broken.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from admin_requests.creation.progress import STATE_DIR as CREATION_STATE_DIR
from admin_requests.errors import StateFileError
from admin_requests.queue.decision import Verdict, decide
from admin_requests.queue.gitops import Git
from admin_requests.queue.notify import FAILURE_LABEL, LOGIN
from admin_requests.queue.state import DEFAULT_STATE_DIR, RequestState, StateStore, content_digest
from admin_requests.services.github import IssueInfo, PullInfo, WorkflowInfo, WorkflowRunInfo
from admin_requests.status.config import DashboardConfig
from admin_requests.status.creation import read_creation_queue
from admin_requests.status.history import History, Lifetime, read_history
from admin_requests.status.latency import summarise
from admin_requests.status.model import (
    NEUTRAL_CONCLUSIONS,
    UNKNOWN,
    CompletedRequest,
    FailureIssue,
    Latency,
    LatencyWeek,
    LatencyWindow,
    Link,
    QueuedRequest,
    QueueState,
    Requester,
    RunSummary,
    StatusReport,
    WorkflowHealth,
)
from admin_requests.validation.checker import NON_REQUEST_FILES, REQUEST_SUFFIXES, check_text
from admin_requests.validation.source import parse_document

if TYPE_CHECKING:
    from admin_requests.status.oci_mirror import OciMirrorCollector
    from admin_requests.status.organisation import OrganisationStatus

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# notify.marker(): the hidden line that ties an issue to its request file.
MARKER = re.compile(r"<!-- admin-requests:request-file=(.+?) -->")
PULL_REQUEST_EVENTS = frozenset({"pull_request", "pull_request_target"})
ERROR_CHARS = 400  # a last error longer than this is cut on the page (the issue has it all)


class GitHubReads(Protocol):
    """The read-only GitHub calls the status page makes (GitHubClient has them)."""

    def pulls_for_commit(self, repo: str, sha: str) -> list[PullInfo]: ...

    def list_issues(
        self, repo: str, *, labels: tuple[str, ...] = (), state: str = "open"
    ) -> list[IssueInfo]: ...

    def list_workflows(self, repo: str) -> list[WorkflowInfo]: ...

    def workflow_runs(
        self, repo: str, workflow_id: int, *, limit: int = 30
    ) -> list[WorkflowRunInfo]: ...


@dataclass(frozen=True)
class StatusOptions:
    repository: str  # owner/name, where the queue and its issues live
    web_url: str = "https://github.com"  # GITHUB_SERVER_URL, for links
    queue_dir: str = "requests"
    state_dir: str = DEFAULT_STATE_DIR
    creation_state_dir: str = CREATION_STATE_DIR  # feedstock creation's (creation-state/)
    recent_completed: int = 50  # completed requests listed
    latency_days: tuple[int, ...] = (30, 365)
    stale_after: timedelta = timedelta(hours=24)
    # Each pull-request lookup is one API call (the job token allows 1,000 an hour).
    max_pull_lookups: int = 100
    runs_per_workflow: int = 30
    # The organisation's bots, migrations and incidents (status/config.py); None: not shown.
    dashboard: DashboardConfig | None = None
    # The previously published status.json: earlier days of the bots' strips, and the
    # last known data of a source that cannot be read now.
    previous: dict[str, Any] | None = None
    problems: tuple[str, ...] = ()  # found before collecting (a broken configuration)

    @property
    def repository_url(self) -> str:
        return f"{self.web_url}/{self.repository}"


class StatusCollector:
    def __init__(
        self,
        root: Path,
        *,
        git: Git,
        github: GitHubReads | None,
        clock: Clock,
        options: StatusOptions,
        oci_mirror: OciMirrorCollector | None = None,
    ) -> None:
        self.root = root
        self.oci_mirror = oci_mirror
        self.git = git
        self.github = github
        self.clock = clock
        self.options = options
        self.store = StateStore(root, options.state_dir)

    def collect(self) -> StatusReport:
        now = self.clock()
        problems: list[str] = list(self.options.problems)
        if self.github is None:
            problems.append(
                "no GitHub token: issues, workflow runs and pull request authors are not shown"
            )
        history = self._history(problems)
        requesters = RequesterLookup(self.github, self.git, self.options, problems)
        issues_by_request, issues = self._issues(problems)
        queue = self._queue(now, history, requesters, issues_by_request, problems)
        in_queue = {request.path for request in queue}
        issues = [
            FailureIssue(i.number, i.title, i.url, i.request, i.request in in_queue) for i in issues
        ]
        done = history.completed()
        # Only the listed ones need a requester (each may cost an API call).
        shown = [
            self._completed(life, requesters) for life in done[: self.options.recent_completed]
        ]
        stale = sum(r.age is not None and r.age > self.options.stale_after for r in queue)
        latency = Latency(
            tuple(latency_window(done, now, days) for days in self.options.latency_days),
            self.options.stale_after,
            stale,
            latency_weeks(done, now),
        )
        organisation = self._organisation(now)
        creation = read_creation_queue(
            self.root,
            now,
            problems,
            repository_url=self.options.repository_url,
            state_dir=self.options.creation_state_dir,
        )
        oci_mirror, oci_sources = (
            self.oci_mirror.collect(now, self.options.previous) if self.oci_mirror else (None, [])
        )
        return StatusReport(
            generated_at=now,
            repository=self.options.repository,
            repository_url=self.options.repository_url,
            queue=tuple(queue),
            completed=tuple(shown),
            completed_total=len(done),
            latency=latency,
            workflows=tuple(self._workflows(problems)),
            issues=tuple(issues),
            problems=tuple(problems),
            bots=tuple(organisation.bots),
            migrations=tuple(organisation.migrations),
            incidents=tuple(organisation.incidents),
            sources=(*organisation.sources, *oci_sources),
            creation=creation,
            oci_mirror=oci_mirror,
        )

    def _organisation(self, now: datetime) -> OrganisationStatus:
        from admin_requests.status.organisation import OrganisationCollector, OrganisationStatus

        if self.options.dashboard is None:
            return OrganisationStatus()
        return OrganisationCollector(
            self.github,  # type: ignore[arg-type]  # GitHubClient has both protocols' calls
            self.options.dashboard.resolved(self.options.repository),
            now=now,
            previous=self.options.previous,
            web_url=self.options.web_url,
            health_of=workflow_health,
        ).collect()

    # -- the git history ----------------------------------------------------------------

    def _history(self, problems: list[str]) -> History:
        try:
            history = read_history(self.git, self.options.queue_dir)
        except Exception as exc:
            log.exception("cannot read the git history")
            problems.append(f"cannot read the git history ({exc}); ages and latency are missing")
            return History()
        if history.shallow:
            problems.append(
                "the checkout is shallow: older requests and latency are missing; check out "
                "with 'fetch-depth: 0'"
            )
        return history

    # -- the queue ----------------------------------------------------------------------

    def request_files(self) -> list[str]:
        folder = self.root / self.options.queue_dir
        if not folder.is_dir():
            return []
        return [
            f"{self.options.queue_dir}/{path.name}"
            for path in sorted(folder.iterdir())
            if path.is_file()
            and path.suffix in REQUEST_SUFFIXES
            and path.name not in NON_REQUEST_FILES
        ]

    def _queue(
        self,
        now: datetime,
        history: History,
        requesters: RequesterLookup,
        issues: dict[str, FailureIssue],
        problems: list[str],
    ) -> list[QueuedRequest]:
        lives = history.current()
        queue = []
        for path in self.request_files():
            raw = (self.root / path).read_bytes()
            kind, items = describe_request(raw, path)
            state = self._state(path, problems)
            life = lives.get(path)
            requester, pull = requesters.of(life) if life else (UNKNOWN, None)
            merged_at = life.added.at if life else None
            queue.append(
                queued_request(
                    path,
                    kind=kind,
                    items=items,
                    requester=requester,
                    pull=pull,
                    merged_at=merged_at,
                    now=now,
                    state=state,
                    digest=content_digest(raw),
                    issue=self._issue_link(path, state, issues),
                )
            )
        order = {QueueState.PARKED: 0, QueueState.RETRYING: 1, QueueState.PENDING: 2}
        return sorted(
            queue, key=lambda r: (order[r.state], -(r.age or timedelta()).total_seconds())
        )

    def _state(self, path: str, problems: list[str]) -> RequestState | None:
        state_path = self.root / self.store.relative_path(path)
        if not state_path.is_file():
            return None
        try:
            return RequestState.from_json(state_path.read_text(encoding="utf-8"))
        except (StateFileError, OSError, UnicodeDecodeError) as exc:
            problems.append(
                f"{self.store.relative_path(path)} is broken ({exc}); the next run starts "
                "that request afresh"
            )
            return None

    def _issue_link(
        self, path: str, state: RequestState | None, issues: dict[str, FailureIssue]
    ) -> Link | None:
        found = issues.get(path)
        if found is not None:
            return Link(found.number, found.url)
        if state is not None and state.issue is not None:
            url = f"{self.options.repository_url}/issues/{state.issue}"
            return Link(state.issue, url)
        return None

    # -- completed requests -------------------------------------------------------------

    def _completed(self, life: Lifetime, requesters: RequesterLookup) -> CompletedRequest:
        assert life.removed is not None
        requester, pull = requesters.of(life)
        return CompletedRequest(
            life.path, life.kind, requester, pull, life.added.at, life.removed.at, life.removed.sha
        )

    # -- GitHub -------------------------------------------------------------------------

    def _issues(self, problems: list[str]) -> tuple[dict[str, FailureIssue], list[FailureIssue]]:
        if self.github is None:
            return {}, []
        try:
            found = self.github.list_issues(
                self.options.repository, labels=(FAILURE_LABEL,), state="open"
            )
        except Exception as exc:
            log.warning("cannot list the failure issues", exc_info=True)
            problems.append(f"cannot list the open {FAILURE_LABEL!r} issues: {exc}")
            return {}, []
        issues = [
            FailureIssue(i.number, i.title, i.url, request_of_issue(i.body), False) for i in found
        ]
        return {i.request: i for i in issues if i.request}, issues

    def _workflows(self, problems: list[str]) -> list[WorkflowHealth]:
        if self.github is None:
            return []
        repository = self.options.repository
        try:
            workflows = self.github.list_workflows(repository)
        except Exception as exc:
            log.warning("cannot list the workflows", exc_info=True)
            problems.append(f"cannot list the workflows: {exc}")
            return []
        health = []
        for workflow in workflows:
            try:
                runs = self.github.workflow_runs(
                    repository, workflow.id, limit=self.options.runs_per_workflow
                )
            except Exception as exc:
                log.warning("cannot list the runs of %s", workflow.path, exc_info=True)
                problems.append(f"cannot list the runs of {workflow.name!r}: {exc}")
                runs = []
            health.append(workflow_health(workflow, runs))
        return sorted(health, key=lambda w: (not w.unhealthy, w.name.lower()))


class RequesterLookup:
    """Who asked for a request, found the way ``notify.Notifier.requester`` finds it.

    The author of the pull request that brought the file in (a valid GitHub login), or
    else the name of the commit's author; for a merge commit that is the author of the
    merged branch's tip rather than whoever pressed the button.
    """

    def __init__(
        self, github: GitHubReads | None, git: Git, options: StatusOptions, problems: list[str]
    ) -> None:
        self.github = github
        self.git = git
        self.options = options
        self.problems = problems
        self.budget = options.max_pull_lookups
        self.pulls: dict[str, PullInfo | None] = {}
        self.failed = False

    def of(self, life: Lifetime) -> tuple[Requester, Link | None]:
        pull = self._pull(life.added.sha)
        if pull is not None:
            app = pull.author.removesuffix("[bot]")
            profile = f"apps/{app}" if app != pull.author else pull.author
            url = f"{self.options.web_url}/{profile}"
            return Requester(pull.author, None, url), Link(pull.number, pull.url)
        name = life.added.author
        if life.added.is_merge:
            tip = self.git.run("log", "-1", "--format=%an", f"{life.added.sha}^2", check=False)
            name = tip.stdout.strip() or name
        return Requester(None, name or None), None

    def _pull(self, sha: str) -> PullInfo | None:
        if sha in self.pulls:
            return self.pulls[sha]
        if self.github is None or self.failed or self.budget <= 0:
            return None
        self.budget -= 1
        try:
            pulls = self.github.pulls_for_commit(self.options.repository, sha)
        except Exception as exc:
            # One failure (often a missing pull-requests: read) stops the lookups: the
            # rest would fail the same way, each after its retries.
            log.warning("cannot look up the pull request of %s", sha, exc_info=True)
            self.failed = True
            self.problems.append(
                f"cannot look up pull requests ({exc}); requesters are shown by commit author"
            )
            return None
        found = next((p for p in pulls if LOGIN.match(p.author)), None)
        self.pulls[sha] = found
        return found


# -- pure helpers (tested directly) ---------------------------------------------------


def describe_request(raw: bytes, path: str) -> tuple[str | None, int | None]:
    """(the action it names, how many items it has) for a request file's bytes."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, None
    report = check_text(text, path)
    if report.action is not None:
        return report.action, len(report.items) if report.ok else None
    # Not a known action (a typo?): show what the file says all the same.
    document, _ = parse_document(text, path)
    if document is None or not hasattr(document.root, "value"):
        return None, None
    for key, value in document.root.value:
        if getattr(key, "value", None) == "action" and isinstance(value.value, str):
            return value.value or None, None
    return None, None


def queued_request(
    path: str,
    *,
    kind: str | None,
    items: int | None,
    requester: Requester,
    pull: Link | None,
    merged_at: datetime | None,
    now: datetime,
    state: RequestState | None,
    digest: str,
    issue: Link | None,
) -> QueuedRequest:
    """The row for one request file, with its state as the next run will see it."""
    age = max(now - merged_at, timedelta()) if merged_at is not None else None
    pending = QueuedRequest(
        path, kind, items, requester, pull, merged_at, age, QueueState.PENDING, issue=issue
    )
    # The queue's own rule; the page has no retry input (that is the workflow's).
    decision = decide(path, state, digest, now)
    state = decision.state
    if state is None:
        return pending
    if decision.changed:
        return dataclasses.replace(
            pending, note="Changed since its last attempt: the next run starts it afresh."
        )
    error = _cut(state.last_error)
    if decision.verdict is Verdict.PARKED:
        return dataclasses.replace(
            pending,
            state=QueueState.PARKED,
            attempts=state.attempts,
            last_error=error,
            parked_reason=state.parked_reason or "parked",
        )
    if state.attempts > 0:
        return dataclasses.replace(
            pending,
            state=QueueState.RETRYING,
            attempts=state.attempts,
            next_attempt=state.next_attempt,
            last_error=error,
            note="Due: the next run tries it again." if decision.runs else None,
        )
    return pending


def _cut(text: str | None) -> str | None:
    if text is None or len(text) <= ERROR_CHARS:
        return text
    return text[: ERROR_CHARS - 1].rstrip() + "…"


def request_of_issue(body: str) -> str | None:
    """The request file named by the issue's hidden marker (see ``notify.marker``)."""
    match = MARKER.search(body)
    return match.group(1).replace("-%2D", "--") if match else None


def latency_window(done: Sequence[Lifetime], now: datetime, days: int) -> LatencyWindow:
    """Merge-to-done statistics of the requests completed in the last ``days`` days."""
    since = now - timedelta(days=days)
    durations = [
        max(life.removed.at - life.added.at, timedelta())
        for life in done
        if life.removed is not None and since < life.removed.at <= now
    ]
    stats = summarise(durations)
    if stats is None:
        return LatencyWindow(days, 0, None, None, None)
    return LatencyWindow(days, len(durations), *stats)


def latency_weeks(
    done: Sequence[Lifetime], now: datetime, weeks: int = 52
) -> tuple[LatencyWeek, ...]:
    """Median and 90th percentile merge-to-done per week (Monday, UTC), the last ``weeks``
    weeks up to this one, oldest first; a week without completions has no figures."""
    this_week = now.astimezone(UTC).date() - timedelta(days=now.astimezone(UTC).weekday())
    starts = [this_week - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    durations: dict[date, list[timedelta]] = {start: [] for start in starts}
    for life in done:
        if life.removed is None or life.removed.at > now:
            continue
        day = life.removed.at.astimezone(UTC).date()
        start = day - timedelta(days=day.weekday())
        if start in durations:
            durations[start].append(max(life.removed.at - life.added.at, timedelta()))
    found = []
    for start in starts:
        stats = summarise(durations[start])
        median, p90 = (stats[0], stats[1]) if stats else (None, None)
        found.append(LatencyWeek(start, len(durations[start]), median, p90))
    return tuple(found)


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def workflow_health(workflow: WorkflowInfo, runs: Sequence[WorkflowRunInfo]) -> WorkflowHealth:
    """Last run, current failure streak and last success of one workflow."""
    summaries = sorted(
        (
            RunSummary(
                r.number, r.event, r.status, r.conclusion, r.branch, _when(r.created_at), r.url
            )
            for r in runs
        ),
        key=lambda r: (r.created_at, r.number),
        reverse=True,
    )
    streak, failing_since, last_success, streak_open = 0, None, None, True
    for run in summaries:
        if run.status != "completed" or run.conclusion in NEUTRAL_CONCLUSIONS:
            continue
        if run.failed:
            if streak_open:
                streak += 1
                failing_since = run.created_at
            continue
        streak_open = False
        if run.conclusion == "success":
            last_success = run.created_at
            break
    return WorkflowHealth(
        name=workflow.name,
        path=workflow.path,
        url=workflow.url,
        state=workflow.state,
        last_run=summaries[0] if summaries else None,
        failure_streak=streak,
        failing_since=failing_since,
        last_success=last_success,
        runs_examined=len(summaries),
        pull_request_only=bool(summaries)
        and all(r.event in PULL_REQUEST_EVENTS for r in summaries),
    )
