"""The organisation's part of the page and of the API: status.json against its JSON
Schema, the shields.io badges, and the HTML of bots, migrations, incidents and sources."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema

from admin_requests.status import StatusReport, render_html, write_site
from admin_requests.status.model import (
    BotState,
    Incident,
    Migration,
    SourceStatus,
)
from admin_requests.status.schema import BADGE
from tests.status.test_render import EVIL, parse

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_one_badge_per_bot_and_one_for_the_queue(
    scenario_report: StatusReport, tmp_path: Path
) -> None:
    write_site(scenario_report, tmp_path)
    badges = {p.name: json.loads(p.read_text()) for p in (tmp_path / "badges").iterdir()}
    assert set(badges) == {"queue.json"} | {f"{b.slug}.json" for b in scenario_report.bots}
    validator = jsonschema.Draft202012Validator(BADGE)
    for badge in badges.values():
        validator.validate(badge)
    assert badges["queue.json"] == {
        "schemaVersion": 1,
        "label": "admin requests",
        "message": "4 queued, 2 parked",
        "color": "critical",
    }
    messages = {b["label"]: b["message"] for b in badges.values()}
    assert messages["process requests"] == "failing (3 in a row)"
    assert messages["admin migrations"] == "stale"
    assert messages["autotick bot"] == "passing"


def test_incidents_come_first_and_the_verdict_names_them(scenario_report: StatusReport) -> None:
    html = render_html(scenario_report)
    sections = [a["id"] for a in parse(html).find("section")]
    assert sections[:3] == ["incidents", "summary", "bots"]
    assert scenario_report.attention[0] == "2 open incidents"
    assert "stale: admin migrations" in scenario_report.attention
    assert "failing: process requests" in scenario_report.attention
    rows = [a["data-bot"] for a in parse(html).find("tr") if "data-bot" in a]
    # Failing first, then stale, then healthy by name.
    states = {b.slug: b.state for b in scenario_report.bots}
    assert [states[r] for r in rows] == [
        BotState.FAILING,
        BotState.STALE,
        BotState.HEALTHY,
        BotState.HEALTHY,
    ]
    assert html.count('class="day ') == 4 * 30


def test_hostile_incident_and_migration_text_is_escaped(scenario_report: StatusReport) -> None:
    report = dataclasses.replace(
        scenario_report,
        incidents=(Incident(9, EVIL, "https://e.invalid/9", EVIL, NOW, NOW, EVIL, NOW),),
        migrations=(Migration(EVIL, "regular", EVIL, {"done": 1}, (), "https://e.invalid"),),
        sources=(SourceStatus(EVIL, False, EVIL, NOW, None),),
    )
    html = render_html(report)
    elements = parse(html)
    assert elements.find("script") == []
    assert elements.find("img") == []
    assert html.count("&lt;script&gt;") >= 5


def test_failed_sources_are_listed_with_since_when(scenario_report: StatusReport) -> None:
    since = NOW - timedelta(hours=3)
    report = dataclasses.replace(
        scenario_report,
        sources=(
            SourceStatus(
                "migrations (regro/cf-graph-countyfair)",
                False,
                "not JSON",
                since,
                NOW - timedelta(hours=4),
            ),
            SourceStatus("incidents (conda-forge/status)", True, last_ok=NOW),
        ),
    )
    html = render_html(report)
    [item] = parse(html).find("li", data_source="migrations (regro/cf-graph-countyfair)")
    assert item
    text = " ".join(" ".join(parse(html).text).split())
    assert "migrations (regro/cf-graph-countyfair) failing since 2026-03-02 09:00 UTC" in text
    assert "last read 2026-03-02 08:00 UTC" in text
    assert "1 data source problem(s)" in report.attention[-1]


def test_weekly_latency_over_a_year(scenario_report: StatusReport) -> None:
    weeks = scenario_report.latency.weeks
    assert len(weeks) == 52
    assert all(w.start.weekday() == 0 for w in weeks)
    assert weeks[-1].start == datetime(2026, 3, 2, tzinfo=UTC).date()  # NOW is a Monday
    # The scenario's completions within the year, each in its own week.
    assert sum(w.count for w in weeks) == 9  # the oldest, archive-alpha, 300 days ago
    busy = [w for w in weeks if w.count]
    assert all(w.median is not None and w.p90 is not None for w in busy)
    assert all(w.median is None for w in weeks if not w.count)


def test_the_latency_chart_is_inline_svg_with_a_table_beside_it(
    scenario_report: StatusReport,
) -> None:
    html = render_html(scenario_report)
    elements = parse(html)
    [svg] = elements.find("svg", **{"aria-labelledby": "latency-chart-title"})
    assert svg["role"] == "img"
    assert len(elements.find("title", id="latency-chart-title")) == 1
    paths = [a for t, a in elements.tags if t == "path" and a.get("class", "").startswith("line")]
    assert [p["class"] for p in paths] == ["line-p90", "line-median"]
    # Weeks without completions break the line instead of joining across them.
    counts = [w.count for w in scenario_report.latency.weeks]
    busy = sum(1 for c in counts if c)
    stretches = sum(1 for i, c in enumerate(counts) if c and (i == 0 or not counts[i - 1]))
    assert stretches < busy  # the scenario has neighbouring busy weeks and lone ones
    assert paths[1]["d"].count("M") == stretches
    assert paths[1]["d"].count("L") == busy - stretches
    rows = [a for a in elements.find("tr") if "data-week" in a]
    assert len(rows) == 52
    assert html.count('class="median"') == busy
    assert html.count('class="p90"') == busy
