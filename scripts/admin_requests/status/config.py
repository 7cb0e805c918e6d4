"""What the organisation dashboard watches: ``.github/status-page.yml``.

Bots are the organisation's automated workflows (repository, workflow file, expected
cadence, the team to tell); migrations come from the autotick bot's status JSON;
incidents are open issues with an incident label in a status repository. Without the
file the conda-forge defaults below apply; ``repository: .`` is this suite's own
repository (``GITHUB_REPOSITORY``)::

    bots:
      - name: autotick bot
        repository: regro/cf-scripts
        workflow: bot-bot.yml
        cadence: 1d          # 10m, 1h, 1d, 7d; omit for workflows started by events
        team: regro/auto-tick-triage
    migrations:
      repository: regro/cf-graph-countyfair
      branch: master
    incidents:
      repository: conda-forge/status
      labels: [investigating, degraded performance, major outage, maintenance]
    oci_mirror:              # status/oci_mirror.py
      registry: https://ghcr.io/channel-mirrors
      channel: conda-forge
      packages: [python, numpy, {name: _openmp_mutex, subdir: linux-64}]
      grace: 12h
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from admin_requests.errors import StatusConfigError
from admin_requests.status.oci_mirror import OciMirrorSource, parse_oci_mirror
from admin_requests.validation.source import parse_document

CONFIG_PATH = ".github/status-page.yml"
CADENCE = re.compile(r"^(\d+)(m|h|d)$")
UNITS = {"m": "minutes", "h": "hours", "d": "days"}
OWNER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$")
WORKFLOW_FILE = re.compile(r"^[A-Za-z0-9._-]+\.ya?ml$")
BOT_KEYS = frozenset({"name", "repository", "workflow", "cadence", "team"})
# A bot is stale after this many cadences without a run.
STALE_CADENCES = 3


@dataclass(frozen=True)
class Bot:
    name: str
    repository: str  # owner/name
    workflow: str  # the file name under .github/workflows/
    cadence: timedelta | None  # None: started by events (pull requests, pushes)
    team: str | None = None  # owner/team-slug, told when it breaks

    @property
    def slug(self) -> str:
        """A file-name-safe id: the badge is ``badges/<slug>.json``."""
        return re.sub(r"[^a-z0-9]+", "-", f"{self.repository}-{self.workflow}".lower()).strip("-")

    @property
    def stale_after(self) -> timedelta | None:
        return None if self.cadence is None else self.cadence * STALE_CADENCES


@dataclass(frozen=True)
class MigrationsSource:
    repository: str = "regro/cf-graph-countyfair"
    branch: str = "master"
    folder: str = "status"


@dataclass(frozen=True)
class IncidentsSource:
    repository: str = "conda-forge/status"
    # conda-forge.org's status page counts these as incidents (conda-forge.github.io,
    # src/components/StatusDashboard/incidents.jsx, BAD_LABELS).
    labels: tuple[str, ...] = (
        "investigating",
        "degraded performance",
        "major outage",
        "maintenance",
    )


@dataclass(frozen=True)
class DashboardConfig:
    bots: tuple[Bot, ...] = ()
    migrations: MigrationsSource | None = field(default_factory=MigrationsSource)
    incidents: IncidentsSource | None = field(default_factory=IncidentsSource)
    oci_mirror: OciMirrorSource | None = field(default_factory=OciMirrorSource)

    def resolved(self, home: str) -> DashboardConfig:
        """``repository: .`` replaced by this suite's repository."""
        bots = tuple(
            Bot(b.name, home, b.workflow, b.cadence, b.team) if b.repository == "." else b
            for b in self.bots
        )
        return dataclasses.replace(self, bots=bots)


