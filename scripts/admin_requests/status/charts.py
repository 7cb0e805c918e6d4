"""The status page's charts: inline SVG built from numbers, with no script.

- ``latency_chart``: merge-to-done per week, median and 90th percentile, over a year;
- ``bot_outcomes_chart``: each bot's runs of the last 30 days, split into succeeded,
  failed and other (cancelled, skipped, still running);
- ``migration_chart``: each migration in flight, its feedstocks by state.

Each is a ``role="img"`` with a ``<title>`` that says what it shows, and the page puts
the same figures in a table next to it. Series are told apart without colour: lines by
dash and marker shape, bar segments by fill pattern, and every bar has its figures
in words above it. Colours come from the stylesheet (classes), so the dark scheme applies.
Everything written into the SVG is a number, a date or escaped text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from markupsafe import Markup, escape

from admin_requests.status.model import (
    MIGRATION_STATES,
    MIGRATION_TITLES,
    BotHealth,
    LatencyWeek,
    Migration,
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


def _svg(body: str) -> Markup:
    return Markup(body)  # noqa: S704  # built here from numbers, dates and escaped text


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
    return _svg(
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


# -- stacked bars -----------------------------------------------------------------------

# A pattern per series, drawn over its colour, so that each reads without colour too.
# (name, SVG of one 8x8 tile; its lines take the class's stroke).
PATTERNS = {
    "solid": "",
    "hatch": '<path d="M-2 2l4-4M0 8l8-8M6 10l4-4"/>',
    "cross": '<path d="M-2 2l4-4M0 8l8-8M6 10l4-4M-2 6l4 4M0 0l8 8M6 -2l4 4"/>',
    "dots": '<circle cx="2" cy="2" r="1.3"/><circle cx="6" cy="6" r="1.3"/>',
    "rows": '<path d="M0 2h8M0 6h8"/>',
    "columns": '<path d="M2 0v8M6 0v8"/>',
}

PATTERN_WORDS = {
    "solid": "solid",
    "hatch": "diagonal lines",
    "cross": "cross-hatched",
    "dots": "dotted",
    "rows": "horizontal lines",
    "columns": "vertical lines",
}


@dataclass(frozen=True)
class Series:
    key: str  # a CSS-safe name: the bar segments' class is ``seg-<key>``
    title: str  # in words, for the legend
    pattern: str  # a key of PATTERNS


@dataclass(frozen=True)
class Bar:
    label: str  # on the left
    counts: dict[str, int]  # series key -> how many
    words: str  # on the right: the figures in words


BOT_SERIES = (
    Series("run-success", "succeeded", "solid"),
    Series("run-failure", "failed", "cross"),
    Series("run-other", "cancelled, skipped or running", "dots"),
)
MIGRATION_PATTERNS = {
    "done": "solid",
    "in-pr": "hatch",
    "awaiting-pr": "dots",
    "awaiting-parents": "rows",
    "not-solvable": "columns",
    "bot-error": "cross",
}
MIGRATION_SERIES = tuple(
    Series(state, MIGRATION_TITLES[state].lower(), MIGRATION_PATTERNS[state])
    for state in MIGRATION_STATES
)
# A narrow chart (it reads at 375 px without shrinking much): each bar has its label
# and its figures on a line above it.
BARS_WIDTH, ROW, BAR_H, LEGEND_ROW, CHAR_W = 360, 38, 14, 18, 6.6
LABEL_CHARS = 30


def _short(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _legend(series: Sequence[Series], top: float) -> list[tuple[Series, float, float]]:
    """Where each swatch goes: in rows, wrapped to the chart's width."""
    placed, x, y = [], 4.0, top
    for s in series:
        width = 18 + CHAR_W * len(s.title) + 12
        if x > 4 and x + width > BARS_WIDTH:
            x, y = 4.0, y + LEGEND_ROW
        placed.append((s, x, y))
        x += width
    return placed


