"""The page and status.json: same data, escaped, self-contained."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from admin_requests.status import QueueState, StatusReport, render_html, write_site
from admin_requests.status.model import (
    FailureIssue,
    Latency,
    LatencyWindow,
    Link,
    QueuedRequest,
    Requester,
    RunSummary,
    WorkflowHealth,
)
from admin_requests.status.render import duration, when
from tests.status.scenario import Scenario

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text, of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [
            a
            for t, a in self.tags
            if t == tag and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]


def parse(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    return parser


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "–"),
        (timedelta(seconds=40), "40 s"),
        (timedelta(minutes=12, seconds=29), "12 min"),
        (timedelta(hours=3), "3 h"),
        (timedelta(hours=4, minutes=12), "4 h 12 min"),
        (timedelta(days=2), "2 d"),
        (timedelta(days=2, hours=3, minutes=59), "2 d 3 h"),
        (timedelta(seconds=-5), "0 s"),
    ],
)
def test_durations_read_like_people_write_them(value: timedelta | None, text: str) -> None:
    assert duration(value) == text


def test_times_are_utc() -> None:
    assert when(datetime(2026, 3, 2, 13, 5, tzinfo=UTC)) == "2026-03-02 13:05 UTC"
    assert when(None) == "–"


def _hostile_report() -> StatusReport:
    person = Requester(None, EVIL)
    return StatusReport(
        generated_at=NOW,
        repository="conda-forge/admin-requests",
        repository_url="https://github.com/conda-forge/admin-requests",
        queue=(
            QueuedRequest(
                "requests/x y.yml",
                EVIL,
                None,
                person,
                None,
                NOW - timedelta(days=2),
                timedelta(days=2),
                QueueState.PARKED,
                attempts=1,
                last_error=EVIL,
                parked_reason=EVIL,
                issue=Link(3, "https://github.com/conda-forge/admin-requests/issues/3"),
            ),
        ),
        completed=(),
        completed_total=0,
        latency=Latency((LatencyWindow(30, 0, None, None, None),), timedelta(hours=24), 1),
        workflows=(
            WorkflowHealth(
                EVIL,
                ".github/workflows/x.yml",
                "https://example.invalid/w",
                "active",
                RunSummary(1, "push", "completed", "failure", "main", NOW, "https://e.invalid/r"),
                1,
                NOW,
                None,
                1,
            ),
        ),
        issues=(FailureIssue(3, EVIL, "https://example.invalid/i/3", "requests/x.yml", True),),
        problems=(EVIL,),
    )


def test_everything_from_users_is_escaped() -> None:
    html = render_html(_hostile_report())
    elements = parse(html)
    assert elements.find("script") == []
    assert elements.find("img") == []
    assert html.count("&lt;script&gt;") >= 6  # kind, requester, reason, error, issue, problem
    assert EVIL in "".join(elements.text)  # shown as text
    # The old Workflows table is gone (the bots table covers this suite's workflows);
    # status.json still carries them.
    assert elements.find("section", id="health") == []
    assert elements.find("table", id="health-table") == []
    [link] = [a["href"] for a in elements.find("a", **{"class": "path"})]
    assert link == "https://github.com/conda-forge/admin-requests/blob/HEAD/requests/x%20y.yml"


def test_an_empty_queue_is_all_clear(tmp_path: Path) -> None:
    report = StatusReport(
        generated_at=NOW,
        repository="o/r",
        repository_url="https://github.com/o/r",
        queue=(),
        completed=(),
        completed_total=0,
        latency=Latency((), timedelta(hours=24), 0),
        workflows=(),
        issues=(),
    )
    sizes = write_site(report, tmp_path / "site")
    html = (tmp_path / "site" / "index.html").read_text()
    assert "All clear" in html
    assert "The queue is empty" in html
    assert "No request has been completed yet." in html
    assert json.loads((tmp_path / "site" / "status.json").read_text())["summary"]["attention"] == []
    site = tmp_path / "site"
    files = {p.name: p.stat().st_size for p in site.iterdir() if p.is_file()}
    assert sizes == {**files, "badges/": (site / "badges" / "queue.json").stat().st_size}


def test_html_and_json_carry_the_same_data(
    scenario_report: StatusReport, scenario: Scenario, tmp_path: Path
) -> None:
    write_site(scenario_report, tmp_path)
    data = json.loads((tmp_path / "status.json").read_text())
    html = parse((tmp_path / "index.html").read_text())
    expected = scenario.expected

    assert {q["path"]: q["state"] for q in data["queue"]} == expected.queue_states
    rows = {a["data-request"]: a.get("class") for a in html.find("tr") if "data-request" in a}
    for path, state in expected.queue_states.items():
        assert rows[path] == f"state-{state}"
    assert {c["path"]: c["merge_to_done_seconds"] for c in data["completed"]} == {
        path: round(latency.total_seconds()) for path, latency in expected.completed.items()
    }
    assert all(path in rows for path in expected.completed)
    requesters = {
        r["path"]: f"@{r['requester']['login']}"
        if r["requester"]["login"]
        else r["requester"]["name"]
        for r in data["queue"] + data["completed"]
    }
    assert requesters == expected.requesters
    [flaky] = [q for q in data["queue"] if q["path"] == "requests/flaky.yml"]
    assert flaky["next_attempt"] == expected.retry_next_attempt.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert flaky["attempts"] == 6
    assert expected.withdrawn not in json.dumps(data)
    summary = data["summary"]
    assert (summary["parked"], summary["retrying"], summary["pending"]) == (2, 1, 1)
    counts = {a["id"]: a for a in html.find("dd") if a.get("id", "").startswith("count-")}
    assert set(counts) == {
        f"count-{k}" for k in ("queued", "parked", "retrying", "pending", "stale", "stuck-recipes")
    }
    windows = {w["days"]: w for w in data["latency"]["windows"]}
    assert windows[30]["completed"] == 5
    assert windows[30]["median_seconds"] == 18 * 60
    assert windows[365]["completed"] == 9
    text = " ".join(" ".join(html.text).split())
    for window in windows.values():
        for key in ("median_seconds", "p90_seconds", "p99_seconds"):
            assert duration(timedelta(seconds=window[key])) in text
    workflows = {w["path"]: w for w in data["workflows"]}
    assert workflows[".github/workflows/process.yml"]["failure_streak"] == 3
    assert workflows[".github/workflows/process.yml"]["last_run"]["outcome"] == "running"
    assert workflows[".github/workflows/check.yml"]["pull_request_only"] is True
    assert summary["unhealthy_workflows"] == 1
    assert [i["number"] for i in data["issues"]] == [2, 1]
    assert data["problems"] == []


def test_the_page_loads_nothing_from_elsewhere(scenario_report: StatusReport) -> None:
    html = parse(render_html(scenario_report))
    assert html.find("script") == []
    assert [a["href"] for a in html.find("link")] == ["style.css", "status.json"]
    assert html.find("img") == html.find("iframe") == html.find("object") == []
    assert html.find("meta", name="viewport") == [
        {"name": "viewport", "content": "width=device-width, initial-scale=1"}
    ]


def test_the_stylesheet_uses_no_web_fonts_or_remote_urls(
    tmp_path: Path, scenario_report: StatusReport
) -> None:
    write_site(scenario_report, tmp_path)
    css = (tmp_path / "style.css").read_text()
    assert "url(" not in css
    assert "@import" not in css
    assert "@font-face" not in css