def parse_cadence(text: str) -> timedelta:
    """'10m', '1h', '7d' as a timedelta; StatusConfigError otherwise."""
    match = CADENCE.match(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise StatusConfigError(
            f"cadence {text!r} is not a whole number of minutes, hours or days: write "
            "e.g. '15m', '1h' or '7d', or leave it out for a workflow started by events"
        )
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


def format_cadence(value: timedelta | None) -> str | None:
    if value is None:
        return None
    seconds = round(value.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds // 60}m"


def load_config(root: Path, path: str = CONFIG_PATH) -> DashboardConfig:
    """The dashboard configuration of the checkout at ``root``; the defaults without a file."""
    file = root / path
    if not file.is_file():
        return DEFAULT_CONFIG
    return parse_config(file.read_text(encoding="utf-8"), path)


def parse_config(text: str, path: str = CONFIG_PATH) -> DashboardConfig:
    document, problems = parse_document(text, path)
    if document is None or problems:
        detail = problems[0] if problems else "it is not YAML"
        raise StatusConfigError(f"{path}: {detail}")
    data = _plain(document.root)
    if not isinstance(data, dict):
        raise StatusConfigError(f"{path}: expected a mapping with 'bots', 'migrations', ...")
    unknown = set(data) - {"bots", "migrations", "incidents", "oci_mirror"}
    if unknown:
        raise StatusConfigError(
            f"{path}: unknown key(s) {sorted(unknown)!r}; use 'bots', 'migrations', "
            "'incidents' and 'oci_mirror'"
        )
    lines = _bot_lines(document.root)
    bots = tuple(
        _parse_bot(entry, f"{path}, line {lines[i]}" if i < len(lines) else path)
        for i, entry in enumerate(_list(data.get("bots", []), path, "bots"))
    )
    return DashboardConfig(
        bots,
        _migrations(data["migrations"], path) if "migrations" in data else MigrationsSource(),
        _incidents(data["incidents"], path) if "incidents" in data else IncidentsSource(),
        parse_oci_mirror(data["oci_mirror"], path, _value_node(document.root, "oci_mirror"))
        if "oci_mirror" in data
        else OciMirrorSource(),
    )


def _plain(node: Node) -> Any:
    """The located YAML tree (validation.source) as plain Python values (scalars as text)."""
    if isinstance(node, MappingNode):
        return {_plain(k): _plain(v) for k, v in node.value}
    if isinstance(node, SequenceNode):
        return [_plain(v) for v in node.value]
    if node.tag == "tag:yaml.org,2002:null":  # null, ~ or nothing: the source is off
        return None
    return node.value


def _value_node(root: MappingNode, key: str) -> Node | None:
    return next((value for k, value in root.value if k.value == key), None)


def _bot_lines(root: MappingNode) -> list[int]:
    for key, value in root.value:
        if key.value == "bots" and isinstance(value, SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _list(value: Any, path: str, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise StatusConfigError(f"{path}: {key!r} must be a list")
    return value


def _text(entry: dict[str, Any], key: str, where: str, pattern: re.Pattern[str] | None) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise StatusConfigError(f"{where}: {key!r} is missing or not text")
    if pattern is not None and not pattern.match(value) and value != ".":
        raise StatusConfigError(f"{where}: {key!r} {value!r} is not valid ({pattern.pattern})")
    return value.strip()


def _parse_bot(entry: Any, where: str) -> Bot:
    if not isinstance(entry, dict):
        raise StatusConfigError(f"{where}: each bot is a mapping with name, repository, ...")
    unknown = set(entry) - BOT_KEYS
    if unknown:
        raise StatusConfigError(
            f"{where}: unknown key(s) {sorted(unknown)!r}; use {sorted(BOT_KEYS)!r}"
        )
    cadence = entry.get("cadence")
    team = entry.get("team")
    if team is not None and (not isinstance(team, str) or not OWNER_NAME.match(team)):
        raise StatusConfigError(f"{where}: 'team' {team!r} is not 'owner/team-slug'")
    try:
        parsed = parse_cadence(str(cadence)) if cadence is not None else None
    except StatusConfigError as error:
        raise StatusConfigError(f"{where}: {error}") from None
    return Bot(
        _text(entry, "name", where, None),
        _text(entry, "repository", where, OWNER_NAME),
        _text(entry, "workflow", where, WORKFLOW_FILE),
        parsed,
        team,
    )


def _migrations(value: Any, path: str) -> MigrationsSource | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"repository", "branch", "folder"}:
        raise StatusConfigError(f"{path}: 'migrations' takes repository, branch and folder")
    default = MigrationsSource()
    return MigrationsSource(
        str(value.get("repository", default.repository)),
        str(value.get("branch", default.branch)),
        str(value.get("folder", default.folder)),
    )


def _incidents(value: Any, path: str) -> IncidentsSource | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"repository", "labels"}:
        raise StatusConfigError(f"{path}: 'incidents' takes repository and labels")
    default = IncidentsSource()
    labels = value.get("labels", list(default.labels))
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise StatusConfigError(f"{path}: 'incidents.labels' must be a list of label names")
    return IncidentsSource(str(value.get("repository", default.repository)), tuple(labels))


def _bot(name: str, repo: str, workflow: str, cadence: str | None, team: str | None) -> Bot:
    return Bot(name, repo, workflow, parse_cadence(cadence) if cadence else None, team)


CORE = "conda-forge/core"
TRIAGE = "regro/auto-tick-triage"  # the team cf-scripts' bump_bot_team.py pings
# The cadences are the cron lines of each workflow file (checked 2026-12 against
# conda-forge/admin-requests, staged-recipes, conda-forge-webservices, admin-migrations
# and regro/cf-scripts).
DEFAULT_BOTS = (
    _bot("process requests", ".", "process.yml", "15m", CORE),
    _bot("check requests", ".", "check.yml", None, CORE),
    _bot("status page", ".", "status.yml", "15m", CORE),
    _bot("feedstock creation", ".", "create-feedstocks.yml", "10m", CORE),
    _bot(
        "staged-recipes linter",
        "conda-forge/staged-recipes",
        "staged-recipes-linter.yml",
        None,
        "conda-forge/staged-recipes",
    ),
    _bot("autotick bot", "regro/cf-scripts", "bot-bot.yml", "1d", TRIAGE),
    _bot("bot cache", "regro/cf-scripts", "bot-cache.yml", "15m", TRIAGE),
    _bot("bot make graph", "regro/cf-scripts", "bot-make-graph.yml", "15m", TRIAGE),
    _bot("bot make migrators", "regro/cf-scripts", "bot-make-migrators.yml", "15m", TRIAGE),
    _bot("bot status page", "regro/cf-scripts", "bot-update-status-page.yml", "15m", TRIAGE),
    _bot("bot PRs", "regro/cf-scripts", "bot-prs.yml", "1h", TRIAGE),
    _bot("bot update nodes", "regro/cf-scripts", "bot-update-nodes.yml", "1h", TRIAGE),
    _bot("bot keepalive", "regro/cf-scripts", "bot-keepalive.yml", "1h", TRIAGE),
    _bot("bot versions", "regro/cf-scripts", "bot-versions.yml", "30m", TRIAGE),
    _bot("bot feedstocks", "regro/cf-scripts", "bot-feedstocks.yml", "1d", TRIAGE),
    _bot("bot PyPI mapping", "regro/cf-scripts", "bot-pypi-mapping.yml", "1h", TRIAGE),
    _bot("webservices deploy", "conda-forge/conda-forge-webservices", "release.yml", None, CORE),
    _bot(
        "webservices clean and update",
        "conda-forge/conda-forge-webservices",
        "clean-and-update.yml",
        "1h",
        CORE,
    ),
    _bot("admin migrations", "conda-forge/admin-migrations", "migrate.yml", "1h", CORE),
)
DEFAULT_CONFIG = DashboardConfig(DEFAULT_BOTS)
