"""The status page in a real browser: headless Chromium renders the page made from the
scenario (a queue and history made by the real queue runner against FakeGitHub), and
the tests read what it shows and measure what a browser can tell about accessibility:
no horizontal scrolling at phone width, text contrast (WCAG AA) in the light and dark
schemes, landmarks, headings, table headers, nothing loaded from elsewhere.

Screenshots and the rendered DOM are kept in ``test-artifacts/status/`` (git-ignored).
Chromium is Debian's package, which ``python3 dev.py test`` installs when it can; when
it cannot, these tests are skipped with the reason, except under CI, where they fail.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from admin_requests.status import StatusReport, write_site
from tests.status.browser import Browser, Page, find_chromium
from tests.status.scenario import Scenario

# One worker runs this module under pytest-xdist: one Chromium, and test-artifacts/status/
# is rewritten by the module's site fixture.
pytestmark = pytest.mark.xdist_group("status_browser")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "status"
PHONE = {"width": 375, "height": 812, "mobile": True}
DESKTOP = {"width": 1280, "height": 900, "mobile": False}

# What the browser measures, as one JSON value (see the comments in the file).
MEASURE = (Path(__file__).parent / "measure.js").read_text()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    executable = find_chromium()
    if executable is None:
        reason = (
            "chromium is not installed: 'python3 dev.py test' installs Debian's chromium "
            "package when it runs as root or with passwordless sudo and apt-get is available"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; under CI the browser tests must run")
        pytest.skip(reason)
    browser = Browser(executable)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="module")
def site(
    scenario_report: StatusReport, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, StatusReport]:
    report = scenario_report
    output = tmp_path_factory.mktemp("site")
    write_site(report, output)
    kept = ARTIFACTS / "site"
    shutil.rmtree(kept, ignore_errors=True)
    shutil.copytree(output, kept)
    return output, report


def _measure(page: Page, viewport: int) -> dict[str, Any]:
    measured: dict[str, Any] = page.evaluate(f"({MEASURE})({viewport})")
    return measured


def test_phone_shows_the_queue_states_latency_and_health(
    chromium: Browser, site: tuple[Path, StatusReport], scenario: Scenario
) -> None:
    output, _ = site
    with chromium.page((output / "index.html").as_uri(), **PHONE) as page:
        page.screenshot(ARTIFACTS / "phone-375.png")
        page.screenshot(ARTIFACTS / "phone-375-full.png", full_page=True)
        (ARTIFACTS / "phone-375.html").write_text(page.dom())
        m = _measure(page, 375)

    assert m["innerWidth"] == 375, "the phone viewport was not emulated"
    assert m["stylesheetsLoaded"] == 1
    # The page as a core member reads it.
    assert m["verdict"].startswith(
        "⚠ Needs attention: 2 open incidents; 2 parked requests; 2 requests older than 24 h"
    )
    assert "failing: process requests" in m["verdict"]
    assert "stale: admin migrations" in m["verdict"]
    assert m["counts"] == {
        "count-queued": "4",
        "count-parked": "2",
        "count-retrying": "1",
        "count-pending": "1",
        "count-stale": "2",
        "count-stuck-recipes": "2",
    }
    rows = {key: row["text"] for key, row in m["rows"].items()}
    cells = {key: row["cells"] for key, row in m["rows"].items()}
    typo = rows["queue-table requests/typo.yml"]
    assert "archve" in typo
    assert "@typist" in typo
    assert "Parked" in typo
    assert "#1" in typo
    assert "unknown action 'archve'" in typo
    gone = rows["queue-table requests/gone.yml"]
    assert "Parked" in gone
    assert "#2" in gone
    assert "no repository 'gone-feedstock'" in gone
    flaky = rows["queue-table requests/flaky.yml"]
    assert "Retrying" in flaky
    assert "Attempt 6 failed" in flaky
    assert "2026-03-02 15:45 UTC" in flaky  # the next attempt
    new = rows["queue-table requests/new.yml"]
    assert "Pending" in new
    assert "@newbie" in new
    assert "20 min" in new
    assert cells["latency-table window 30"] == {
        "name": "Last 30 days",
        "Completed": "5",
        "Median": "18 min",
        "90th percentile": "1 h 48 min",
        "99th percentile": "2 h 25 min",
    }
    assert cells["latency-table window 365"]["Completed"] == "9"
    assert cells["latency-table window 365"]["Median"] == "25 min"
    zeta = rows["completed-table requests/archive-zeta.yml"]
    assert "Zed Branch" in zeta
    assert "18 min" in zeta
    # The old Workflows table is gone: the bots table shows this suite's workflows.
    assert not any(key.startswith("health-table") for key in rows)
    assert "health" not in m["sections"]
    assert "creation" in m["sections"]
    # Feedstock creation: stuck recipes with why and their issue, then the others.
    stuck = cells["creation-table stuck-recipe"]
    assert stuck["State"] == "■ Stuck"
    assert "a permanent failure" in stuck["Why"]
    assert "Issue #41" in stuck["Why"]
    assert "conda-smithy could not render the recipe" in stuck["Why"]
    assert cells["creation-table flaky-ci"]["State"] == "↻ Waiting"
    assert cells["creation-table flaky-ci"]["Steps done"] == "3 of 7 next: ci"
    assert cells["creation-table crashed"]["State"] == "… In progress"
    assert any("Request requests/gone.yml needs attention" in i for i in m["issues"])
    # State is written in words, never only by colour or icon.
    assert {"Parked", "Retrying", "Pending", "Success"} <= {
        b.split(" ", 1)[-1] for b in m["badges"]
    }
    assert scenario.expected.withdrawn not in str(rows)


def test_phone_layout_is_accessible(chromium: Browser, site: tuple[Path, StatusReport]) -> None:
    output, _ = site
    with chromium.page((output / "index.html").as_uri(), **PHONE) as page:
        m = _measure(page, 375)
    assert m["wide"] == [], "wider than a 375 px phone"
    assert m["scrollWidth"] == m["innerWidth"] == 375, "horizontal scrolling at 375 px"
    assert m["viewport"] == "width=device-width, initial-scale=1"
    assert m["lang"] == "en"
    assert m["textElements"] > 50
    assert m["lowContrast"] == [], "text below WCAG AA contrast"
    assert m["landmarks"] == {"banner": 1, "main": 1, "nav": ["Sections"], "contentinfo": 1}
    levels = [h["level"] for h in m["headings"]]
    assert levels[0] == 1
    assert levels.count(1) == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), m["headings"]
    for table in m["tables"]:
        assert table["caption"], table
        assert set(table["colHeaders"]) == {"col"}, table
        assert set(table["rowHeaders"]) == {"row"}
        assert len(table["rowHeaders"]) == table["rows"]
    assert m["firstFocusable"] == "#main"
    assert m["skipTarget"]
    # Works offline: no script, and nothing loaded but the page's own stylesheet.
    assert m["scripts"] == 0
    assert all(url.startswith("file://") for url in m["resources"]), m["resources"]


def test_dark_scheme_and_desktop_keep_contrast_and_fit(
    chromium: Browser, site: tuple[Path, StatusReport]
) -> None:
    output, _ = site
    url = (output / "index.html").as_uri()
    with chromium.page(url, **PHONE, dark=True) as page:
        page.screenshot(ARTIFACTS / "phone-375-dark.png")
        dark = _measure(page, 375)
    with chromium.page(url, **DESKTOP) as page:
        page.screenshot(ARTIFACTS / "desktop-1280.png")
        desktop = _measure(page, 1280)
    assert dark["lowContrast"] == [], "dark scheme text below WCAG AA contrast"
    assert dark["scrollWidth"] == dark["innerWidth"] == 375
    assert desktop["innerWidth"] == 1280
    assert desktop["lowContrast"] == []
    assert desktop["wide"] == []
    assert desktop["scrollWidth"] == desktop["innerWidth"]


def test_screenshots_are_real_pngs(chromium: Browser, site: tuple[Path, StatusReport]) -> None:
    output, _ = site
    with chromium.page((output / "index.html").as_uri(), **PHONE) as page:
        data = page.screenshot(ARTIFACTS / "phone-375.png")
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (750, 1624)  # 375 x 812 CSS pixels at device scale 2


def test_phone_shows_incidents_first_then_bots_and_migrations(
    chromium: Browser, site: tuple[Path, StatusReport]
) -> None:
    output, report = site
    with chromium.page((output / "index.html").as_uri(), **PHONE) as page:
        m = _measure(page, 375)
    assert m["sections"][:4] == ["incidents", "summary", "bots", "migrations"]
    assert m["incidents"][0].startswith("⚠ Major outage Azure pipelines are not starting (#1)")
    assert "Microsoft confirmed the outage" in m["incidents"][0]
    assert m["incidents"][1].startswith("⚠ Maintenance anaconda.org maintenance window")
    rows = {key: row["cells"] for key, row in m["rows"].items()}
    slugs = {b.name: b.slug for b in report.bots}
    autotick = rows[f"bots-table {slugs['autotick bot']}"]
    assert autotick["State"] == "✓ Healthy"
    assert autotick["name"].startswith("autotick bot regro/cf-scripts · bot-bot.yml · every 1 d")
    assert "tell @regro/auto-tick-triage" in autotick["name"]
    # The strip in words, for anyone who cannot see its colours or symbols.
    assert "2026-02-18: 1 failed" in autotick["Last 30 days"]
    assert "2026-03-01: 1 succeeded" in autotick["Last 30 days"]
    stale = rows[f"bots-table {slugs['admin migrations']}"]
    assert stale["State"] == "⏸ Stale"
    failing = rows[f"bots-table {slugs['process requests']}"]
    assert failing["State"] == "✗ Failing"
    assert failing["Failure streak"].startswith("3 failed runs")
    urdfdom = rows["migrations-table urdfdom51"]
    assert urdfdom["PRs made"] == "6 of 14 (43 %)"
    assert (urdfdom["Done"], urdfdom["In PR"], urdfdom["Awaiting parents"]) == ("4", "2", "8")
    assert rows["migrations-table occt793"]["Not solvable"] == "1"
    assert rows["migrations-table cuda129"]["PRs made"] == "closed"


AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
# What axe reports, kept small: each violated rule and the elements it found.
AXE_RUN = """
axe.run(document, {resultTypes: ['violations']}).then((r) => ({
  version: axe.version,
  rules: r.passes.length + r.violations.length + r.incomplete.length,
  violations: r.violations.map((v) => ({
    id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5),
  })),
}))
"""


@pytest.mark.parametrize(
    ("viewport", "dark"),
    [(PHONE, False), (PHONE, True), (DESKTOP, False), (DESKTOP, True)],
    ids=["phone-light", "phone-dark", "desktop-light", "desktop-dark"],
)
def test_axe_core_finds_no_violations(
    chromium: Browser, site: tuple[Path, StatusReport], viewport: dict[str, Any], dark: bool
) -> None:
    source = AXE.read_bytes()
    assert hashlib.sha256(source).hexdigest() == AXE_SHA256, "axe.min.js is not the vendored one"
    output, _ = site
    with chromium.page((output / "index.html").as_uri(), **viewport, dark=dark) as page:
        page.evaluate(source.decode("utf-8") + ";0")  # defines window.axe in the page only
        result = page.evaluate(AXE_RUN)
    assert result["version"] == "4.14.1"
    assert result["rules"] > 20  # axe really ran its rules
    assert result["violations"] == []


def test_axe_core_would_see_a_planted_violation(
    chromium: Browser, site: tuple[Path, StatusReport]
) -> None:
    output, _ = site
    with chromium.page((output / "index.html").as_uri(), **PHONE) as page:
        page.evaluate(AXE.read_text(encoding="utf-8") + ";0")
        page.evaluate(
            "document.querySelector('#incidents').insertAdjacentHTML('beforeend',"
            ' \'<img src="data:," width="10" height="10">'
            '<p style="color:#bbb;background:#fff">faint</p>\');0'
        )
        result = page.evaluate(AXE_RUN)
    assert {v["id"] for v in result["violations"]} >= {"image-alt", "color-contrast"}
