"""What a processing run did, file by file: the run report and its two renderings.

``render_summary`` is the markdown job summary (a template); ``format_text`` the plain
account for the terminal and the job log.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from admin_requests.actions_output import render
from admin_requests.kinds.contract import Item, Outcome, OutcomeStatus
from admin_requests.queue.state import RequestState
from admin_requests.queue.state import format_time as iso


class Disposition(enum.Enum):
    COMPLETED = "completed"  # every item done; the file is removed
    RETRY_LATER = "retry later"  # items left; tried again after a backoff
    PARKED = "parked"  # parked in this run; an issue tells the requester
    STILL_PARKED = "still parked"  # parked earlier; waits for a change or a retry
    WAITING = "waiting"  # in backoff; not attempted in this run
    UNFINISHED = "unfinished"  # the run stopped half-way (its time budget); goes on next run
    WOULD_RUN = "would run"  # dry run: would be attempted now
    ERROR = "error"  # the runner itself failed on this file (see the log)


@dataclass(frozen=True)
class ItemResult:
    item: Item[Any]
    outcome: Outcome

    @property
    def done(self) -> bool:
        return self.outcome.status is OutcomeStatus.DONE


@dataclass
class RequestResult:
    request: str
    disposition: Disposition
    action: str | None = None
    items: list[ItemResult] = field(default_factory=list)
    # Items not attempted this run (waiting, parked, dry run): (description or id, why).
    pending: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    state: RequestState | None = None
    issue: int | None = None
    committed: bool = False


@dataclass
class RunReport:
    now: datetime
    dry_run: bool
    results: list[RequestResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    commits: int = 0
    # Kinds whose after_run failed: their items are done, but the follow-up is not.
    failed_follow_ups: list[str] = field(default_factory=list)
    # Why the run stopped before the end of the queue (it lost the run lease), if it did.
    stopped: str | None = None
    # The run's time budget was spent with requests unfinished (they go on next run):
    # planned, so not a failure of the run.
    out_of_time: bool = False

    @property
    def needs_attention(self) -> bool:
        """Whether core should look at the job (the workflow run is marked failed)."""
        return (
            bool(self.failed_follow_ups)
            or self.count(Disposition.ERROR) > 0
            or self.stopped is not None
        )

    def count(self, disposition: Disposition) -> int:
        return sum(result.disposition is disposition for result in self.results)


# Commit messages list at most this many items one per line, then count the others:
# the job summary and the state file say what each of them is.
MESSAGE_MAX_ITEMS = 40


def item_lines(results: Sequence[ItemResult], limit: int = MESSAGE_MAX_ITEMS) -> str:
    """One line per item and its outcome (commit messages list them), the first ``limit``
    of them and then a count of the others by outcome."""
    lines = "".join(
        f"- {r.outcome.status.value}: {r.item.description}: {r.outcome.detail}\n"
        for r in results[:limit]
    )
    others = results[limit:]
    if not others:
        return lines
    counts = Counter(r.outcome.status.value for r in others)
    by_status = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    return lines + f"- ... and {len(others)} more ({by_status})\n"


SUMMARY_MAX_ITEMS = 50
DISPOSITION_ICONS = {
    Disposition.COMPLETED.name: "✅",
    Disposition.RETRY_LATER.name: "🔁",
    Disposition.PARKED.name: "🅿️",
    Disposition.STILL_PARKED.name: "🅿️",
    Disposition.WAITING.name: "⏳",
    Disposition.UNFINISHED.name: "⏩",
    Disposition.WOULD_RUN.name: "▶️",
    Disposition.ERROR.name: "💥",
}
STATUS_ICONS = {
    OutcomeStatus.DONE.name: "✅",
    OutcomeStatus.RETRY.name: "🔁",
    OutcomeStatus.FAILED.name: "❌",
}


def render_summary(report: RunReport) -> str:
    """The markdown job summary: every request and item with its outcome."""
    return render(
        "run_summary.md.j2",
        report=report,
        now=iso(report.now),
        D=Disposition,
        ICON=DISPOSITION_ICONS,
        STATUS_ICON=STATUS_ICONS,
        max_items=SUMMARY_MAX_ITEMS,
    )


def format_text(report: RunReport) -> str:
    """A plain-text account for the terminal and the job log."""
    lines = []
    prefix = "[dry run] " if report.dry_run else ""
    for r in report.results:
        issue = f" (issue #{r.issue})" if r.issue else ""
        lines.append(f"{prefix}{r.request}: {r.disposition.value}{issue}")
        lines += [f"  ! {problem}" for problem in r.problems]
        for ir in r.items:
            lines.append(
                f"  - {ir.outcome.status.value}: {ir.item.description}: {ir.outcome.detail}"
            )
        lines += [f"  - {what}: {why}" for what, why in r.pending]
        lines += [f"  note: {note}" for note in r.notes]
    lines += [f"{prefix}{note}" for note in report.notes]
    lines.append(
        f"{prefix}{len(report.results)} request(s): {report.count(Disposition.COMPLETED)} "
        f"completed, {report.count(Disposition.RETRY_LATER)} to retry later, "
        f"{report.count(Disposition.PARKED)} parked now, "
        f"{report.count(Disposition.UNFINISHED)} unfinished; {report.commits} commit(s)."
    )
    return "\n".join(lines)
