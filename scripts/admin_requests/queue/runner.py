"""The queue runner: carry out every request file in ``requests/``, one at a time.

For each file: decide whether it is due (parked requests and requests in backoff wait),
validate it, execute its items, then record the result in one commit: the file removed
when every item is done, or shrunk to what is left plus its state file otherwise. A
request that fails permanently, or too often, is parked and its requester gets one
issue. Nothing is committed when nothing changed, so a waiting request costs nothing.

Each file is isolated: whatever goes wrong with one (bad YAML, a kind that raises, a
git error) is recorded in the run report and the next file is processed.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from admin_requests.access import Access
from admin_requests.actions_output import render
from admin_requests.kinds import REGISTRY
from admin_requests.kinds.contract import Item, Outcome, OutcomeStatus, RequestKind
from admin_requests.queue.checkpoints import Checkpoint
from admin_requests.queue.gitops import Git
from admin_requests.queue.lease import LeaseLostError
from admin_requests.queue.notify import IssueContext, IssueTracker, Notifier
from admin_requests.queue.state import (
    DEFAULT_STATE_DIR,
    RequestState,
    RetryPolicy,
    StateStore,
    content_digest,
)
from admin_requests.queue.state import format_time as iso
from admin_requests.queue.writeback import remaining_text
from admin_requests.validation.checker import REQUEST_SUFFIXES, FileReport, check_text
from admin_requests.validation.source import read_text

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# Gives the services one request (or one kind's follow-up step) may use, e.g. with
# credentials scoped to its Access and revoked on exit; the label (the request file, or
# ``follow_up_label(key)``) names them in the credentials ledger. The default shares
# the run's services with every request.
ServicesFactory = Callable[[Access, str], AbstractContextManager[Any]]
# Called before each request and each item; raises LeaseLostError when the run must
# stop (RunLease.keep: another run took the queue over).
Guard = Callable[[], None]

DEFAULT_RETRY_HINT = (
    "in Actions, run the 'process requests' workflow by hand (Run workflow) with this "
    "file's name in the 'retry' field"
)


class Disposition(enum.Enum):
    COMPLETED = "completed"  # every item done; the file is removed
    RETRY_LATER = "retry later"  # items left; tried again after a backoff
    PARKED = "parked"  # parked in this run; an issue tells the requester
    STILL_PARKED = "still parked"  # parked earlier; waits for a change or a retry
    WAITING = "waiting"  # in backoff; not attempted in this run
    WOULD_RUN = "would run"  # dry run: would be attempted now
    ERROR = "error"  # the runner itself failed on this file (see the log)


@dataclass(frozen=True)
class QueueConfig:
    queue_dir: str = "requests"
    state_dir: str = DEFAULT_STATE_DIR
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    dry_run: bool = False
    # Request files (``requests/foo.yml``) a maintainer asked to un-park and retry now.
    retry: frozenset[str] = frozenset()
    retry_hint: str = DEFAULT_RETRY_HINT
    # Items of one request carried out at once, at most (and at most the kind's own
    # ``parallel_items``); 1 carries every item out one after the other.
    max_parallel_items: int = 8


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


class QueueRunner:
    def __init__(
        self,
        root: Path,
        *,
        services: Any,
        git: Git,
        clock: Clock,
        tracker: IssueTracker | None = None,
        config: QueueConfig | None = None,
        services_for: ServicesFactory | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> None:
        self.root = root
        self.services = services
        self.git = git
        self.clock = clock
        self.config = config or QueueConfig()
        # Crash-safety tests kill the run at these points (checkpoints.py); the run's
        # git carries the hook the CLI built, so both share one count.
        self.checkpoint: Checkpoint = checkpoint or git.checkpoint
        self.guard: Guard = _no_guard
        self.stopped: str | None = None
        self.store = StateStore(root, self.config.state_dir)
        self.notifier = Notifier(tracker, git) if tracker is not None else None
        self.services_for: ServicesFactory = services_for or (
            lambda _access, _label: nullcontext(services)
        )
        # The checker validates against REGISTRY, so the runner dispatches through it too.
        self.kinds = REGISTRY

    @property
    def dry_run(self) -> bool:
        return self.config.dry_run

    # -- the run ------------------------------------------------------------------------

    def request_files(self) -> list[str]:
        folder = self.root / self.config.queue_dir
        if not folder.is_dir():
            return []
        return [
            f"{self.config.queue_dir}/{path.name}"
            for path in sorted(folder.iterdir())
            if path.is_file() and path.suffix in REQUEST_SUFFIXES
        ]

    def run(self, guard: Guard | None = None) -> RunReport:
        """Process the queue; ``guard`` runs before each request and item (the lease)."""
        now = self.clock()
        report = RunReport(now, self.dry_run)
        self.guard, self.stopped = guard or _no_guard, None
        done_by_kind: dict[str, list[Item[Any]]] = {}
        requests = self.request_files()
        for request in requests:
            if not self._guarded():
                break
            try:
                result = self._process(request, now, done_by_kind)
            except Exception as exc:  # one file must never stop the others
                log.exception("processing %s failed", request)
                result = RequestResult(
                    request,
                    Disposition.ERROR,
                    notes=[f"the queue runner failed on this file ({type(exc).__name__}: {exc})"],
                )
            report.commits += result.committed
            report.results.append(result)
        if self.stopped is None:
            self._forget_removed_requests(set(requests), report)
        else:
            report.stopped = self.stopped
            report.notes.append(f"the run stopped early: {self.stopped}")
        self.checkpoint("follow-ups")
        self._after_run(done_by_kind, report)
        return report

    def _guarded(self) -> bool:
        """Whether the run may go on (it still holds its lease)."""
        if self.stopped is not None:
            return False
        try:
            self.guard()
        except LeaseLostError as exc:
            log.error("stopping: %s", exc)
            self.stopped = str(exc)
            return False
        return True

    def _process(
        self, request: str, now: datetime, done_by_kind: dict[str, list[Item[Any]]]
    ) -> RequestResult:
        raw = (self.root / request).read_bytes()
        digest = content_digest(raw)
        stored = self.store.load(request)
        state = stored
        if state is not None and state.content_sha256 != digest:
            log.info("%s changed since its last attempt; starting afresh", request)
            state = state.for_new_content(digest)
        if request in self.config.retry and state is not None:
            state = state.unparked()
        if state is not None and state.parked:
            return self._still_parked(request, state)
        if state is not None and not state.is_due(now):
            return RequestResult(
                request,
                Disposition.WAITING,
                pending=list(state.pending.items()),
                state=state,
                issue=state.issue,
                notes=[f"next attempt not before {iso(state.next_attempt)}"],
            )

        text, read_problems = read_text(self.root / request, request)
        report = check_text(text, request) if text is not None else None
        if text is None or report is None or not report.ok or report.action not in self.kinds:
            problems = read_problems + (report.problems if report else [])
            return self._park_invalid(request, now, digest, state, report, problems)
        kind = self.kinds[report.action]
        if self.dry_run:
            return self._dry_run(request, kind, report, state)

        results = self._execute(kind, report)
        done = [r.item for r in results if r.done]
        done_by_kind.setdefault(kind.action, []).extend(done)
        if len(done) == len(results):
            return self._complete(request, kind, results, stored)
        return self._record_failure(request, now, kind, text, digest, state, results)

    # -- executing ----------------------------------------------------------------------

    def _execute(self, kind: RequestKind[Any, Any], report: FileReport) -> list[ItemResult]:
        try:
            access = kind.access(report.model, self.services)
            scope = self.services_for(access, report.path)
            services = scope.__enter__()
        except Exception as exc:
            log.exception("cannot prepare the services for %s", report.path)
            detail = (
                f"could not get the access this request needs ({type(exc).__name__}); it "
                "is retried automatically."
            )
            return [ItemResult(item, Outcome.retry(detail)) for item in report.items]
        workers = min(kind.parallel_items, self.config.max_parallel_items, len(report.items))

        def attempt(item: Item[Any]) -> ItemResult:
            if not self._guarded():
                return ItemResult(item, Outcome.retry(f"not attempted: {self.stopped}"))
            outcome = self._execute_item(kind, item, services)
            self.checkpoint("item done")
            return ItemResult(item, outcome)

        try:
            if workers <= 1:
                return [attempt(item) for item in report.items]
            # Independent items (labels on anaconda.org) in a small pool; results keep
            # the file's order, so the write-back is the same as one by one.
            with ThreadPoolExecutor(workers, thread_name_prefix=kind.action) as pool:
                return list(pool.map(attempt, report.items))
        finally:
            try:
                scope.__exit__(None, None, None)
            except Exception:  # revoking credentials failed; they expire anyway
                log.exception("releasing the services of %s failed", report.path)

    @staticmethod
    def _execute_item(kind: RequestKind[Any, Any], item: Item[Any], services: Any) -> Outcome:
        try:
            outcome = kind.execute(item, services)
        except Exception as exc:
            # The traceback goes to the job log only: exception text may quote URLs or
            # responses that do not belong in a public issue.
            log.exception("executing %s raised", item.id)
            return Outcome.retry(
                f"an unexpected error ({type(exc).__name__}) happened while doing this; it "
                "is retried automatically, and core is told if it keeps failing."
            )
        if not isinstance(outcome, Outcome):
            log.error("%s returned %r instead of an Outcome", item.id, outcome)
            return Outcome.retry("the request kind returned no outcome (a bug); retrying.")
        return outcome

    # -- recording results ----------------------------------------------------------------

    def _complete(
        self,
        request: str,
        kind: RequestKind[Any, Any],
        results: list[ItemResult],
        stored: RequestState | None,
    ) -> RequestResult:
        result = RequestResult(request, Disposition.COMPLETED, kind.action, results)
        resolved = True
        if stored is not None:
            result.issue, resolved = self._resolve_issue(
                request, stored.issue, result.notes, withdrawn=False
            )
        (self.root / request).unlink()
        if stored is not None and not resolved:
            # The state outlives the file until a later run closes the issue.
            self.store.save(
                dataclasses.replace(stored, issue=result.issue).completed_with_open_issue()
            )
        else:
            self.store.delete(request)
        changed = sum(r.outcome.changed for r in results)
        message = (
            f"Complete {request}: {kind.action}, {len(results)} item(s) done "
            f"({changed} changed, {len(results) - changed} already done)\n\n" + _item_lines(results)
        )
        result.committed = self._commit(request, message)
        return result

    def _record_failure(
        self,
        request: str,
        now: datetime,
        kind: RequestKind[Any, Any],
        text: str,
        digest: str,
        state: RequestState | None,
        results: list[ItemResult],
    ) -> RequestResult:
        pending = [r for r in results if not r.done]
        pending_ids = {r.item.id for r in pending}
        shrunk = None
        if len(pending) < len(results):
            shrunk = remaining_text(text, kind, pending_ids, request)
        failed = [r for r in pending if r.outcome.status is OutcomeStatus.FAILED]
        error = "; ".join(f"{r.item.description}: {r.outcome.detail}" for r in (failed or pending))
        new_state = (state or RequestState(request, digest)).after_failed_attempt(
            now=now,
            digest=content_digest(shrunk) if shrunk is not None else digest,
            pending={r.item.id: r.outcome.detail for r in pending},
            error=error,
            permanent=bool(failed),
            policy=self.config.policy,
        )
        disposition = Disposition.PARKED if new_state.parked else Disposition.RETRY_LATER
        result = RequestResult(request, disposition, kind.action, results, state=new_state)
        if len(pending) < len(results) and shrunk is None:
            result.notes.append(
                "the file could not be shrunk safely and stays as it is; its done items "
                "are recognised as done next time"
            )
        if new_state.parked:
            context = self._issue_context(request, kind.action, new_state, results)
            new_state = self._open_issue(request, new_state, context, result.notes)
        result.state, result.issue = new_state, new_state.issue
        if shrunk is not None:
            (self.root / request).write_text(shrunk, encoding="utf-8")
        self.store.save(new_state)
        if new_state.parked:
            subject = f"Park {request}: {new_state.parked_reason}"
        else:
            subject = (
                f"Retry {request} later: {len(pending)} of {len(results)} item(s) left "
                f"(attempt {new_state.attempts} of {self.config.policy.max_attempts}, next "
                f"not before {iso(new_state.next_attempt)})"
            )
        result.committed = self._commit(request, subject + "\n\n" + _item_lines(results))
        return result

    def _park_invalid(
        self,
        request: str,
        now: datetime,
        digest: str,
        state: RequestState | None,
        report: FileReport | None,
        problems: Sequence[Any],
    ) -> RequestResult:
        lines = [p.format_text() for p in problems if p.is_error]
        action = report.action if report else None
        if action is not None and action not in self.kinds:
            lines.append(f"{request}: no request kind handles the action {action!r}")
        error = "the request file is not valid: " + (" ".join(lines) or "unknown problem")
        result = RequestResult(request, Disposition.PARKED, action, problems=lines)
        if self.dry_run:
            result.notes.append("would park this request and tell its requester")
            result.state = state
            return result
        new_state = (state or RequestState(request, digest)).after_failed_attempt(
            now=now,
            digest=digest,
            pending={},
            error=error,
            permanent=True,
            policy=self.config.policy,
        )
        context = IssueContext(
            request,
            action,
            new_state.parked_reason or "",
            error,
            [],
            [],
            new_state.attempts,
            self.config.retry_hint,
            problems=[
                f"line {p.line}, column {p.column}: {p.message}" for p in problems if p.is_error
            ]
            or lines,
        )
        new_state = self._open_issue(request, new_state, context, result.notes)
        result.state, result.issue = new_state, new_state.issue
        self.store.save(new_state)
        result.committed = self._commit(
            request, f"Park {request}: the file is not valid\n\n" + "\n".join(lines)
        )
        return result

    def _still_parked(self, request: str, state: RequestState) -> RequestResult:
        result = RequestResult(
            request,
            Disposition.STILL_PARKED,
            pending=list(state.pending.items()),
            state=state,
            issue=state.issue,
            notes=[f"parked: {state.parked_reason}; {state.last_error or ''}".rstrip("; ")],
        )
        if state.issue is None and self.notifier is not None and not self.dry_run:
            # Opening the issue failed in an earlier run: try again.
            context = IssueContext(
                request,
                None,
                state.parked_reason or "",
                state.last_error or "",
                list(state.pending.items()),
                [],
                state.attempts,
                self.config.retry_hint,
            )
            new_state = self._open_issue(request, state, context, result.notes)
            if new_state.issue is not None:
                self.store.save(new_state)
                result.state, result.issue = new_state, new_state.issue
                result.committed = self._commit(
                    request, f"Record issue #{new_state.issue} for parked {request}"
                )
        return result

    def _dry_run(
        self,
        request: str,
        kind: RequestKind[Any, Any],
        report: FileReport,
        state: RequestState | None,
    ) -> RequestResult:
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

    # -- issues, orphans, after_run -------------------------------------------------------

    def _issue_context(
        self, request: str, action: str, state: RequestState, results: list[ItemResult]
    ) -> IssueContext:
        return IssueContext(
            request=request,
            action=action,
            reason=state.parked_reason or "",
            error=state.last_error or "",
            pending=[(r.item.description, r.outcome.detail) for r in results if not r.done],
            done=[r.item.description for r in results if r.done],
            attempts=state.attempts,
            retry_hint=self.config.retry_hint,
        )

    def _open_issue(
        self, request: str, state: RequestState, context: IssueContext, notes: list[str]
    ) -> RequestState:
        if self.notifier is None:
            notes.append("no issue tracker configured: nobody was told")
            return state
        try:
            number = self.notifier.report_parked(context)
        except Exception as exc:
            log.exception("cannot open or update the issue for %s", request)
            notes.append(f"could not open the issue ({type(exc).__name__}); retried next run")
            return state
        return dataclasses.replace(state, issue=number)

    def _resolve_issue(
        self, request: str, known: int | None, notes: list[str], *, withdrawn: bool
    ) -> tuple[int | None, bool]:
        """Close the request's issue with a comment: (its number, whether that worked)."""
        if self.notifier is None or self.dry_run:
            return known, True
        try:
            return self.notifier.report_resolved(request, known, withdrawn=withdrawn), True
        except Exception as exc:
            log.exception("cannot close the issue of %s", request)
            notes.append(
                f"could not close its issue ({type(exc).__name__}); the next run tries again"
            )
            return known, False

    def _forget_removed_requests(self, present: set[str], report: RunReport) -> None:
        """Drop the state of request files that are gone, closing their issues.

        A file people removed is withdrawn; a ``completed`` state is a request whose
        issue could not be closed when it completed. The state stays until that works.
        """
        for request in self.store.requests_with_state():
            if request in present:
                continue
            if self.dry_run:
                report.notes.append(f"would forget the state of removed request {request}")
                continue
            try:
                state = self.store.load(request)
                _, resolved = self._resolve_issue(
                    request,
                    state.issue if state else None,
                    report.notes,
                    withdrawn=not (state and state.completed),
                )
                if not resolved:
                    continue
                self.store.delete(request)
                why = (
                    "completed, its issue is closed now" if state and state.completed else "removed"
                )
                if self._commit(request, f"Forget the queue state of {request} ({why})"):
                    report.commits += 1
                report.notes.append(f"forgot the state of {request} ({why})")
            except Exception as exc:
                log.exception("cannot forget the state of %s", request)
                report.notes.append(f"cannot forget the state of {request} ({exc})")

    def _after_run(self, done_by_kind: dict[str, list[Item[Any]]], report: RunReport) -> None:
        # Kinds that share a follow-up (broken and not_broken: one repodata rebuild) run
        # it once, with every done item, through the first of them.
        groups: dict[str, tuple[RequestKind[Any, Any], list[Item[Any]]]] = {}
        for action, done in done_by_kind.items():
            if done:
                kind = self.kinds[action]
                groups.setdefault(kind.follow_up_key(), (kind, []))[1].extend(done)
        for key, (kind, done) in groups.items():
            try:
                # A follow-up that needs access gets its own credentials, like a request.
                access = kind.follow_up_access(done, self.services)
                scope = (
                    nullcontext(self.services)
                    if access.grants_nothing
                    else self.services_for(access, follow_up_label(key))
                )
                with scope as services:
                    kind.after_run(done, services)
            except Exception as exc:
                log.exception("the follow-up step of %s failed", key)
                report.failed_follow_ups.append(key)
                report.notes.append(
                    f"the follow-up step of {key!r} failed ({type(exc).__name__}); its "
                    "items are done, but check the job log"
                )

    def _commit(self, request: str, message: str) -> bool:
        if self.dry_run:
            return False
        self.checkpoint("files written")
        committed = self.git.commit([request, self.store.relative_path(request)], message)
        if committed:
            self.checkpoint("committed")
        return committed


def _no_guard() -> None:
    return None


def follow_up_label(key: str) -> str:
    """How a follow-up step (``RequestKind.follow_up_key``) is named in the ledger."""
    return f"follow-up of {key!r}"


def _item_lines(results: Sequence[ItemResult]) -> str:
    return "".join(
        f"- {r.outcome.status.value}: {r.item.description}: {r.outcome.detail}\n" for r in results
    )


SUMMARY_MAX_ITEMS = 50
DISPOSITION_ICONS = {
    Disposition.COMPLETED.name: "✅",
    Disposition.RETRY_LATER.name: "🔁",
    Disposition.PARKED.name: "🅿️",
    Disposition.STILL_PARKED.name: "🅿️",
    Disposition.WAITING.name: "⏳",
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
        f"{report.count(Disposition.PARKED)} parked now; {report.commits} commit(s)."
    )
    return "\n".join(lines)
