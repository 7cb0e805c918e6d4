"""The organisation's automation for the status page: bots, migrations, incidents.

Read-only, with whatever token the page has (the status job's ``GITHUB_TOKEN``: public
repositories of any owner are readable with it). Calls are kept to what pagination
allows:

- bots: one paged ``GET .../actions/workflows/{file}/runs?created=>=DAY`` per bot (100
  runs a page). The first build reads 30 days; later builds read from the day before
  the previous build and keep the older days from the previous ``status.json``.
- migrations: the three or four status files and one ``migration_json`` per migration
  in flight (the autotick bot's files, as conda-forge.org's status page reads them).
- incidents: one list of the status repository's open issues, and one call for the
  newest comment of each open incident.

A source that cannot be read keeps its last known data from the previous build, marked
with when that was, and is named in ``sources`` with the time it first failed: a broken
source never blanks the page.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from admin_requests.services.github import FileContent, IssueInfo, WorkflowInfo, WorkflowRunInfo
from admin_requests.status.config import Bot, DashboardConfig, IncidentsSource, MigrationsSource
from admin_requests.status.model import (
    MIGRATION_STATES,
    BotHealth,
    DayOutcome,
    Feedstock,
    Incident,
    Migration,
    SourceStatus,
    parse_time,
    run_from_dict,
)

log = logging.getLogger(__name__)

DAYS = 30
UPDATE_CHARS = 400  # an incident's latest update longer than this is cut (the issue has it)
MIGRATION_KINDS = ("regular", "longterm", "paused")  # each has a <kind>_status.json


class OrganisationReads(Protocol):
    """The read-only GitHub calls of this module (GitHubClient has them)."""

    def workflow_runs_since(
        self, repo: str, workflow: str, since: str
    ) -> list[WorkflowRunInfo]: ...

    def get_file(self, repo: str, path: str, *, ref: str | None = None) -> FileContent | None: ...

    def list_issues(
        self, repo: str, *, labels: tuple[str, ...] = (), state: str = "open"
    ) -> list[IssueInfo]: ...

    def last_comment(self, repo: str, number: int, count: int) -> tuple[str, str] | None: ...


@dataclass
class OrganisationStatus:
    bots: list[BotHealth] = field(default_factory=list)
    migrations: list[Migration] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    sources: list[SourceStatus] = field(default_factory=list)


HealthOf = Callable[[WorkflowInfo, Sequence[WorkflowRunInfo]], Any]


class OrganisationCollector:
    def __init__(
        self,
        github: OrganisationReads | None,
        config: DashboardConfig,
        *,
        now: datetime,
        previous: dict[str, Any] | None,
        web_url: str = "https://github.com",
        health_of: HealthOf,
    ) -> None:
        self.github = github
        self.config = config
        self.now = now
        self.previous = previous or {}
        self.previous_at = parse_time(self.previous.get("generated_at"))
        self.web_url = web_url
        self.health_of = health_of  # collect.workflow_health: one rule for streaks
        self.sources: list[SourceStatus] = []

    def collect(self) -> OrganisationStatus:
        status = OrganisationStatus()
        status.incidents = self._incidents(self.config.incidents)
        status.bots = self._bots()
        status.migrations = self._migrations(self.config.migrations)
        status.sources = self.sources
        return status

    # -- sources and their failures -----------------------------------------------------

    def _source(self, name: str, error: str | None) -> None:
        before = next((s for s in self.previous.get("sources", []) if s.get("name") == name), None)
        if error is None:
            self.sources.append(SourceStatus(name, True, last_ok=self.now))
            return
        last_ok = parse_time(before.get("last_ok")) if before else None
        since = parse_time(before.get("failing_since")) if before else None
        self.sources.append(SourceStatus(name, False, error, since or self.now, last_ok))

    def _previous(self, key: str) -> list[dict[str, Any]]:
        found = self.previous.get(key)
        return [x for x in found if isinstance(x, dict)] if isinstance(found, list) else []

    # -- bots ---------------------------------------------------------------------------

    def _bots(self) -> list[BotHealth]:
        bots = []
        failures: dict[str, list[str]] = {}
        for bot in self.config.bots:
            health, error = self._bot(bot)
            bots.append(health)
            failures.setdefault(bot.repository, [])
            if error is not None:
                failures[bot.repository].append(f"{bot.workflow}: {error}")
        for repository, errors in failures.items():
            self._source(f"workflow runs of {repository}", "; ".join(errors) if errors else None)
        return bots

    def _bot(self, bot: Bot) -> tuple[BotHealth, str | None]:
        window = window_days(self.now)
        before = next(
            (
                b
                for b in self._previous("bots")
                if b.get("repository") == bot.repository and b.get("workflow") == bot.workflow
            ),
            None,
        )
        start = window[0]
        if before is not None and self.previous_at is not None and not before.get("error"):
            # Runs of the day before the previous build may have finished since: read
            # from then; older days are as the previous build counted them.
            start = max(start, self.previous_at.date() - timedelta(days=1))
        if self.github is None:
            error = "no GitHub token"
            return self._bot_from_previous(bot, before, error), error
        since = datetime.combine(start, time(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            runs = self.github.workflow_runs_since(bot.repository, bot.workflow, since)
        except Exception as exc:
            log.warning("cannot read the runs of %s", bot.workflow, exc_info=True)
            return self._bot_from_previous(bot, before, str(exc)), str(exc)
        kept = {}
        if before is not None and start > window[0]:
            for day in before.get("days", []):
                outcome = DayOutcome.from_dict(day)
                if window[0] <= outcome.day < start:
                    kept[outcome.day] = outcome
        return bot_health(bot, runs, self.now, kept, before, self.health_of, self.web_url), None

    def _bot_from_previous(self, bot: Bot, before: dict[str, Any] | None, error: str) -> BotHealth:
        url = f"{self.web_url}/{bot.repository}/actions/workflows/{bot.workflow}"
        if before is None or (before.get("error") is not None and not before.get("as_of")):
            return BotHealth(
                bot.name, bot.repository, bot.workflow, url, bot.team, bot.cadence,
                None, None, 0, None, True, False, empty_days(self.now), 0, error, None, bot.slug,
            )  # fmt: skip
        last_run = run_from_dict(before["last_run"]) if before.get("last_run") else None
        return BotHealth(
            bot.name, bot.repository, bot.workflow, url, bot.team, bot.cadence,
            last_run,
            parse_time(before.get("last_success")),
            int(before.get("failure_streak", 0)),
            parse_time(before.get("failing_since")),
            bool(before.get("streak_complete", True)),
            is_stale(bot, last_run, self.now),
            tuple(DayOutcome.from_dict(d) for d in before.get("days", [])),
            0,
            error,
            parse_time(before.get("as_of")) or self.previous_at,
            bot.slug,
        )  # fmt: skip

    # -- migrations ---------------------------------------------------------------------

    def _read_json(self, source: MigrationsSource, name: str) -> Any:
        assert self.github is not None
        path = f"{source.folder}/{name}"
        found = self.github.get_file(source.repository, path, ref=source.branch)
        if found is None:
            raise FileNotFoundError(f"{source.repository} has no {path!r} on {source.branch!r}")
        try:
            return json.loads(found.content)
        except ValueError as exc:
            raise ValueError(f"{path!r} in {source.repository} is not JSON ({exc})") from None

    def _migrations(self, source: MigrationsSource | None) -> list[Migration]:
        if source is None:
            return []
        name = f"migrations ({source.repository})"
        try:
            if self.github is None:
                raise RuntimeError("no GitHub token")
            listed = self._migration_lists(source)
        except Exception as exc:
            log.warning("cannot read the migration status", exc_info=True)
            self._source(name, str(exc))
            return [Migration.from_dict(m) for m in self._previous("migrations")]
        found = []
        errors: list[str] = []
        for kind, names in listed:
            for migration, description in names.items():
                found.append(self._migration(source, kind, migration, description, errors))
        self._source(name, "; ".join(errors) if errors else None)
        return found

    def _migration_lists(self, source: MigrationsSource) -> list[tuple[str, dict[str, str]]]:
        listed = []
        for kind in (*MIGRATION_KINDS, "closed"):
            try:
                data = self._read_json(source, f"{kind}_status.json")
            except FileNotFoundError:
                if kind in ("paused", "closed"):  # not every deployment writes these
                    continue
                raise
            if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
                raise ValueError(
                    f"{source.folder}/{kind}_status.json in {source.repository} is not a "
                    "mapping of migration names to descriptions"
                )
            listed.append((kind, data))
        return listed

    def _migration(
        self,
        source: MigrationsSource,
        kind: str,
        name: str,
        description: str,
        errors: list[str],
    ) -> Migration:
        path = f"{source.folder}/migration_json/{name}.json"
        url = f"{self.web_url}/{source.repository}/blob/{source.branch}/{path}"
        if kind == "closed":  # "<name> closed at <time> UTC": no feedstock list any more
            return Migration(name, kind, description, {}, (), "")
        try:
            data = self._read_json(source, f"migration_json/{name}.json")
            counts, bot_errors = migration_counts(data, self.web_url)
        except Exception as exc:
            errors.append(f"{name}: {exc}")
            return Migration(name, kind, description, {}, (), url, str(exc))
        return Migration(name, kind, description, counts, bot_errors, url)

    # -- incidents ----------------------------------------------------------------------

    def _incidents(self, source: IncidentsSource | None) -> list[Incident]:
        if source is None:
            return []
        name = f"incidents ({source.repository})"
        try:
            if self.github is None:
                raise RuntimeError("no GitHub token")
            # One call: GitHub's label filter needs every label, an incident has one.
            issues = self.github.list_issues(source.repository, state="open")
            incidents = [
                self._incident(source, issue)
                for issue in issues
                if set(issue.labels) & set(source.labels)
            ]
        except Exception as exc:
            log.warning("cannot read the incidents", exc_info=True)
            self._source(name, str(exc))
            return [Incident.from_dict(i) for i in self._previous("incidents")]
        self._source(name, None)
        newest = datetime.min.replace(tzinfo=UTC)
        return sorted(incidents, key=lambda i: (i.created_at or newest, i.number), reverse=True)

    def _incident(self, source: IncidentsSource, issue: IssueInfo) -> Incident:
        assert self.github is not None
        severity = next(label for label in source.labels if label in issue.labels)
        update, at = issue.body, parse_time(issue.created_at)
        last = self.github.last_comment(source.repository, issue.number, issue.comments)
        if last is not None:
            update, at = last[0], parse_time(last[1])
        return Incident(
            issue.number,
            issue.title,
            issue.url,
            severity,
            parse_time(issue.created_at),
            parse_time(issue.updated_at),
            cut(update.strip(), UPDATE_CHARS),
            at,
        )


# -- pure helpers (tested directly) ---------------------------------------------------


def window_days(now: datetime) -> list[date]:
    """The strip's days, oldest first: today (UTC) and the 29 before it."""
    today = now.astimezone(UTC).date()
    return [today - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]


