"""Write a StatusReport as a static site: index.html, style.css, status.json with its
JSON Schema (status.schema.json), and shields.io endpoint badges under badges/: one per
bot (``badges/<slug>.json``) and one for the queue (``badges/queue.json``).

Plain HTML and CSS from jinja2 templates (``templates/status_page.html.j2``,
``templates/status_style.css.j2``): no JavaScript, no web fonts, nothing fetched from
elsewhere, so the page works offline and from any static host. Every value is
HTML-escaped (request files and issue titles come from users).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from admin_requests.creation.steps import STEP_NAMES
from admin_requests.queue.state import format_time
from admin_requests.status.charts import (
    MIGRATION_PATTERNS,
    PATTERN_WORDS,
    bot_outcomes_chart,
    charted_migrations,
    latency_chart,
    migration_chart,
)
from admin_requests.status.creation import CreationState
from admin_requests.status.model import (
    MIGRATION_STATES,
    MIGRATION_TITLES,
    BotHealth,
    BotState,
    QueueState,
    StatusReport,
)
from admin_requests.status.schema import status_schema

PAGE_TEMPLATE = "status_page.html.j2"
STYLE_TEMPLATE = "status_style.css.j2"
FILES = ("index.html", "style.css", "status.json", "status.schema.json")
# At scale the page lists what needs a person in full (parked requests, stuck recipes)
# and at most this many of the rest, oldest first; status.json has every one.
PAGE_ROWS = 25
LEADING_SPACE = re.compile(r"\n[ \t]+")


def duration(value: timedelta | None) -> str:
    """'2 d 3 h', '4 h 12 min', '12 min', '40 s'; an en dash when unknown."""
    if value is None:
        return "–"
    seconds = max(round(value.total_seconds()), 0)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{seconds} s"


def when(value: datetime | None) -> str:
    if value is None:
        return "–"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def environment() -> Environment:
    # autoescape for every template here: the names end in .j2, so extension-based
    # selection (as for the markdown templates) would leave HTML unescaped.
    env = Environment(
        loader=PackageLoader("admin_requests", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["duration"] = duration
    env.filters["when"] = when
    env.filters["iso"] = format_time
    return env


def render_html(report: StatusReport, *, rows: int = PAGE_ROWS) -> str:
    bots = sorted(report.bots, key=_bot_order)
    parked = [q for q in report.queue if q.state is QueueState.PARKED]
    others = [q for q in report.queue if q.state is not QueueState.PARKED]
    stuck = [c for c in report.creation.recipes if c.state is CreationState.STUCK]
    moving = [c for c in report.creation.recipes if c.state is not CreationState.STUCK]
    html = (
        environment()
        .get_template(PAGE_TEMPLATE)
        .render(
            r=report,
            S=QueueState,
            B=BotState,
            attention=report.attention,
            STATES=MIGRATION_STATES,
            TITLES=MIGRATION_TITLES,
            bots=bots,
            failed_sources=[s for s in report.sources if not s.ok],
            latency_chart=latency_chart(report.latency.weeks),
            bots_chart=bot_outcomes_chart(bots) if bots else "",
            charted_migrations=charted_migrations(report.migrations),
            migrations_chart=migration_chart(report.migrations),
            PATTERN_WORDS=PATTERN_WORDS,
            MIGRATION_PATTERNS=MIGRATION_PATTERNS,
            shown_queue=parked + others[:rows],
            queue_left=len(others) - min(len(others), rows),
            C=CreationState,
            CREATION_STEPS=STEP_NAMES,
            shown_recipes=stuck + moving[:rows],
            recipes_left=len(moving) - min(len(moving), rows),
        )
    )
    # The template's indentation is for people reading it; the page has no <pre>, so
    # leading whitespace never shows (a newline stays where there was one).
    return LEADING_SPACE.sub("\n", html)


def _bot_order(bot: BotHealth) -> tuple[int, str]:
    order = {BotState.FAILING: 0, BotState.UNKNOWN: 1, BotState.STALE: 2, BotState.HEALTHY: 3}
    return order[bot.state], bot.name.lower()


def render_json(report: StatusReport) -> str:
    return json.dumps(report.to_dict(), indent=1, ensure_ascii=False) + "\n"


def _json(data: object) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def badges(report: StatusReport) -> dict[str, str]:
    """badges/<slug>.json for each bot and badges/queue.json, as shields.io reads them."""
    found = {"badges/queue.json": _json(report.queue_badge())}
    for bot in report.bots:
        found[f"badges/{bot.slug}.json"] = _json(bot.badge())
    return found


def write_site(report: StatusReport, output: Path) -> dict[str, int]:
    """Write the site into ``output`` (created if needed); return each file's size in bytes
    (the badges summed under 'badges/')."""
    (output / "badges").mkdir(parents=True, exist_ok=True)
    contents = {
        "index.html": render_html(report),
        "style.css": environment().get_template(STYLE_TEMPLATE).render(),
        "status.json": render_json(report),
        "status.schema.json": _json(status_schema()),
    }
    sizes = {}
    for name, text in contents.items():
        data = text.encode("utf-8")
        (output / name).write_bytes(data)
        sizes[name] = len(data)
    sizes["badges/"] = 0
    for name, text in badges(report).items():
        data = text.encode("utf-8")
        (output / name).write_bytes(data)
        sizes["badges/"] += len(data)
    return sizes
