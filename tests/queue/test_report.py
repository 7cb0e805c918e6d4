"""The run report's renderings (queue/report.py)."""

from __future__ import annotations

from admin_requests.kinds.contract import Outcome
from admin_requests.queue.report import render_summary
from tests.fakes.clock import FakeClock
from tests.fakes.tracker import MemoryTracker
from tests.queue.support import (
    Repo,
    ScriptedKind,
    make_runner,
    things,
)


def test_the_summary_lists_every_request_and_item(
    repo: Repo, clock: FakeClock, tracker: MemoryTracker, kind: ScriptedKind
) -> None:
    repo.add_request("a.yml", things("ok", "flaky"))
    repo.add_request("b.yml", "action: fake\n")
    kind.always("flaky", Outcome.retry("HTTP 503 from [api]"))
    summary = render_summary(make_runner(repo, clock, tracker, kinds=[kind]).run())
    assert "| requests/a.yml | fake | 🔁 retry later |" in summary
    assert "requests/b.yml" in summary
    assert "parked" in summary
    assert "do ok" in summary
    assert "do flaky" in summary
    assert r"HTTP 503 from \[api\]" in summary