def empty_days(now: datetime) -> tuple[DayOutcome, ...]:
    return tuple(DayOutcome(day) for day in window_days(now))


def is_stale(bot: Bot, last_run: Any, now: datetime) -> bool:
    """No run in three times its cadence (never for workflows started by events)."""
    if bot.stale_after is None:
        return False
    if last_run is None:
        return True
    return bool(now - last_run.created_at > bot.stale_after)


def day_outcomes(
    runs: Sequence[WorkflowRunInfo], now: datetime, kept: dict[date, DayOutcome]
) -> tuple[DayOutcome, ...]:
    """Runs counted by UTC day over the window; ``kept`` days are taken as they are."""
    from admin_requests.status.model import FAILED_CONCLUSIONS

    counts: dict[date, list[int]] = {}
    for run in runs:
        at = parse_time(run.created_at)
        if at is None:
            continue
        day = counts.setdefault(at.date(), [0, 0, 0])
        if run.status == "completed" and run.conclusion == "success":
            day[0] += 1
        elif run.status == "completed" and run.conclusion in FAILED_CONCLUSIONS:
            day[1] += 1
        else:
            day[2] += 1
    return tuple(
        kept[day] if day in kept else DayOutcome(day, *counts.get(day, [0, 0, 0]))
        for day in window_days(now)
    )


