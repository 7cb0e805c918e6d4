"""The bar charts (run outcomes per bot, migration progress) and the page at scale."""

from __future__ import annotations

import dataclasses
import gzip
import re
from datetime import UTC, date, datetime, timedelta

from admin_requests.status import StatusReport, render_html
from admin_requests.status.charts import (
    BOT_SERIES,
    MIGRATION_SERIES,
    bot_outcomes_chart,
    migration_chart,
)
from admin_requests.status.creation import CreationQueue, CreationRecipe, CreationState
from admin_requests.status.model import (
    UNKNOWN,
    BotHealth,
    DayOutcome,
    Migration,
    QueuedRequest,
    QueueState,
)
from admin_requests.status.render import PAGE_ROWS
from tests.status.test_render import EVIL, parse

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _bot(name: str, days: list[tuple[int, int, int]]) -> BotHealth:
    start = date(2026, 3, 2) - timedelta(days=len(days) - 1)
    outcomes = tuple(
        DayOutcome(start + timedelta(days=i), s, f, o) for i, (s, f, o) in enumerate(days)
    )
    return BotHealth(
        name, "conda-forge/x", "x.yml", "https://e.invalid", None, timedelta(hours=1), None,
        None, 0, None, True, False, outcomes, 0, slug=name,
    )  # fmt: skip


def _widths(svg: str, key: str) -> list[float]:
    return [float(w) for w in re.findall(rf'class="seg seg-{key}" x="[^"]+" y="[^"]+" '
                                         r'width="([^"]+)"', svg)]  # fmt: skip


def test_each_bot_is_one_bar_split_by_outcome_with_its_figures_in_words() -> None:
    bots = [_bot("steady", [(24, 0, 0)] * 30), _bot("shaky", [(3, 1, 0)] * 29 + [(0, 0, 4)])]

    svg = str(bot_outcomes_chart(bots))

    elements = parse(svg)
    [root] = elements.find("svg")
    assert root["role"] == "img"
    assert elements.find("title", id="bots-chart-title")
    assert "succeeded (solid), failed (cross-hatched)" in "".join(elements.text)
    text = "".join(elements.text)
    assert "720 runs, 0 failed" in text
    assert "120 runs, 29 failed" in text
    # Each bar fills the plot (100 % of its own runs), split in proportion; the legend
    # adds one swatch per series.
    success, failure, other = (_widths(svg, s.key) for s in BOT_SERIES)
    assert len(success) == 3
    assert len(failure) == 2
    assert len(other) == 2
    assert abs(success[0] - (success[1] + failure[0] + other[0])) < 0.2
    assert abs(failure[0] / success[1] - 29 / 87) < 0.01
    # Told apart without colour: failures and "other" carry a pattern.
    assert 'fill="url(#bots-chart-run-failure)"' in svg
    assert 'fill="url(#bots-chart-run-other)"' in svg
    assert elements.find("pattern", id="bots-chart-run-failure")


def test_a_bot_without_runs_says_so_and_names_are_escaped() -> None:
    svg = str(bot_outcomes_chart([_bot(EVIL, [(0, 0, 0)] * 30)]))
    assert "<script>" not in svg
    assert "no runs" in svg
    assert "&lt;script&gt;" in svg


def test_each_migration_in_flight_is_one_bar_by_state() -> None:
    migrations = [
        Migration("numpy2", "regular", "", {"done": 6, "in-pr": 2, "bot-error": 2}),
        Migration("gone", "closed", "", {"done": 10}),
        Migration("unread", "regular", "", {}, error="HTTP 500"),
    ]

    svg = str(migration_chart(migrations))

    elements = parse(svg)
    text = "".join(elements.text)
    assert "80 % (8 of 10)" in text
    assert "gone" not in text
    assert "unread" not in text
    assert len(_widths(svg, "done")) == 2  # the bar and the legend
    assert len(_widths(svg, "awaiting-pr")) == 1  # the legend only
    assert {p["id"] for p in elements.find("pattern")} == {
        f"migrations-chart-{s.key}" for s in MIGRATION_SERIES if s.pattern != "solid"
    }


def test_the_page_has_both_charts_with_a_table_each(scenario_report: StatusReport) -> None:
    elements = parse(render_html(scenario_report))
    charts = {a.get("id") for a in elements.find("svg")}
    assert {"bots-chart", "migrations-chart"} <= charts
    rows = [a for a in elements.find("tr") if "data-bot-outcomes" in a]
    assert len(rows) == len(scenario_report.bots)
    assert elements.find("table", id="migrations-table")
    # The CSS bars in the migrations table are gone: the chart replaces them.
    assert elements.find("span", **{"class": "bar"}) == []


def _queued(n: int, state: QueueState) -> QueuedRequest:
    age = timedelta(minutes=n)
    return QueuedRequest(
        f"requests/{state.value}-{n:04d}.yml", "archive", 1, UNKNOWN, None, NOW - age, age,
        state, attempts=3 if state is not QueueState.PENDING else 0,
        last_error="HTTP 503" if state is not QueueState.PENDING else None,
        parked_reason="it failed 8 times in a row" if state is QueueState.PARKED else None,
    )  # fmt: skip


def _recipe(n: int, state: CreationState) -> CreationRecipe:
    return CreationRecipe(
        f"recipe-{n:03d}", f"recipe-{n:03d}", state, "why", 1, NOW, None, "error", None, None,
        None, (("repository", "created"),), ("ruleset",), f"creation-state/recipe-{n:03d}.json",
    )  # fmt: skip


def test_at_scale_the_page_lists_the_stuck_in_full_and_caps_the_rest(
    scenario_report: StatusReport,
) -> None:
    queue = tuple(
        _queued(n, QueueState.PARKED if n % 20 == 0 else QueueState.RETRYING if n % 5 == 0
                else QueueState.PENDING)
        for n in range(1000)
    )  # fmt: skip
    recipes = tuple(
        _recipe(n, CreationState.STUCK if n % 10 == 0 else CreationState.WAITING)
        for n in range(200)
    )
    report = dataclasses.replace(
        scenario_report, queue=queue, creation=CreationQueue(recipes, tracked=True)
    )

    html = render_html(report)

    elements = parse(html)
    rows = [a["data-request"] for a in elements.find("tr") if "data-request" in a]
    shown = [r for r in rows if r in {q.path for q in queue}]
    parked = [q.path for q in queue if q.state is QueueState.PARKED]
    assert set(parked) <= set(shown)
    assert len(shown) == len(parked) + PAGE_ROWS
    text = " ".join(" ".join(elements.text).split())
    assert ": 50 parked, 150 retrying, 800 pending." in text
    assert f"And {950 - PAGE_ROWS} more retrying or pending requests" in text
    recipe_rows = [a for a in elements.find("tr") if "data-recipe" in a]
    assert len(recipe_rows) == 20 + PAGE_ROWS
    assert f"And {180 - PAGE_ROWS} more waiting or in-progress recipes" in text
    assert elements.find("a", href="status.json")
    # One row per request made this page about 1 MB; now it stays small.
    assert len(html.encode()) < 250_000
    assert len(gzip.compress(html.encode())) < 30_000


def test_every_series_of_a_chart_has_its_own_pattern() -> None:
    # Readable without colour: no two series of a chart share a fill pattern.
    for series in (BOT_SERIES, MIGRATION_SERIES):
        assert len({s.pattern for s in series}) == len(series)
