"""The organisation around the queue, seeded into FakeGitHub for the status tests.

Bots in other owners' repositories (regro/cf-scripts, conda-forge/admin-migrations,
conda-forge/staged-recipes) with their runs, the autotick bot's real migration status
files (tests/data/autotick-status, served by the contents API of regro/cf-graph-countyfair)
and incidents in conda-forge/status. The status job's token is scoped to the suite's own
repository: everything here is read as GitHub serves public repositories.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from admin_requests.status.config import (
    Bot,
    DashboardConfig,
    IncidentsSource,
    MigrationsSource,
    parse_cadence,
)
from tests.fakes import FakeGitHub

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "autotick-status"
GRAPH = "regro/cf-graph-countyfair"
SCRIPTS = "regro/cf-scripts"
MIGRATIONS = "conda-forge/admin-migrations"
STAGED = "conda-forge/staged-recipes"
STATUS = "status"  # conda-forge/status, in the fake's own organisation
SAMPLE_MIGRATIONS = ("occt793", "urdfdom51", "volk33")

BOTS = (
    Bot("process requests", ".", "process.yml", parse_cadence("15m"), "conda-forge/core"),
    Bot("autotick bot", SCRIPTS, "bot-bot.yml", parse_cadence("1d"), "regro/auto-tick-triage"),
    Bot("admin migrations", MIGRATIONS, "migrate.yml", parse_cadence("1h"), "conda-forge/core"),
    Bot("staged-recipes linter", STAGED, "staged-recipes-linter.yml", None, None),
)
CONFIG = DashboardConfig(
    BOTS,
    MigrationsSource(GRAPH, "master", "status"),
    IncidentsSource(f"conda-forge/{STATUS}"),
)


def sample(name: str) -> str:
    return (SAMPLES / name).read_text()


def sample_files(regular: tuple[str, ...] = SAMPLE_MIGRATIONS) -> dict[str, str | bytes]:
    """The status folder as the bot writes it: the real files, with regular_status.json
    narrowed to the migrations we have a real migration_json of (its format unchanged)."""
    listed = json.loads(sample("regular_status.json"))
    files: dict[str, str | bytes] = {
        "status/regular_status.json": json.dumps({k: listed[k] for k in regular}, indent=2),
        "status/longterm_status.json": "{}",
        "status/closed_status.json": sample("closed_status.json"),
    }
    for name in SAMPLE_MIGRATIONS:
        files[f"status/migration_json/{name}.json"] = sample(f"migration_json/{name}.json")
    return files


def seed_organisation(github: FakeGitHub, now: datetime) -> None:
    """Everything CONFIG names except the suite's own workflows (the scenario has them).

    - autotick bot: a daily run for 30 days; the one 12 days ago failed: healthy.
    - admin migrations: hourly, but its last run was 5 hours ago: stale (3 h).
    - staged-recipes linter: pull-request checks, the last one failed: not failing.
    - incidents: 'major outage' opened 2 h ago with a comment, 'maintenance' opened a
      day ago, an ordinary open issue and a closed incident (neither is shown).
    """
    github.public_reads = True
    scripts = github.add_repo(SCRIPTS)
    bot = github.add_workflow(scripts.name, ".github/workflows/bot-bot.yml", "bot-bot")
    for days in range(30, 0, -1):
        github.add_workflow_run(
            scripts.name,
            bot,
            conclusion="failure" if days == 12 else "success",
            created_at=now - timedelta(days=days, hours=-1),
        )
    # Repositories of the fake's own organisation go by their short name.
    migrations = github.add_repo(MIGRATIONS.removeprefix("conda-forge/"))
    migrate = github.add_workflow(migrations.name, ".github/workflows/migrate.yml", "migrate")
    for hours in range(48, 4, -1):
        github.add_workflow_run(
            migrations.name, migrate, conclusion="success", created_at=now - timedelta(hours=hours)
        )
    staged = github.add_repo(STAGED.removeprefix("conda-forge/"))
    linter = github.add_workflow(
        staged.name, ".github/workflows/staged-recipes-linter.yml", "staged-recipes-linter"
    )
    for hours, conclusion in ((30, "success"), (3, "failure")):
        github.add_workflow_run(
            staged.name,
            linter,
            conclusion=conclusion,
            created_at=now - timedelta(hours=hours),
            event="pull_request",
        )
    graph = github.add_repo(GRAPH, branches={"master": "a" * 40}, files=sample_files())
    graph.default_branch = "master"  # as regro/cf-graph-countyfair's
    github.add_repo(STATUS)
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    outage = github.add_issue(
        STATUS, "Azure pipelines are not starting", "Builds wait.", labels=["major outage"]
    )
    outage.created_at = (now - timedelta(hours=2)).strftime(stamp)
    outage.updated_at = (now - timedelta(minutes=30)).strftime(stamp)
    said = (now - timedelta(minutes=30)).strftime(stamp)
    outage.comments.append(  # the shape FakeGitHub's own comments have
        {
            "id": 1,
            "body": "Microsoft confirmed the outage; builds resume as agents return.",
            "user": {"login": "core-member", "type": "User"},
            "url": f"{github.url}/repos/conda-forge/{STATUS}/issues/comments/1",
            "html_url": f"https://github.com/conda-forge/{STATUS}/issues/{outage.number}"
            "#issuecomment-1",
            "created_at": said,
            "updated_at": said,
        }
    )
    maintenance = github.add_issue(
        STATUS, "anaconda.org maintenance window", "Uploads pause.", labels=["maintenance"]
    )
    maintenance.created_at = (now - timedelta(days=1)).strftime(stamp)
    maintenance.updated_at = maintenance.created_at
    github.add_issue(STATUS, "Add a status badge", "An idea.", labels=["enhancement"])
    github.add_issue(STATUS, "Old outage", "Fixed.", labels=["major outage"], state="closed")