def bot_health(
    bot: Bot,
    runs: Sequence[WorkflowRunInfo],
    now: datetime,
    kept: dict[date, DayOutcome],
    before: dict[str, Any] | None,
    health_of: HealthOf,
    web_url: str = "https://github.com",
) -> BotHealth:
    """One bot's health from the runs read (newest first) and, for what they do not
    reach, the previous build's record of it."""
    url = f"{web_url}/{bot.repository}/actions/workflows/{bot.workflow}"
    info = WorkflowInfo(0, bot.name, f".github/workflows/{bot.workflow}", "active", url)
    health = health_of(info, runs)
    last_run = health.last_run
    last_success = health.last_success
    failing_since = health.failing_since
    # The streak reached the oldest run read without meeting a success.
    complete = last_success is not None or health.failure_streak == 0
    if before is not None:
        if last_run is None and before.get("last_run"):
            last_run = run_from_dict(before["last_run"])
        if last_success is None:
            last_success = parse_time(before.get("last_success"))
        if not complete and before.get("failing_since"):
            failing_since = parse_time(before["failing_since"])
    if last_success is not None and health.failure_streak and not complete:
        complete = True  # the previous build saw the success before the streak
    return BotHealth(
        name=bot.name,
        repository=bot.repository,
        workflow=bot.workflow,
        url=url,
        team=bot.team,
        cadence=bot.cadence,
        last_run=last_run,
        last_success=last_success,
        failure_streak=health.failure_streak,
        failing_since=failing_since,
        streak_complete=complete,
        stale=is_stale(bot, last_run, now),
        days=day_outcomes(runs, now, kept),
        runs_read=len(runs),
        slug=bot.slug,
    )


def migration_counts(data: Any, web_url: str) -> tuple[dict[str, int], tuple[Feedstock, ...]]:
    """Feedstocks by state, and the bot-error ones with a link, from a migration_json file."""
    if not isinstance(data, dict):
        raise ValueError("not a mapping of states to feedstock lists")
    counts = {}
    for state in MIGRATION_STATES:
        names = data.get(state, [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError(f"{state!r} is not a list of feedstock names")
        counts[state] = len(names)
    status = data.get("_feedstock_status")
    status = status if isinstance(status, dict) else {}
    errors = []
    for name in data.get("bot-error", []):
        known = status.get(name)
        # The bot's own link when it has one (its PR or feedstock), else the feedstock.
        url = known.get("pr_url") if isinstance(known, dict) else None
        if not isinstance(url, str) or not url.startswith("https://"):
            url = f"{web_url}/conda-forge/{name}-feedstock"
        errors.append(Feedstock(name, url))
    return counts, tuple(errors)


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
