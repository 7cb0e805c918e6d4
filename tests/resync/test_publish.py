"""resync/publish.py: the rebuild commit first, then one issue kept up to date."""

from __future__ import annotations

from datetime import date

import pytest

from admin_requests.errors import TransientError
from admin_requests.resync.publish import COMMIT_MESSAGE, MARKER, TITLE, publish
from tests.fakes import FakeGitHub, Fault
from tests.fakes.wiring import services_for
from tests.resync.world import DIFF, PATCHES, gh

__all__ = ["gh"]  # the fixture


def test_a_difference_rebuilds_first_then_one_issue_is_kept_up_to_date(gh: FakeGitHub) -> None:
    services = services_for(gh, None)
    first = publish(
        DIFF, services.github, services.settings, today=date(2026, 11, 29), run_url=None
    )
    repo = gh.repo(PATCHES)
    (push,) = repo.pushes
    assert (push.message, push.after, push.workflows) == (
        COMMIT_MESSAGE,
        first.commit,
        ("conda-build.yml",),
    )
    (issue,) = gh.issues(PATCHES)
    assert (issue.number, issue.title, first.opened) == (first.issue, TITLE, True)
    assert MARKER in issue.body
    assert "libbar >=1,<2" in issue.body
    assert first.commit[:12] in issue.body
    # The call order: the commit is on the branch before the issue is written.
    writes = [c.path for c in gh.calls if c.method in ("POST", "PATCH")]
    assert writes.index(f"/repos/conda-forge/{PATCHES}/git/refs/heads/main") < writes.index(
        f"/repos/conda-forge/{PATCHES}/issues"
    )

    second = publish(
        DIFF, services.github, services.settings, today=date(2026, 12, 6), run_url="https://x/1"
    )
    assert (second.issue, second.opened) == (first.issue, False)
    assert len(gh.issues(PATCHES)) == 1  # never a second issue
    (comment,) = gh.issues(PATCHES)[0].comments
    assert "2026-12-06" in comment["body"]
    assert "[the run](https://x/1)" in comment["body"]
    assert len(repo.pushes) == 2


def test_a_failed_rebuild_leaves_no_issue_claiming_one(gh: FakeGitHub) -> None:
    gh.faults.at_rate(1.0, Fault.server_error(502), method="PATCH", path="/git/refs/")
    services = services_for(gh, None)
    with pytest.raises(TransientError):
        publish(DIFF, services.github, services.settings, today=date(2026, 11, 29), run_url=None)
    assert gh.issues(PATCHES) == []
    assert gh.repo(PATCHES).pushes == []


def test_a_diff_with_backticks_cannot_break_out_of_its_block(gh: FakeGitHub) -> None:
    services = services_for(gh, None)
    hostile = DIFF + "```\n@someone look <script>\n````\n"
    publish(hostile, services.github, services.settings, today=date(2026, 11, 29), run_url=None)
    body = gh.issues(PATCHES)[0].body
    assert "\n`````\n" in body  # a fence longer than any run of backticks inside
