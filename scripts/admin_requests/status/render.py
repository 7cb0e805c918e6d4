"""Write a StatusReport as a static site: index.html, style.css and status.json.

Plain HTML and CSS from jinja2 templates (``templates/status_page.html.j2``,
``templates/status_style.css.j2``): no JavaScript, no web fonts, nothing fetched from
elsewhere, so the page works offline and from any static host. Every value is
HTML-escaped (request files and issue titles come from users).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined

from admin_requests.queue.state import format_time
from admin_requests.status.model import QueueState, StatusReport

PAGE_TEMPLATE = "status_page.html.j2"
STYLE_TEMPLATE = "status_style.css.j2"
FILES = ("index.html", "style.css", "status.json")


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


def render_html(report: StatusReport) -> str:
    return (
        environment()
        .get_template(PAGE_TEMPLATE)
        .render(r=report, S=QueueState, attention=report.attention)
    )


def render_json(report: StatusReport) -> str:
    return json.dumps(report.to_dict(), indent=1, ensure_ascii=False) + "\n"


def write_site(report: StatusReport, output: Path) -> dict[str, int]:
    """Write the site into ``output`` (created if needed); return each file's size in bytes."""
    output.mkdir(parents=True, exist_ok=True)
    contents = {
        "index.html": render_html(report),
        "style.css": environment().get_template(STYLE_TEMPLATE).render(),
        "status.json": render_json(report),
    }
    sizes = {}
    for name, text in contents.items():
        data = text.encode("utf-8")
        (output / name).write_bytes(data)
        sizes[name] = len(data)
    return sizes
