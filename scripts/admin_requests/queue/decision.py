"""What the next processing run does with one request file: the rule, written once.

The queue runner follows it; ``admin-requests plan`` and the status page show it. It
reads only the file's bytes (as a digest), its queue state and the time, so all three
agree by construction:

- no state: run it now (never attempted);
- the file changed since the state was recorded: start again (attempts reset, the
  issue kept), so an edited parked or waiting request runs now;
- a maintainer asked to retry it: un-park it with a fresh attempt budget, run now;
- parked: wait for a change to the file or a retry;
- in backoff: wait until its next attempt;
- otherwise: run it now.
"""

from __future__ import annotations

import enum
from collections.abc import Set
from dataclasses import dataclass
from datetime import datetime

from admin_requests.queue.state import RequestState, format_time


class Verdict(enum.Enum):
    RUN = "run"  # attempted in this run
    WAIT = "wait"  # in backoff: not before ``Decision.not_before``
    PARKED = "parked"  # waits for a person: a change to the file or a retry


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    # The state as this run sees it: after a change restarted it or a retry un-parked
    # it; None for a request never attempted.
    state: RequestState | None
    changed: bool = False  # the file changed since its last attempt: started again
    retried: bool = False  # a maintainer asked for a retry: un-parked, fresh budget

    @property
    def runs(self) -> bool:
        return self.verdict is Verdict.RUN

    @property
    def not_before(self) -> datetime | None:
        return self.state.next_attempt if self.verdict is Verdict.WAIT and self.state else None

    @property
    def retrying(self) -> bool:
        """Whether it runs again after failed attempts (not a first or a fresh start)."""
        return self.runs and self.state is not None and self.state.attempts > 0

    def describe(self) -> str:
        """One line for people: what the next run does, and why."""
        state = self.state
        if self.verdict is Verdict.PARKED and state is not None:
            issue = f" (issue #{state.issue})" if state.issue else ""
            return f"parked{issue}: {state.parked_reason}; change the file or retry it to resume"
        if self.verdict is Verdict.WAIT and state is not None:
            return (
                f"{state.attempts} failed attempt(s); next attempt not before "
                f"{format_time(self.not_before)}"
            )
        if self.changed:
            return "next run: carried out afresh (the file changed since its last attempt)"
        if self.retried:
            return "next run: carried out (a retry was asked for)"
        if state is not None and state.attempts > 0:
            return f"next run: tried again ({state.attempts} failed attempt(s) so far)"
        return "next run: carried out (no earlier attempt)"


def decide(
    request: str,
    state: RequestState | None,
    digest: str,
    now: datetime,
    *,
    retry: Set[str] = frozenset(),
) -> Decision:
    """What the next run does with ``request`` (its content digest is ``digest``)."""
    if state is None:
        return Decision(Verdict.RUN, None)
    changed = state.content_sha256 != digest
    if changed:
        state = state.for_new_content(digest)
    retried = request in retry
    if retried:
        state = state.unparked()
    if state.parked:
        return Decision(Verdict.PARKED, state, changed, retried)
    if not state.is_due(now):
        return Decision(Verdict.WAIT, state, changed, retried)
    return Decision(Verdict.RUN, state, changed, retried)