def stacked_bars(
    chart_id: str, title: str, series: Sequence[Series], bars: Sequence[Bar]
) -> Markup:
    """Horizontal bars, each split into its series and filled to 100 % of its own total.

    ``chart_id`` prefixes the ids of the title and the patterns (unique on the page).
    """
    plot_x, plot_w = 4, BARS_WIDTH - 8
    legend = _legend(series, 4 + len(bars) * ROW + 4)
    height = (legend[-1][2] if legend else 4 + len(bars) * ROW) + LEGEND_ROW
    defs = "".join(
        f'<pattern id="{chart_id}-{s.key}" width="8" height="8" patternUnits="userSpaceOnUse">'
        f'<g class="pat pat-{s.key}">{PATTERNS[s.pattern]}</g></pattern>'
        for s in series
        if PATTERNS[s.pattern]
    )
    parts = [
        f'<svg class="chart chart-bars" id="{chart_id}" viewBox="0 0 {BARS_WIDTH} {height:.0f}" '
        f'role="img" aria-labelledby="{chart_id}-title" preserveAspectRatio="xMinYMin meet">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f"<defs>{defs}</defs>"
    ]

    def segment(s: Series, x: float, y: float, w: float, h: float) -> str:
        box = f'x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}"'
        drawn = f'<rect class="seg seg-{s.key}" {box}/>'
        if PATTERNS[s.pattern]:
            drawn += f'<rect {box} fill="url(#{chart_id}-{s.key})"/>'
        return drawn

    for row, bar in enumerate(bars):
        top = 4 + row * ROW
        line, y = top + 12, top + 17
        parts.append(
            f'<text class="label" x="{plot_x}" y="{line}">{escape(_short(bar.label))}</text>'
        )
        parts.append(
            f'<text class="label" x="{plot_x + plot_w}" y="{line}" text-anchor="end">'
            f"{escape(bar.words)}</text>"
        )
        parts.append(
            f'<rect class="bar-frame" x="{plot_x}" y="{y}" width="{plot_w}" height="{BAR_H}"/>'
        )
        total = sum(bar.counts.get(s.key, 0) for s in series)
        x = float(plot_x)
        for s in series:
            n = bar.counts.get(s.key, 0)
            if n <= 0 or total <= 0:
                continue
            w = plot_w * n / total
            parts.append(segment(s, x, y, w, BAR_H))
            x += w
    # The legend: a swatch and the series' name, in the same patterns.
    for s, at_x, at_y in legend:
        parts.append(segment(s, at_x, at_y, 14, 12))
        parts.append(
            f'<text class="axis" x="{at_x + 18:.1f}" y="{at_y + 10:.1f}">{escape(s.title)}</text>'
        )
    parts.append("</svg>")
    return _svg("".join(parts))


def bot_outcomes_chart(bots: Sequence[BotHealth]) -> Markup:
    """Each bot's runs of the last 30 days, as shares of succeeded, failed and other."""
    bars = []
    for bot in bots:
        success = sum(d.success for d in bot.days)
        failure = sum(d.failure for d in bot.days)
        other = sum(d.other for d in bot.days)
        runs = success + failure + other
        words = f"{runs} run{'s' if runs != 1 else ''}, {failure} failed" if runs else "no runs"
        bars.append(
            Bar(
                bot.name,
                {"run-success": success, "run-failure": failure, "run-other": other},
                words,
            )
        )
    return stacked_bars(
        "bots-chart",
        "Runs of each bot in the last 30 days: the share that succeeded (solid), failed "
        "(cross-hatched) and was cancelled, skipped or still running (dotted); the "
        "table below has the figures.",
        BOT_SERIES,
        bars,
    )


def charted_migrations(migrations: Sequence[Migration]) -> list[Migration]:
    """The migrations the chart shows: in flight and read, with feedstocks."""
    return [m for m in migrations if m.kind != "closed" and m.error is None and m.total]


def migration_chart(migrations: Sequence[Migration]) -> Markup:
    """Each migration in flight: its feedstocks by state, as shares of its total."""
    bars = [
        Bar(m.name, dict(m.counts), f"{m.percentage:.0f} % ({m.done} of {m.total})")
        for m in charted_migrations(migrations)
    ]
    patterns = ", ".join(f"{s.title} ({PATTERN_WORDS[s.pattern]})" for s in MIGRATION_SERIES)
    return stacked_bars(
        "migrations-chart",
        f"Feedstocks of each migration in flight by state: {patterns}; the figure on the "
        "right is the share with their PR made. The table below has the counts.",
        MIGRATION_SERIES,
        bars,
    )
