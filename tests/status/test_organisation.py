"""The organisation dashboard: bots, migrations (real samples), incidents, broken sources."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from admin_requests.config import Settings
from admin_requests.queue.gitops import Git
from admin_requests.services import GitHubClient
from admin_requests.services.github import WorkflowRunInfo
from admin_requests.status import StatusCollector, StatusOptions, write_site
from admin_requests.status.collect import workflow_health
from admin_requests.status.config import (
    Bot,
    DashboardConfig,
)
from admin_requests.status.model import BotState, DayOutcome
from admin_requests.status.organisation import (
    OrganisationCollector,
    OrganisationStatus,
    bot_health,
    migration_counts,
    window_days,
)
from tests.fakes import FakeGitHub, Fault
from tests.fakes.clock import FakeClock
from tests.fakes.wiring import retrier_for
from tests.status.organisation_data import (
    CONFIG,
    GRAPH,
    SCRIPTS,
    STATUS,
    sample,
    sample_files,
    seed_organisation,
)
from tests.status.scenario import HOME, REPOSITORY, STATUS_PERMISSIONS, DatedRepo
from tests.status.test_render import parse

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


# -- one bot's health (pure) ------------------------------------------------------------


def _run(number: int, at: datetime, conclusion: str | None, **kw: str) -> WorkflowRunInfo:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return WorkflowRunInfo(
        number,
        number,
        kw.get("event", "schedule"),
        kw.get("status", "completed"),
        conclusion,
        "main",
        stamp,
        stamp,
        f"https://example.invalid/runs/{number}",
    )


HOURLY = Bot("admin migrations", "o/r", "migrate.yml", timedelta(hours=1), "o/core")


def _health(runs: list[WorkflowRunInfo], bot: Bot = HOURLY, **kw: Any) -> Any:
    newest_first = sorted(runs, key=lambda r: r.created_at, reverse=True)
    return bot_health(bot, newest_first, NOW, kw.get("kept", {}), kw.get("before"), workflow_health)


def test_stale_after_three_cadences_without_a_run() -> None:
    recent = _health([_run(1, NOW - timedelta(hours=3), "success")])
    assert (recent.stale, recent.state) == (False, BotState.HEALTHY)  # exactly 3 h: not yet
    late = _health([_run(1, NOW - timedelta(hours=3, minutes=1), "success")])
    assert (late.stale, late.state) == (True, BotState.STALE)
    never = _health([])
    assert (never.stale, never.last_run) == (True, None)
    events = Bot("linter", "o/r", "lint.yml", None, None)
    assert not _health([], events).stale  # started by events: never stale


def test_the_strip_has_thirty_days_with_the_outcome_of_each() -> None:
    runs = [
        _run(1, NOW - timedelta(days=29, hours=1), "success"),
        _run(2, NOW - timedelta(days=2, hours=2), "success"),
        _run(3, NOW - timedelta(days=2, hours=1), "failure"),
        _run(4, NOW - timedelta(days=1), "cancelled"),
        _run(5, NOW - timedelta(minutes=5), None, status="in_progress"),
        _run(6, NOW - timedelta(days=40), "failure"),  # outside the window
    ]
    health = _health(runs)
    assert [d.day for d in health.days] == window_days(NOW)
    assert len(health.days) == 30
    assert health.days[0].day == NOW.date() - timedelta(days=29)
    outcomes = {d.day: d.outcome for d in health.days if d.outcome != "none"}
    assert outcomes == {
        NOW.date() - timedelta(days=29): "success",
        NOW.date() - timedelta(days=2): "failure",
        NOW.date() - timedelta(days=1): "other",
        NOW.date(): "other",
    }
    assert health.days[-3].words == f"{NOW.date() - timedelta(days=2)}: 1 succeeded, 1 failed"
    assert health.failure_streak == 1
    assert health.failing_since == NOW - timedelta(days=2, hours=1)
    assert health.last_success == NOW - timedelta(days=2, hours=2)
    assert health.state is BotState.FAILING


def test_a_streak_longer_than_what_was_read_says_so_and_keeps_its_start() -> None:
    runs = [_run(n, NOW - timedelta(hours=n), "failure") for n in range(1, 4)]
    health = _health(runs)
    assert (health.failure_streak, health.streak_complete) == (3, False)
    assert health.badge()["message"] == "failing (3+ in a row)"
    before = {"failing_since": "2026-02-20T00:00:00Z", "last_success": "2026-02-19T23:00:00Z"}
    continued = _health(runs, before=before)
    assert continued.failing_since == datetime(2026, 2, 20, tzinfo=UTC)
    assert continued.last_success == datetime(2026, 2, 19, 23, tzinfo=UTC)
    assert continued.streak_complete


def test_pull_request_checks_failing_do_not_make_the_bot_failing() -> None:
    linter = Bot("linter", "o/r", "lint.yml", None, None)
    health = _health([_run(1, NOW - timedelta(hours=1), "failure", event="pull_request")], linter)
    assert health.failure_streak == 1
    assert health.state is BotState.HEALTHY


def test_badges_follow_shields_endpoint_format() -> None:
    healthy = _health([_run(1, NOW - timedelta(minutes=20), "success")])
    assert healthy.badge() == {
        "schemaVersion": 1,
        "label": "admin migrations",
        "message": "passing",
        "color": "success",
        "isError": False,
    }
    stale = _health([_run(1, NOW - timedelta(hours=5), "success")]).badge()
    assert (stale["message"], stale["color"]) == ("stale", "orange")
    failing = _health([_run(1, NOW - timedelta(minutes=5), "failure"),
                       _run(2, NOW - timedelta(minutes=65), "success")]).badge()  # fmt: skip
    assert (failing["message"], failing["color"], failing["isError"]) == (
        "failing (1 in a row)",
        "critical",
        True,
    )


# -- migrations from the bot's real files -----------------------------------------------


def test_migration_progress_is_measured_as_conda_forge_org_does() -> None:
    counts, errors = migration_counts(json.loads(sample("migration_json/urdfdom51.json")), "W")
    assert counts == {
        "done": 4,
        "in-pr": 2,
        "awaiting-pr": 0,
        "awaiting-parents": 8,
        "not-solvable": 0,
        "bot-error": 0,
    }
    assert errors == ()
    counts, _ = migration_counts(json.loads(sample("migration_json/occt793.json")), "W")
    assert (counts["in-pr"], counts["not-solvable"], counts["awaiting-parents"]) == (7, 1, 2)


def test_bot_error_feedstocks_are_linked() -> None:
    # volk33.json has no bot error: one added to a copy, as the bot would list it.
    data = json.loads(sample("migration_json/volk33.json"))
    data["bot-error"] = ["gqrx", "gnuradio-satellites"]
    _, errors = migration_counts(data, "https://github.com")
    assert [(f.name, f.url) for f in errors] == [
        ("gqrx", "https://github.com/conda-forge/gqrx-feedstock"),  # no link of its own
        ("gnuradio-satellites", "https://github.com/conda-forge/gnuradio-satellites-feedstock/pull/159"),
    ]  # fmt: skip
    with pytest.raises(ValueError, match="'done' is not a list"):
        migration_counts({"done": "everything"}, "W")


# -- the collector against FakeGitHub ---------------------------------------------------


@pytest.fixture
def org(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_repo(HOME)
    fake_github.add_token("status-job", repositories=[HOME], permissions=STATUS_PERMISSIONS)
    process = fake_github.add_workflow(HOME, ".github/workflows/process.yml", "process requests")
    for minutes in (50, 35, 20, 5):
        fake_github.add_workflow_run(
            HOME, process, conclusion="success", created_at=NOW - timedelta(minutes=minutes)
        )
    seed_organisation(fake_github, NOW)
    return fake_github


def _client(github: FakeGitHub) -> GitHubClient:
    settings = Settings(github_api_url=github.url, repository=REPOSITORY, http_timeout_seconds=5)
    return GitHubClient.build(settings, "status-job", retrier=retrier_for(FakeClock()))


def _collect(
    github: FakeGitHub,
    previous: dict[str, Any] | None = None,
    now: datetime = NOW,
    config: DashboardConfig = CONFIG,
) -> OrganisationStatus:
    return OrganisationCollector(
        _client(github),
        config.resolved(REPOSITORY),
        now=now,
        previous=previous,
        health_of=workflow_health,
    ).collect()


def _previous(status: OrganisationStatus, at: datetime) -> dict[str, Any]:
    return {
        "generated_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "bots": [b.to_dict() for b in status.bots],
        "migrations": [m.to_dict() for m in status.migrations],
        "incidents": [i.to_dict() for i in status.incidents],
        "sources": [s.to_dict() for s in status.sources],
    }


def test_bots_of_several_owners_with_a_read_only_token_one_call_each(org: FakeGitHub) -> None:
    status = _collect(org)

    bots = {b.name: b for b in status.bots}
    assert {n: b.state for n, b in bots.items()} == {
        "process requests": BotState.HEALTHY,
        "autotick bot": BotState.HEALTHY,
        "admin migrations": BotState.STALE,
        "staged-recipes linter": BotState.HEALTHY,
    }
    autotick = bots["autotick bot"]
    assert autotick.repository == SCRIPTS
    assert autotick.url == "https://github.com/regro/cf-scripts/actions/workflows/bot-bot.yml"
    assert autotick.team_url == "https://github.com/orgs/regro/teams/auto-tick-triage"
    assert [d.outcome for d in autotick.days].count("failure") == 1
    assert autotick.days[-13].outcome == "failure"  # 12 days ago
    assert autotick.runs_read == 29  # the run 30 days ago is outside the window
    assert bots["admin migrations"].last_run is not None
    assert bots["admin migrations"].last_run.created_at == NOW - timedelta(hours=5)
    runs_calls = org.count(method="GET", path=r"/actions/workflows/[^/]+/runs$")
    assert runs_calls == 4  # one per bot: each has fewer than 100 runs in 30 days
    assert org.count(method="GET", path=r"/actions/workflows$") == 0  # by file name
    assert all(s.ok for s in status.sources), status.sources
    assert org.contract_violations == []


def test_many_runs_cost_one_call_per_hundred(org: FakeGitHub) -> None:
    busy = org.add_workflow(SCRIPTS, ".github/workflows/bot-cache.yml", "bot-cache")
    for n in range(250):
        org.add_workflow_run(
            SCRIPTS, busy, conclusion="success", created_at=NOW - timedelta(minutes=15 * n + 1)
        )
    cache = Bot("bot cache", SCRIPTS, "bot-cache.yml", timedelta(minutes=15), None)
    config = DashboardConfig((cache,), None, None)

    [health] = _collect(org, config=config).bots

    assert health.runs_read == 250
    assert org.count(method="GET", path=r"/bot-cache.yml/runs$") == 3
    assert sum(d.success for d in health.days) == 250


def test_a_later_build_reads_from_the_day_before_the_last_and_keeps_older_days(
    org: FakeGitHub,
) -> None:
    first = _collect(org)
    later = NOW + timedelta(hours=1)
    scripts_bot = org.actions_workflows[SCRIPTS][0]
    org.add_workflow_run(
        SCRIPTS, scripts_bot, conclusion="failure", created_at=later - timedelta(minutes=10)
    )
    org.calls.clear()

    second = _collect(org, _previous(first, NOW), now=later)

    autotick = next(b for b in second.bots if b.name == "autotick bot")
    assert autotick.runs_read == 2  # yesterday's and today's new run, not 30 days
    assert autotick.days[-13].outcome == "failure"  # kept from the first build
    assert [d.outcome for d in autotick.days].count("failure") == 2
    assert autotick.state is BotState.FAILING
    assert autotick.last_success == NOW - timedelta(days=1, hours=-1)


def test_migrations_from_the_real_files(org: FakeGitHub) -> None:
    status = _collect(org)

    found = {m.name: m for m in status.migrations}
    assert [m.name for m in status.migrations if m.kind == "regular"] == [
        "occt793",
        "urdfdom51",
        "volk33",
    ]
    urdfdom = found["urdfdom51"]
    assert (urdfdom.done, urdfdom.total, round(urdfdom.percentage, 1)) == (6, 14, 42.9)
    assert urdfdom.url == (
        f"https://github.com/{GRAPH}/blob/master/status/migration_json/urdfdom51.json"
    )
    closed = [m for m in status.migrations if m.kind == "closed"]
    assert len(closed) == 13
    assert found["cuda129"].description == "cuda129 closed at 2026-02-04 05:44:23 UTC"
    # Three status files (paused_status.json is absent here) and one per migration.
    assert org.count(method="GET", path=r"/cf-graph-countyfair/contents/") == 4 + 3
    source = next(s for s in status.sources if s.name.startswith("migrations"))
    assert source.ok


def test_every_migration_listed_without_its_file_is_said_and_the_rest_shown(
    org: FakeGitHub,
) -> None:
    files = org.repo(GRAPH).files
    files["status/regular_status.json"] = sample("regular_status.json").encode()  # all 33

    status = _collect(org)

    regular = [m for m in status.migrations if m.kind == "regular"]
    assert len(regular) == 33
    shown = [m.name for m in regular if m.error is None]
    assert shown == ["occt793", "urdfdom51", "volk33"]
    cuda = next(m for m in regular if m.name == "cuda130")
    assert cuda.error is not None
    assert "has no 'status/migration_json/cuda130.json' on 'master'" in cuda.error
    source = next(s for s in status.sources if s.name.startswith("migrations"))
    assert not source.ok
    assert source.failing_since == NOW


def test_incidents_newest_first_with_their_latest_update(org: FakeGitHub) -> None:
    status = _collect(org)

    assert [(i.title, i.severity) for i in status.incidents] == [
        ("Azure pipelines are not starting", "major outage"),
        ("anaconda.org maintenance window", "maintenance"),
    ]
    outage, maintenance = status.incidents
    assert outage.latest_update.startswith("Microsoft confirmed the outage")
    assert outage.latest_update_at == NOW - timedelta(minutes=30)
    assert maintenance.latest_update == "Uploads pause."  # no comment: its description
    assert outage.url == f"https://github.com/conda-forge/{STATUS}/issues/{outage.number}"
    assert org.count(method="GET", path=rf"/repos/conda-forge/{STATUS}/issues$") == 1
    assert org.count(method="GET", path=r"/comments$") == 1  # only the one with comments


def test_a_malformed_migrations_file_keeps_the_last_data_and_says_since_when(
    org: FakeGitHub,
) -> None:
    first = _collect(org)
    org.repo(GRAPH).files["status/regular_status.json"] = b'{"occt793": '  # cut short
    one_hour = NOW + timedelta(hours=1)
    second = _collect(org, _previous(first, NOW), now=one_hour)
    two_hours = NOW + timedelta(hours=2)
    third = _collect(org, _previous(second, one_hour), now=two_hours)

    assert [m.to_dict() for m in third.migrations] == [m.to_dict() for m in first.migrations]
    source = next(s for s in third.sources if s.name.startswith("migrations"))
    assert not source.ok
    assert source.error is not None
    assert "'status/regular_status.json' in regro/cf-graph-countyfair is not JSON" in source.error
    assert source.failing_since == one_hour  # the first build that could not read it
    assert source.last_ok == NOW
    assert next(s for s in third.sources if s.name.startswith("incidents")).ok


@pytest.mark.parametrize("down", ["runs", "incidents", "everything"])
def test_github_down_never_blanks_the_page(org: FakeGitHub, down: str) -> None:
    first = _collect(org)
    paths = {
        "runs": r"/actions/workflows/.*/runs$",
        "incidents": rf"/repos/conda-forge/{STATUS}/issues",
        "everything": r"^/repos/",
    }
    org.faults.at_rate(1.0, Fault.server_error(503), path=paths[down])
    later = NOW + timedelta(minutes=15)

    status = _collect(org, _previous(first, NOW), now=later)

    failed = {s.name for s in status.sources if not s.ok}
    assert failed
    assert all(s.failing_since == later for s in status.sources if not s.ok)
    if down in ("runs", "everything"):
        assert "workflow runs of regro/cf-scripts" in failed
        autotick = next(b for b in status.bots if b.name == "autotick bot")
        assert autotick.error is not None
        assert "503" in autotick.error
        assert autotick.as_of == NOW  # the last known health, said to be from then
        assert autotick.state is BotState.HEALTHY
        assert autotick.days == first.bots[1].days
    if down in ("incidents", "everything"):
        assert f"incidents (conda-forge/{STATUS})" in failed
        assert [i.number for i in status.incidents] == [i.number for i in first.incidents]
    if down == "everything":
        assert len(status.migrations) == len(first.migrations)


def test_without_a_token_everything_is_a_named_source_problem() -> None:
    status = OrganisationCollector(
        None, CONFIG.resolved(REPOSITORY), now=NOW, previous=None, health_of=workflow_health
    ).collect()
    assert [b.state for b in status.bots] == [BotState.UNKNOWN] * 4
    assert all(len(b.days) == 30 for b in status.bots)
    per_bot = {f"{b.workflow}: no GitHub token" for b in CONFIG.bots}
    assert {s.error for s in status.sources} == {"no GitHub token"} | per_bot


def test_day_outcome_round_trip() -> None:
    day = DayOutcome(NOW.date(), 2, 1, 3)
    assert DayOutcome.from_dict(day.to_dict()) == day
    assert sample_files()["status/longterm_status.json"] == "{}"


def test_the_page_renders_with_github_down_and_says_what_failed_since_when(
    org: FakeGitHub, tmp_path: Path
) -> None:
    repo = DatedRepo(tmp_path / "repo", NOW - timedelta(days=1))

    def build(now: datetime, previous: dict[str, Any] | None, out: Path) -> dict[str, Any]:
        report = StatusCollector(
            repo.root,
            git=Git(repo.root),
            github=_client(org),
            clock=lambda: now,
            options=StatusOptions(repository=REPOSITORY, dashboard=CONFIG, previous=previous),
        ).collect()
        write_site(report, out)
        data: dict[str, Any] = json.loads((out / "status.json").read_text())
        return data

    first = build(NOW, None, tmp_path / "first")
    org.faults.at_rate(1.0, Fault.server_error(503), path=r"^/repos/")
    later = NOW + timedelta(minutes=30)
    data = build(later, first, tmp_path / "second")

    html = (tmp_path / "second" / "index.html").read_text()
    text = " ".join(" ".join(parse(html).text).split())
    failed = [s for s in data["sources"] if not s["ok"]]
    assert {s["name"] for s in failed} == {
        "incidents (conda-forge/status)",
        "workflow runs of conda-forge/admin-requests",
        "workflow runs of regro/cf-scripts",
        "workflow runs of conda-forge/admin-migrations",
        "workflow runs of conda-forge/staged-recipes",
        f"migrations ({GRAPH})",
    }
    for source in failed:
        assert f"{source['name']} failing since 2026-03-02 12:30 UTC" in text
    # What was known before is still there, said to be from then.
    assert html.count("data-bot=") == 4
    assert html.count("data-migration=") == len(first["migrations"])
    assert html.count('class="incident"') == 2
    assert "shown as of 2026-03-02 12:00 UTC" in text
    # Six sources, and the queue's own two (its failure issues and its workflows).
    assert data["summary"]["attention"][-1] == "8 data source problem(s)"
