"""Carry out one request's items (or one chunk of them) inside credentials scoped to it.

A request's services come from ``ServicesFactory`` as a context manager: credentials
for exactly the request's ``Access``, revoked when the ``with`` block ends. Its items
run one after the other, in a small pool for kinds whose items are independent, or
all together for kinds that write them in one commit (``batched``).
Whatever an item raises becomes a retry of that item, except a 401: the run's own
token was unknown or expired, so the item is tried once more with fresh credentials.
When the credentials near their end, the items not started yet get fresh ones too.
Nothing here writes a file.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any

from admin_requests.access import Access
from admin_requests.errors import AccessDeniedError
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
# Our own credentials were refused twice (401), with a fresh mint in between.
CREDENTIALS_REFUSED = (
    "the credentials this run minted for it were refused (401) even when fresh; it is "
    "retried automatically, and core looks at the job log if it keeps happening."
)
CREDENTIALS_SHORT = (
    "the credentials minted for it were about to expire before it could start; it is "
    "retried automatically."
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

    def execute(
        self,
        kind: RequestKind[Any, Any],
        report: FileReport,
        items: Sequence[Item[Any]] | None = None,
    ) -> list[ItemResult]:
        """The outcome of each of ``items`` (all the file's by default), in their order.

        The items run inside the request's scope (its credentials). When those are near
        their end (``Services.credentials_expiring``), the items not started yet get a
        fresh scope; an item refused because our own credentials were not valid any more
        (401) is tried once more in a fresh scope, and is never the requester's failure.
        """
        items = list(report.items if items is None else items)
        if self.services is None:
            # Only a dry run may go without services (no GITHUB_TOKEN): nothing can be
            # carried out, and the file waits for a run that has them.
            return [ItemResult(item, Outcome.retry(NO_SERVICES)) for item in items]
        try:
            access = kind.access(report.model, self.services)
        except Exception as exc:
            return self._access_failed(report, items, exc)
        outcomes: dict[int, Outcome] = {}
        todo = list(range(len(items)))
        refused_once: set[int] = set()
        while todo:
            attempts = self._in_scope(kind, report, access, [items[i] for i in todo])
            if isinstance(attempts, str):  # no scope could be opened: why
                return self._access_failed(report, items, attempts, outcomes)
            again = []
            progress = False
            for index, attempt in zip(todo, attempts, strict=True):
                if attempt is _DEFERRED:
                    again.append(index)
                elif attempt is _REFUSED:
                    if index in refused_once:
                        outcomes[index] = Outcome.retry(CREDENTIALS_REFUSED)
                    else:
                        refused_once.add(index)
                        again.append(index)
                        progress = True
                else:
                    assert isinstance(attempt, Outcome)
                    outcomes[index] = attempt
                    progress = True
            if again and not progress:
                # A fresh scope was already near its end before any item started.
                for index in again:
                    outcomes[index] = Outcome.retry(CREDENTIALS_SHORT)
                again = []
            if again:
                log.info("%s: %d item(s) go on with fresh credentials", report.path, len(again))
            todo = again
        return [ItemResult(item, outcomes[i]) for i, item in enumerate(items)]

    def _access_failed(
        self,
        report: FileReport,
        items: list[Item[Any]],
        error: Exception | str,
        outcomes: dict[int, Outcome] | None = None,
    ) -> list[ItemResult]:
        """The items without an outcome yet are retried: their access could not be had."""
        if isinstance(error, Exception):
            log.exception("cannot prepare the services for %s", report.path)
        name = error if isinstance(error, str) else type(error).__name__
        detail = ACCESS_FAILED.format(error=name)
        known = outcomes or {}
        return [
            ItemResult(item, known.get(i) or Outcome.retry(detail)) for i, item in enumerate(items)
        ]

    def _in_scope(
        self,
        kind: RequestKind[Any, Any],
        report: FileReport,
        access: Access,
        items: list[Item[Any]],
    ) -> list[Attempt] | str:
        """``items`` attempted in one scope of the request's credentials; the error's name
        when the scope could not be opened (the items are then not attempted)."""
        stage = "access"
        attempts: list[Attempt] = []
        try:
            with self.scope_for(access, report.path) as services:
                stage = "items"
                attempts = self._attempt_all(kind, items, services)
                stage = "release"
        except Exception as exc:
            if stage == "access":
                log.exception("cannot prepare the services for %s", report.path)
                return type(exc).__name__
            if stage == "items":
                raise  # the runner's own failure: the dispatcher reports the file
            # Revoking the request's credentials failed; they expire anyway.
            log.exception("releasing the services of %s failed", report.path)
        return attempts

    def _attempt_all(
        self, kind: RequestKind[Any, Any], items: list[Item[Any]], services: Services
    ) -> list[Attempt]:
        workers = min(kind.parallel_items, self.max_parallel_items, len(items))
        # Services without credentials of their own (the run's, a test's stand-in) never
        # expire.
        expiring: Callable[[], bool] = getattr(services, "credentials_expiring", _never)

        # Set once an item is refused with 401: these credentials are dead, so the items
        # not started yet wait for fresh ones instead of being refused too.
        refused = threading.Event()

        if kind.batched:
            return self._attempt_batch(kind, items, services, expiring)

        def attempt(item: Item[Any]) -> Attempt:
            stopped = self.stop_reason()
            if stopped is not None:
                return Outcome.retry(f"not attempted: {stopped}")
            if refused.is_set() or expiring():
                return _DEFERRED  # left for a fresh scope
            try:
                outcome = execute_item(kind, item, services)
            except CredentialsRefused:
                refused.set()
                return _REFUSED
            self.checkpoint("item done")
            return outcome

        if workers <= 1:
            return [attempt(item) for item in items]
        # Independent items (labels on anaconda.org) in a small pool; results keep the
        # file's order, so the write-back is the same as one by one.
        with ThreadPoolExecutor(workers, thread_name_prefix=kind.action) as pool:
            return list(pool.map(attempt, items))

    def _attempt_batch(
        self,
        kind: RequestKind[Any, Any],
        items: list[Item[Any]],
        services: Services,
        expiring: Callable[[], bool],
    ) -> list[Attempt]:
        """A batched kind's items in one call, under the same rules as one item."""
        stopped = self.stop_reason()
        if stopped is not None:
            return [Outcome.retry(f"not attempted: {stopped}")] * len(items)
        if expiring():
            return [_DEFERRED] * len(items)
        try:
            outcomes: list[Attempt] = list(execute_batch(kind, items, services))
        except CredentialsRefused:
            return [_REFUSED] * len(items)
        self.checkpoint("items done")
        return outcomes

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


def _never() -> bool:
    return False


class CredentialsRefused(Exception):
    """An item was refused because the run's own credentials were not valid (401)."""


class _Marker(enum.Enum):
    DEFERRED = "deferred"  # not started: the scope's credentials were near their end
    REFUSED = "refused"  # refused with 401: our credentials, not the request


_DEFERRED, _REFUSED = _Marker.DEFERRED, _Marker.REFUSED
# What one attempt in a scope gives: an outcome, or one of the markers above.
Attempt = Outcome | _Marker


def execute_item(kind: RequestKind[Any, Any], item: Item[Any], services: Services) -> Outcome:
    """One item's outcome; whatever the kind raises or returns instead is a retry.

    A 401 raises ``CredentialsRefused``: the executor mints afresh and tries once more.

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
        if isinstance(exc, AccessDeniedError) and exc.status == 401:
            # GitHub and anaconda.org answer 401 to a token that is unknown or expired:
            # ours (the requester gives none), so it is the queue's to fix, not theirs.
            log.warning("%s: our credentials were refused (401)", item.id)
            raise CredentialsRefused(item.id) from None
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

    Items that target a protected repository fail without reaching the kind; a 401
    raises ``CredentialsRefused`` for all; whatever else the kind raises, or an answer
    that is not one Outcome per item, is a retry of all.
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
            if isinstance(exc, AccessDeniedError) and exc.status == 401:
                log.warning("%s: our credentials were refused (401)", kind.action)
                raise CredentialsRefused(kind.action) from None
            log.exception("executing %d items of %s raised", len(allowed), kind.action)
            answered = [unexpected_error(exc)] * len(allowed)
        if len(answered) != len(allowed) or not all(isinstance(o, Outcome) for o in answered):
            log.error("%s answered %r for %d items", kind.action, answered, len(allowed))
            answered = [Outcome.retry(NO_OUTCOME)] * len(allowed)
        outcomes.update({item.id: o for item, o in zip(allowed, answered, strict=True)})
    return [outcomes[item.id] for item in items]
