"""Carry out one request: its items, inside the credentials scoped to its access.

A request's services come from ``ServicesFactory`` as a context manager: credentials
for exactly the request's ``Access``, revoked when the ``with`` block ends. Its items
run one after the other, in a small pool for kinds whose items are independent, or
all together for kinds that write them in one commit (``batched``).
Whatever an item raises becomes a retry of that item; nothing here writes a file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any

from admin_requests.access import Access
from admin_requests.kinds.contract import Item, Outcome, RequestKind
from admin_requests.queue.checkpoints import Checkpoint
from admin_requests.queue.report import Disposition, ItemResult, RequestResult
from admin_requests.queue.state import RequestState
from admin_requests.services import Services
from admin_requests.validation.checker import FileReport
from admin_requests.validation.names import check_target_repository

log = logging.getLogger(__name__)

# Gives the services one request (or one kind's follow-up step) may use, e.g. with
# credentials scoped to its Access and revoked on exit; the label (the request file, or
# ``follow_up_label(key)``) names them in the credentials ledger.
ServicesFactory = Callable[[Access, str], AbstractContextManager[Services]]
# Why the run must stop now (it lost its lease), or None while it may go on.
StopReason = Callable[[], str | None]

ACCESS_FAILED = (
    "could not get the access this request needs ({error}); it is retried automatically."
)
NO_SERVICES = (
    "this run has no services (no GITHUB_TOKEN), so nothing could be carried out; it is "
    "retried automatically."
)


class RequestExecutor:
    """Carries out the items of one valid request file at a time."""

    def __init__(
        self,
        *,
        services: Services | None,
        scope_for: ServicesFactory,
        max_parallel_items: int,
        stop_reason: StopReason,
        checkpoint: Checkpoint,
    ) -> None:
        self.services = services
        self.scope_for = scope_for
        self.max_parallel_items = max_parallel_items
        self.stop_reason = stop_reason
        self.checkpoint = checkpoint

    def execute(self, kind: RequestKind[Any, Any], report: FileReport) -> list[ItemResult]:
        """Every item's outcome, in the file's order."""
        if self.services is None:
            # Only a dry run may go without services (no GITHUB_TOKEN): nothing can be
            # carried out, and the file waits for a run that has them.
            return [ItemResult(item, Outcome.retry(NO_SERVICES)) for item in report.items]
        stage = "access"
        results: list[ItemResult] = []
        try:
            access = kind.access(report.model, self.services)
            with self.scope_for(access, report.path) as services:
                stage = "items"
                results = self._attempt_all(kind, report.items, services)
                stage = "release"
        except Exception as exc:
            if stage == "access":
                log.exception("cannot prepare the services for %s", report.path)
                detail = ACCESS_FAILED.format(error=type(exc).__name__)
                return [ItemResult(item, Outcome.retry(detail)) for item in report.items]
            if stage == "items":
                raise  # the runner's own failure: the dispatcher reports the file
            # Revoking the request's credentials failed; they expire anyway.
            log.exception("releasing the services of %s failed", report.path)
        return results

    def _attempt_all(
        self, kind: RequestKind[Any, Any], items: list[Item[Any]], services: Services
    ) -> list[ItemResult]:
        if kind.batched:
            stopped = self.stop_reason()
            if stopped is not None:
                return [ItemResult(i, Outcome.retry(f"not attempted: {stopped}")) for i in items]
            outcomes = execute_batch(kind, items, services)
            self.checkpoint("items done")
            return [ItemResult(i, o) for i, o in zip(items, outcomes, strict=True)]
        workers = min(kind.parallel_items, self.max_parallel_items, len(items))

        def attempt(item: Item[Any]) -> ItemResult:
            stopped = self.stop_reason()
            if stopped is not None:
                return ItemResult(item, Outcome.retry(f"not attempted: {stopped}"))
            outcome = execute_item(kind, item, services)
            self.checkpoint("item done")
            return ItemResult(item, outcome)

        if workers <= 1:
            return [attempt(item) for item in items]
        # Independent items (labels on anaconda.org) in a small pool; results keep the
        # file's order, so the write-back is the same as one by one.
        with ThreadPoolExecutor(workers, thread_name_prefix=kind.action) as pool:
            return list(pool.map(attempt, items))

    def dry_run(
        self,
        request: str,
        kind: RequestKind[Any, Any],
        report: FileReport,
        state: RequestState | None,
    ) -> RequestResult:
        """What a dry run says about a due, valid file: its items and read-only checks."""
        result = RequestResult(
            request,
            Disposition.WOULD_RUN,
            kind.action,
            pending=[(item.description, "would be carried out now") for item in report.items],
            state=state,
            issue=state.issue if state else None,
        )
        if self.services is None:
            result.notes.append("online read-only checks skipped: no services configured")
            return result
        try:
            problems = kind.preflight(report.model, self.services)
        except Exception as exc:
            log.exception("preflight of %s raised", request)
            result.notes.append(f"the read-only checks failed ({type(exc).__name__})")
        else:
            result.problems = [p.format_text() for p in problems]
        return result


def protected_target(
    kind: RequestKind[Any, Any], item: Item[Any], services: Services
) -> str | None:
    """Why ``item`` must not run: it targets a protected repository (or None)."""
    for repository in kind.target_repositories(item):
        protected = services.settings.protected_repositories
        refusal = check_target_repository(repository, repository, protected)
        if refusal is not None:
            return refusal
    return None


def execute_item(kind: RequestKind[Any, Any], item: Item[Any], services: Services) -> Outcome:
    """One item's outcome; whatever the kind raises or returns instead is a retry.

    An item that targets a protected repository fails without reaching the kind: the
    checker refuses such a file, and this holds even when the checker was given another
    list (the pull-request check runs with the default configuration) or was bypassed.
    """
    refusal = protected_target(kind, item, services)
    if refusal is not None:
        log.error("refusing %s: %s", item.id, refusal)
        return Outcome.failed(f"not done: {refusal}")
    try:
        outcome = kind.execute(item, services)
    except Exception as exc:
        # The traceback goes to the job log only: exception text may quote URLs or
        # responses that do not belong in a public issue.
        log.exception("executing %s raised", item.id)
        return unexpected_error(exc)
    if not isinstance(outcome, Outcome):
        log.error("%s returned %r instead of an Outcome", item.id, outcome)
        return Outcome.retry(NO_OUTCOME)
    return outcome


NO_OUTCOME = "the request kind returned no outcome (a bug); retrying."


def unexpected_error(exc: Exception) -> Outcome:
    """What the requester sees of an exception: its type only (see execute_item)."""
    return Outcome.retry(
        f"an unexpected error ({type(exc).__name__}) happened while doing this; it "
        "is retried automatically, and core is told if it keeps failing."
    )


def execute_batch(
    kind: RequestKind[Any, Any], items: list[Item[Any]], services: Services
) -> list[Outcome]:
    """``execute_item`` for a batched kind: one call for the items, the same guarantees.

    Items that target a protected repository fail without reaching the kind; whatever
    the kind raises, or an answer that is not one Outcome per item, is a retry of all.
    """
    outcomes: dict[str, Outcome] = {}
    allowed: list[Item[Any]] = []
    for item in items:
        refusal = protected_target(kind, item, services)
        if refusal is None:
            allowed.append(item)
        else:
            log.error("refusing %s: %s", item.id, refusal)
            outcomes[item.id] = Outcome.failed(f"not done: {refusal}")
    if allowed:
        try:
            answered = kind.execute_batch(allowed, services)
        except Exception as exc:
            log.exception("executing %d items of %s raised", len(allowed), kind.action)
            answered = [unexpected_error(exc)] * len(allowed)
        if len(answered) != len(allowed) or not all(isinstance(o, Outcome) for o in answered):
            log.error("%s answered %r for %d items", kind.action, answered, len(allowed))
            answered = [Outcome.retry(NO_OUTCOME)] * len(allowed)
        outcomes.update({item.id: o for item, o in zip(allowed, answered, strict=True)})
    return [outcomes[item.id] for item in items]
