"""One due, valid request while a run carries it out, chunk by chunk (dispatch.py).

The runner reads and decides every file first; each due, valid one becomes a ``Job``.
Jobs then take turns, one chunk of items each, and the recorder commits each chunk's
progress (record.py), so what a job knows is what the repository says so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from admin_requests.kinds.contract import Item, RequestKind
from admin_requests.queue.report import ItemResult
from admin_requests.queue.state import RequestState
from admin_requests.validation.checker import FileReport


@dataclass
class Job:
    """A due, valid request that this run carries out, one chunk of items at a time."""

    request: str
    kind: RequestKind[Any, Any]
    report: FileReport
    text: str  # the file as last committed (progress commits shrink it)
    digest: str  # the file's digest as last committed (progress commits change it)
    state: RequestState | None  # as the decision saw it, then as progress saved it
    stored: RequestState | None  # as it was stored when the run began
    next_index: int = 0  # items before it were attempted in this run
    results: list[ItemResult] = field(default_factory=list)

    @property
    def items(self) -> list[Item[Any]]:
        return self.report.items

    @property
    def finished(self) -> bool:
        return self.next_index >= len(self.items)

    @property
    def pending_ids(self) -> set[str]:
        """The items not done: those this run left undone, and those it has not reached."""
        return {r.item.id for r in self.results if not r.done} | {
            item.id for item in self.items[self.next_index :]
        }
