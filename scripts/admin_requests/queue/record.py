"""Record what one run did with a request file: state, issue, file, one commit.

Every outcome reaches the repository the same way (``Recorder._write``): the request
file is removed, shrunk or left alone, its state file saved or deleted, and both go
into one commit. The issue is opened or closed first, so the state that is committed
knows its number. Nothing is committed when nothing changed.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping, Sequence, Set
from datetime import datetime
from pathlib import Path
from typing import Any

from admin_requests.actions_output import printable
from admin_requests.errors import QueueFileError
from admin_requests.kinds.contract import OutcomeStatus, RequestKind
from admin_requests.queue.checkpoints import Checkpoint
from admin_requests.queue.gitops import Git
from admin_requests.queue.job import Job
from admin_requests.queue.notify import IssueContext, Notifier
from admin_requests.queue.report import (
    Disposition,
    ItemResult,
    RequestResult,
    RunReport,
    item_lines,
)
from admin_requests.queue.state import RequestState, RetryPolicy, StateStore, content_digest
from admin_requests.queue.state import format_time as iso
from admin_requests.queue.writeback import remaining_text
from admin_requests.validation.checker import FileReport
from admin_requests.validation.problems import Problem

log = logging.getLogger(__name__)


# What the state file and the issue say of a big request's items left: the first ones,
# then a count (the request file has every one). 40,000 failing items used to make a
# state file of megabytes, rewritten at every attempt, and an error no issue could hold.
STATE_MAX_PENDING = 100
ERROR_MAX_ITEMS = 5


def _first_pending(pending: Sequence[ItemResult]) -> dict[str, str]:
    listed = {r.item.id: r.outcome.detail for r in pending[:STATE_MAX_PENDING]}
    others = len(pending) - len(listed)
    if others > 0:
        listed[f"... and {others} more"] = "not listed here: the request file has them all"
    return listed


def _first_errors(results: Sequence[ItemResult]) -> str:
    error = "; ".join(
        f"{r.item.description}: {r.outcome.detail}" for r in results[:ERROR_MAX_ITEMS]
    )
    others = len(results) - ERROR_MAX_ITEMS
    return error + (f"; and {others} more item(s)" if others > 0 else "")


class Recorder:
    def __init__(
        self,
        root: Path,
        *,
        store: StateStore,
        git: Git,
        notifier: Notifier | None,
        policy: RetryPolicy,
        retry_hint: str,
        dry_run: bool,
        checkpoint: Checkpoint,
    ) -> None:
        self.root = root
        self.store = store
        self.git = git
        self.notifier = notifier
        self.policy = policy
        self.retry_hint = retry_hint
        self.dry_run = dry_run
        self.checkpoint = checkpoint

    # -- outcomes -------------------------------------------------------------------------

    def completed(
        self,
        request: str,
        kind: RequestKind[Any, Any],
        results: list[ItemResult],
        stored: RequestState | None,
    ) -> RequestResult:
        """Every item is done: the file goes, and its issue is closed."""
        result = RequestResult(request, Disposition.COMPLETED, kind.action, results)
        kept = None
        if stored is not None:
            result.issue, resolved = self._resolve_issue(
                request, stored.issue, result.notes, withdrawn=False
            )
            if not resolved:
                # The state outlives the file until a later run closes the issue.
                kept = dataclasses.replace(stored, issue=result.issue).completed_with_open_issue()
        changed = sum(r.outcome.changed for r in results)
        message = (
            f"Complete {request}: {kind.action}, {len(results)} item(s) done "
            f"({changed} changed, {len(results) - changed} already done)\n\n" + item_lines(results)
        )
        result.committed = self._write(request, message, state=kept, remove_file=True)
        return result

    def failed(
        self,
        request: str,
        now: datetime,
        kind: RequestKind[Any, Any],
        text: str,
        digest: str,
        state: RequestState | None,
        results: list[ItemResult],
    ) -> RequestResult:
        """Items are left: shrink the file to them and retry later, or park it."""
        pending = [r for r in results if not r.done]
        shrunk = None
        if len(pending) < len(results):
            shrunk = remaining_text(text, kind, {r.item.id for r in pending}, request)
        failed = [r for r in pending if r.outcome.status is OutcomeStatus.FAILED]
        error = _first_errors(failed or pending)
        new_state = (state or RequestState(request, digest)).after_failed_attempt(
            now=now,
            digest=content_digest(shrunk) if shrunk is not None else digest,
            pending=_first_pending(pending),
            error=error,
            permanent=bool(failed),
            policy=self.policy,
        )
        disposition = Disposition.PARKED if new_state.parked else Disposition.RETRY_LATER
        result = RequestResult(request, disposition, kind.action, results)
        if len(pending) < len(results) and shrunk is None:
            result.notes.append(
                "the file could not be shrunk safely and stays as it is; its done items "
                "are recognised as done next time"
            )
        if new_state.parked:
            context = IssueContext(
                request=request,
                action=kind.action,
                reason=new_state.parked_reason or "",
                error=new_state.last_error or "",
                pending=[(r.item.description, r.outcome.detail) for r in pending],
                done=[r.item.description for r in results if r.done],
                attempts=new_state.attempts,
                retry_hint=self.retry_hint,
            )
            new_state = self._open_issue(request, new_state, context, result.notes)
            subject = f"Park {request}: {new_state.parked_reason}"
        else:
            subject = (
                f"Retry {request} later: {len(pending)} of {len(results)} item(s) left "
                f"(attempt {new_state.attempts} of {self.policy.max_attempts}, next "
                f"not before {iso(new_state.next_attempt)})"
            )
        result.state, result.issue = new_state, new_state.issue
        message = subject + "\n\n" + item_lines(results)
        result.committed = self._write(request, message, state=new_state, text=shrunk)
        return result

    def progress(self, job: Job, chunk: Sequence[ItemResult]) -> bool:
        """A chunk of ``job`` is through and more items follow: commit what is done so far.

        The file shrinks to the items not done yet and its state learns the new digest,
        so a run killed later loses at most the chunk it was in, and the next run goes
        on from here. No attempt is counted: the request is not through yet. A file that
        cannot be shrunk safely stays as it is (its done items are no-ops next time).
        """
        shrunk = remaining_text(job.text, job.kind, job.pending_ids, job.request)
        if shrunk is None:
            return False
        digest = content_digest(shrunk)
        if digest == job.digest:
            return False  # nothing was done in this chunk
        state = (
            dataclasses.replace(job.state, content_sha256=digest)
            if job.state is not None
            else RequestState(job.request, digest)
        )
        # Later chunks shrink this text, not the original: the file only ever loses
        # items, and a smaller text is quicker to parse and check again.
        job.text, job.state, job.digest = shrunk, state, digest
        done = sum(r.done for r in job.results)
        message = (
            f"Progress on {job.request}: {job.kind.action}, {done} of {len(job.items)} "
            f"item(s) done in this run, {len(job.pending_ids)} left\n\n" + item_lines(chunk)
        )
        return self._write(job.request, message, state=state, text=shrunk)

    def runner_failed(
        self, request: str, now: datetime, error: str, job: Job | None
    ) -> tuple[RequestState, int | None, bool]:
        """The runner failed on ``request`` (a bug, git, the disk): count a failed attempt.

        The request file goes back to its last commit (the failure may have come between
        changing and committing it); only its state changes, so the next run backs off
        and, after too many, parks it and tells its requester, as for any other failure.
        Returns the new state, its issue and whether a commit was made.
        """
        state_path = self.store.relative_path(request)
        self.git.discard_interrupted([request, state_path])
        path = self.root / request
        digest = content_digest(
            os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
        )
        known = job.state if job is not None else self.store.load(request)
        if known is not None and known.content_sha256 != digest:
            known = known.for_new_content(digest)
        new_state = (known or RequestState(request, digest)).after_failed_attempt(
            now=now, digest=digest, pending={}, error=error, permanent=False, policy=self.policy
        )
        notes: list[str] = []
        if new_state.parked:
            context = IssueContext(
                request,
                job.kind.action if job else None,
                new_state.parked_reason or "",
                error,
                [],
                [],
                new_state.attempts,
                self.retry_hint,
            )
            new_state = self._open_issue(request, new_state, context, notes)
        message = (
            f"Retry {printable(request)} later: the queue runner failed on it (attempt "
            f"{new_state.attempts} of {self.policy.max_attempts})\n\n{printable(error)}\n"
        )
        self.store.save(new_state)
        self.checkpoint("files written")
        committed = self.git.commit([state_path], message)
        return new_state, new_state.issue, committed

    def invalid(
        self,
        request: str,
        now: datetime,
        digest: str,
        state: RequestState | None,
        report: FileReport | None,
        problems: Sequence[Problem],
        registry: Mapping[str, RequestKind[Any, Any]],
    ) -> RequestResult:
        """The file cannot be carried out as written: park it and tell its requester."""
        lines = [p.format_text() for p in problems if p.is_error]
        action = report.action if report else None
        if action is not None and action not in registry:
            lines.append(f"{request}: no request kind handles the action {action!r}")
        error = "the request file is not valid: " + (" ".join(lines) or "unknown problem")
        result = RequestResult(request, Disposition.PARKED, action, problems=lines)
        if self.dry_run:
            result.notes.append("would park this request and tell its requester")
            result.state = state
            return result
        new_state = (state or RequestState(request, digest)).after_failed_attempt(
            now=now, digest=digest, pending={}, error=error, permanent=True, policy=self.policy
        )
        context = IssueContext(
            request,
            action,
            new_state.parked_reason or "",
            error,
            [],
            [],
            new_state.attempts,
            self.retry_hint,
            problems=[
                f"line {p.line}, column {p.column}: {p.message}" for p in problems if p.is_error
            ]
            or lines,
        )
        new_state = self._open_issue(request, new_state, context, result.notes)
        result.state, result.issue = new_state, new_state.issue
        message = f"Park {printable(request)}: the file is not valid\n\n" + "\n".join(lines)
        result.committed = self._write(request, message, state=new_state)
        return result

    def still_parked(self, request: str, state: RequestState) -> RequestResult:
        """Parked earlier and unchanged; its issue is opened now if that failed before."""
        result = RequestResult(
            request,
            Disposition.STILL_PARKED,
            pending=list(state.pending.items()),
            state=state,
            issue=state.issue,
            notes=[f"parked: {state.parked_reason}; {state.last_error or ''}".rstrip("; ")],
        )
        if state.issue is None and self.notifier is not None and not self.dry_run:
            context = IssueContext(
                request,
                None,
                state.parked_reason or "",
                state.last_error or "",
                list(state.pending.items()),
                [],
                state.attempts,
                self.retry_hint,
            )
            new_state = self._open_issue(request, state, context, result.notes)
            if new_state.issue is not None:
                result.state, result.issue = new_state, new_state.issue
                message = f"Record issue #{new_state.issue} for parked {request}"
                result.committed = self._write(request, message, state=new_state)
        return result

    def forget_removed(self, present: Set[str], report: RunReport) -> None:
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
                completed = bool(state and state.completed)
                _, resolved = self._resolve_issue(
                    request, state.issue if state else None, report.notes, withdrawn=not completed
                )
                if not resolved:
                    continue
                why = "completed, its issue is closed now" if completed else "removed"
                message = f"Forget the queue state of {request} ({why})"
                report.commits += self._write(request, message, state=None)
                report.notes.append(f"forgot the state of {request} ({why})")
            except Exception as exc:
                log.exception("cannot forget the state of %s", request)
                report.notes.append(f"cannot forget the state of {request} ({exc})")

    # -- the one way to the repository -----------------------------------------------------

    def _write(
        self,
        request: str,
        message: str,
        *,
        state: RequestState | None,
        text: str | None = None,
        remove_file: bool = False,
    ) -> bool:
        """Change the request file (remove it, or write ``text``), save ``state`` (None:
        delete it) and commit both; whether a commit was made."""
        path = self.root / request
        if remove_file:
            path.unlink()
        elif text is not None:
            if path.is_symlink():  # the queue never gets here with one; never write through
                raise QueueFileError(f"refusing to write {request!r} through a symbolic link")
            path.write_text(text, encoding="utf-8")
        if state is None:
            self.store.delete(request)
        else:
            self.store.save(state)
        if self.dry_run:
            return False
        self.checkpoint("files written")
        committed = self.git.commit([request, self.store.relative_path(request)], message)
        if committed:
            self.checkpoint("committed")
        return committed

    # -- issues ---------------------------------------------------------------------------

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
