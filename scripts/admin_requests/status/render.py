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
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from admin_requests.queue.state import format_time
from admin_requests.status.model import (
    MIGRATION_STATES,
    MIGRATION_TITLES,
    BotHealth,
    BotState,
    LatencyWeek,
    QueueState,
    StatusReport,
)
from admin_requests.status.schema import status_schema

PAGE_TEMPLATE = "status_page.html.j2"
STYLE_TEMPLATE = "status_style.css.j2"
FILES = ("index.html", "style.css", "status.json", "status.schema.json")


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
        .render(
            r=report,
            S=QueueState,
            B=BotState,
            attention=report.attention,
            STATES=MIGRATION_STATES,
            TITLES=MIGRATION_TITLES,
            bots=sorted(report.bots, key=_bot_order),
            failed_sources=[s for s in report.sources if not s.ok],
            latency_chart=latency_chart(report.latency.weeks),
        )
    )


CHART_WIDTH, CHART_HEIGHT, CHART_LEFT, CHART_BOTTOM = 640, 220, 44, 24


def _path(points: list[tuple[float, float] | None]) -> str:
    """An SVG path through the points, broken where a point is missing (no data)."""
    parts, pen_down = [], False
    for point in points:
        if point is None:
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{point[0]:.1f} {point[1]:.1f}")
        pen_down = True
    return " ".join(parts)


def latency_chart(weeks: Sequence[LatencyWeek]) -> Markup:
    """Weekly median and 90th percentile merge-to-done as inline SVG (no script).

    The median is a solid line with round markers, the 90th percentile a dashed line
    with square ones: told apart without colour. The page puts the same figures in a
    table beside it.
    """
    hours = [w.p90.total_seconds() / 3600 for w in weeks if w.p90 is not None]
    top = max([1.0, *hours])
    top = float(math.ceil(top)) if top <= 12 else float(math.ceil(top / 6) * 6)
    plot_w = CHART_WIDTH - CHART_LEFT - 8
    plot_h = CHART_HEIGHT - CHART_BOTTOM - 8
    step = plot_w / max(len(weeks) - 1, 1)

    def point(i: int, value: timedelta | None) -> tuple[float, float] | None:
        if value is None:
            return None
        y = 8 + plot_h * (1 - min(value.total_seconds() / 3600 / top, 1.0))
        return CHART_LEFT + i * step, y

    medians = [point(i, w.median) for i, w in enumerate(weeks)]
    p90s = [point(i, w.p90) for i, w in enumerate(weeks)]
    lines = []
    for fraction in (0.0, 0.5, 1.0):
        y = 8 + plot_h * (1 - fraction)
        label = f"{top * fraction:g} h"
        lines.append(
            f'<line class="grid" x1="{CHART_LEFT}" y1="{y:.1f}" x2="{CHART_WIDTH - 8}" '
            f'y2="{y:.1f}"/><text class="axis" x="{CHART_LEFT - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{label}</text>'
        )
    for i in (0, len(weeks) - 1) if weeks else ():
        anchor = "start" if i == 0 else "end"
        lines.append(
            f'<text class="axis" x="{CHART_LEFT + i * step:.1f}" y="{CHART_HEIGHT - 6}" '
            f'text-anchor="{anchor}">{weeks[i].start.isoformat()}</text>'
        )
    marks = "".join(
        f'<circle class="median" cx="{x:.1f}" cy="{y:.1f}" r="2.5"/>'
        for x, y in (p for p in medians if p is not None)
    ) + "".join(
        f'<rect class="p90" x="{x - 2.5:.1f}" y="{y - 2.5:.1f}" width="5" height="5"/>'
        for x, y in (p for p in p90s if p is not None)
    )
    first = weeks[0].start.isoformat() if weeks else ""
    svg = (
        f'<svg class="chart" viewBox="0 0 {CHART_WIDTH} {CHART_HEIGHT}" role="img" '
        f'aria-labelledby="latency-chart-title" preserveAspectRatio="xMidYMid meet">'
        f'<title id="latency-chart-title">Merge to done per week since {first}: median '
        f"(solid line, round marks) and 90th percentile (dashed line, square marks), in "
        f"hours; the table below has the figures.</title>"
        + "".join(lines)
        + f'<path class="line-p90" d="{_path(p90s)}"/>'
        + f'<path class="line-median" d="{_path(medians)}"/>'
        + marks
        + "</svg>"
    )
    return Markup(svg)  # noqa: S704  # built here from numbers and dates only


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
