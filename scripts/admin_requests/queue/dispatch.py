"""The queue runner: carry out every request file in ``requests/``.

For each file the next run's decision (``decision.decide``) says whether it runs now.
Due, valid files become jobs (``job.Job``), which take turns a chunk of items each
(``QueueConfig.chunk_items``), so a big request never holds the small ones up; each
chunk is executed (``execute``) and its progress committed (``record``: the file
shrinks to what is left), so a run killed half-way loses at most one chunk. When a job
is through, its outcome is recorded in one commit: the file removed when every item
is done, or shrunk to what is left plus its state file otherwise. A request that
fails permanently, or too often, is parked and its requester gets one issue. Nothing
is committed when nothing changed, so a waiting request costs nothing.

A run has a time budget (``QueueConfig.time_budget``): once it is spent no chunk
starts; what is left is reported unfinished and the next run goes on from there.

Each file is isolated: whatever goes wrong with one (bad YAML, a kind that raises, a
git error) is recorded in the run report, counted as a failed attempt of that file,
and the next file is processed. Before each request, chunk and item the run checks it
still holds the queue (the lease guard).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from admin_requests.access import Access
from admin_requests.errors import NoServicesError
from admin_requests.kinds import REGISTRY
from admin_requests.kinds.contract import Item, RequestKind
from admin_requests.queue.checkpoints import Checkpoint
from admin_requests.queue.decision import Verdict, decide
from admin_requests.queue.execute import RequestExecutor, ServicesFactory
from admin_requests.queue.gitops import Git
from admin_requests.queue.job import Job
from admin_requests.queue.lease import LeaseLostError
from admin_requests.queue.notify import IssueTracker, Notifier
from admin_requests.queue.record import Recorder
from admin_requests.queue.report import Disposition, ItemResult, RequestResult, RunReport
from admin_requests.queue.state import DEFAULT_STATE_DIR, RetryPolicy, StateStore, content_digest
from admin_requests.queue.state import format_time as iso
from admin_requests.services import Services
from admin_requests.validation.checker import (
    DEFAULT_PROTECTED,
    REQUEST_SUFFIXES,
    check_text,
    file_name_problems,
)
from admin_requests.validation.source import read_text

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
# Called before each request and each item; raises LeaseLostError when the run must
# stop (RunLease.keep: another run took the queue over).
Guard = Callable[[], None]

DEFAULT_RETRY_HINT = (
    "in Actions, run the 'process requests' workflow by hand (Run workflow) with this "
    "file's name in the 'retry' field"
)


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
    # A request's items are carried out this many at a time: each chunk's progress is
    # committed (a killed run loses at most one), and requests take turns chunk by chunk.
    chunk_items: int = 1000
    # How long the run may go on starting chunks; None: until the queue is through.
    # The CLI sets it from Settings.run_budget_seconds (docs/operations.md).
    time_budget: timedelta | None = None


class QueueRunner:
    def __init__(
        self,
        root: Path,
        *,
        services: Services | None,
        git: Git,
        clock: Clock,
        tracker: IssueTracker | None = None,
        config: QueueConfig | None = None,
        services_for: ServicesFactory | None = None,
        checkpoint: Checkpoint | None = None,
        registry: Mapping[str, RequestKind[Any, Any]] = REGISTRY,
    ) -> None:
        self.root = root
        self.services = services
        self.git = git
        self.clock = clock
        self.config = config or QueueConfig()
        # The kinds this run carries out; the checker validates against the same ones.
        self.kinds = registry
        # Crash-safety tests kill the run at these points (checkpoints.py); the run's
        # git carries the hook the CLI built, so both share one count.
        self.checkpoint: Checkpoint = checkpoint or git.checkpoint
        self.guard: Guard = _no_guard
        self.stopped: str | None = None
        self.deadline: datetime | None = None
        # Called after each chunk's progress is committed (the CLI pushes it from there).
        self.on_progress: Callable[[], None] = _nothing
        self.store = StateStore(root, self.config.state_dir)
        self.scope_for: ServicesFactory = services_for or self._share_run_services
        self.executor = RequestExecutor(
            services=services,
            scope_for=self.scope_for,
            max_parallel_items=self.config.max_parallel_items,
            stop_reason=self._stop_reason,
            checkpoint=self.checkpoint,
        )
        self.recorder = Recorder(
            root,
            store=self.store,
            git=git,
            notifier=Notifier(tracker, git) if tracker is not None else None,
            policy=self.config.policy,
            retry_hint=self.config.retry_hint,
            dry_run=self.config.dry_run,
            checkpoint=self.checkpoint,
        )

    @property
    def dry_run(self) -> bool:
        return self.config.dry_run

    def request_files(self) -> list[str]:
        folder = self.root / self.config.queue_dir
        if not folder.is_dir():
            return []
        # Symlinks are listed (and parked, never followed) as the PR check reports them.
        return [
            f"{self.config.queue_dir}/{path.name}"
            for path in sorted(folder.iterdir())
            if (path.is_file() or path.is_symlink()) and path.suffix in REQUEST_SUFFIXES
        ]

    def run(self, guard: Guard | None = None) -> RunReport:
        """Process the queue; ``guard`` runs before each request, chunk and item (the lease).

        First every file is read and decided; the due, valid ones are then carried out
        taking turns, one chunk of items each (``QueueConfig.chunk_items``), so a small
        request is never stuck behind a big one. Each chunk's progress is committed, and
        the turns end when the run's time budget is spent: what is left waits for the
        next run, which goes on from there.
        """
        now = self.clock()
        report = RunReport(now, self.dry_run)
        self.guard, self.stopped = guard or _no_guard, None
        budget = self.config.time_budget
        self.deadline = now + budget if budget is not None else None
        done_by_kind: dict[str, list[Item[Any]]] = {}
        requests = self.request_files()
        results: dict[str, RequestResult] = {}
        jobs: list[Job] = []
        for request in requests:
            if self._stop_reason() is not None:
                break
            try:
                started = self._start(request, now)
            except Exception as exc:  # one file must never stop the others
                started = self._runner_failed(request, now, exc)
            if isinstance(started, Job):
                jobs.append(started)
            else:
                results[request] = started
        left = self._take_turns(jobs, now, results, done_by_kind, report)
        for job in left:
            results[job.request] = self._unfinished(job)
        report.results = [results[request] for request in requests if request in results]
        report.commits += sum(result.committed for result in report.results)
        if left and self.stopped is None:
            assert budget is not None  # only the budget ends the turns otherwise
            report.out_of_time = True
            report.notes.append(
                f"the run's time budget ({_minutes(budget)}) was spent: "
                f"{len(left)} request(s) go on in the next run, where this one stopped"
            )
        if self.stopped is None:
            self.recorder.forget_removed(set(requests), report)
        else:
            report.stopped = self.stopped
            report.notes.append(f"the run stopped early: {self.stopped}")
        self.checkpoint("follow-ups")
        self._after_run(done_by_kind, report)
        return report

    def _take_turns(
        self,
        jobs: list[Job],
        now: datetime,
        results: dict[str, RequestResult],
        done_by_kind: dict[str, list[Item[Any]]],
        report: RunReport,
    ) -> list[Job]:
        """Carry the jobs out a chunk each in turn; the ones left when time runs out."""
        jobs = list(jobs)
        while jobs:
            for job in list(jobs):
                if self._stop_reason() is not None or self._out_of_time():
                    return jobs
                try:
                    chunk = self._run_chunk(job, done_by_kind)
                    # After a lost lease the chunk's last items were not attempted: the
                    # job is not through, and waits for the next run like the others.
                    if job.finished and self.stopped is None:
                        jobs.remove(job)
                        results[job.request] = self._finish(job, now)
                    else:
                        report.commits += self.recorder.progress(job, chunk)
                        self.on_progress()
                except Exception as exc:  # one file must never stop the others
                    if job in jobs:
                        jobs.remove(job)
                    results[job.request] = self._runner_failed(job.request, now, exc, job)
        return jobs

    def _stop_reason(self) -> str | None:
        """Why the run must stop (it lost its lease), or None while it still holds it."""
        if self.stopped is not None:
            return self.stopped
        try:
            self.guard()
        except LeaseLostError as exc:
            log.error("stopping: %s", exc)
            self.stopped = str(exc)
        return self.stopped

    def _out_of_time(self) -> bool:
        return self.deadline is not None and self.clock() >= self.deadline

    def _run_chunk(self, job: Job, done_by_kind: dict[str, list[Item[Any]]]) -> list[ItemResult]:
        """The next chunk of ``job``'s items, carried out; the job remembers the results."""
        chunk = job.items[job.next_index : job.next_index + max(self.config.chunk_items, 1)]
        results = self.executor.execute(job.kind, job.report, chunk)
        job.next_index += len(chunk)
        job.results.extend(results)
        done_by_kind.setdefault(job.kind.action, []).extend(r.item for r in results if r.done)
        return results

    def _finish(self, job: Job, now: datetime) -> RequestResult:
        """Every item of ``job`` was attempted in this run: record the outcome."""
        results = job.results
        if all(r.done for r in results):
            return self.recorder.completed(job.request, job.kind, results, job.stored)
        return self.recorder.failed(
            job.request, now, job.kind, job.text, job.digest, job.state, results
        )

    def _unfinished(self, job: Job) -> RequestResult:
        """The run stopped before ``job`` was through; its progress is committed already."""
        why = self.stopped or "the run's time budget was spent"
        left = len(job.items) - sum(r.done for r in job.results)
        return RequestResult(
            job.request,
            Disposition.UNFINISHED,
            job.kind.action,
            job.results,
            state=job.state,
            issue=job.state.issue if job.state else None,
            notes=[f"{left} of {len(job.items)} item(s) left for the next run ({why})"],
        )

    def _runner_failed(
        self, request: str, now: datetime, exc: Exception, job: Job | None = None
    ) -> RequestResult:
        """The runner itself failed on ``request``: report it, and count a failed attempt,
        so backoff and parking apply as to any other failure."""
        log.exception("processing %s failed", request)
        note = f"the queue runner failed on this file ({type(exc).__name__}: {exc})"
        result = RequestResult(request, Disposition.ERROR, job.kind.action if job else None)
        result.notes.append(note)
        if self.dry_run:
            return result
        try:
            recorded = self.recorder.runner_failed(request, now, note, job)
        except Exception:
            log.exception("cannot record the failure of %s either", request)
            result.notes.append("its queue state could not be recorded either")
            return result
        if job is not None:
            result.items = job.results
        result.state, result.issue, result.committed = recorded
        return result

    def _start(self, request: str, now: datetime) -> RequestResult | Job:
        """What this run does with ``request``: its result now, or a job to carry out."""
        path = self.root / request
        # A symlink is never read through: its identity is where it points.
        digest = content_digest(
            os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
        )
        stored = self.store.load(request)
        decision = decide(request, stored, digest, now, retry=self.config.retry)
        state = decision.state
        if decision.changed:
            log.info("%s changed since its last attempt; starting afresh", request)
        if state is not None and decision.verdict is Verdict.PARKED:
            return self.recorder.still_parked(request, state)
        if state is not None and decision.verdict is Verdict.WAIT:
            return RequestResult(
                request,
                Disposition.WAITING,
                pending=list(state.pending.items()),
                state=state,
                issue=state.issue,
                notes=[f"next attempt not before {iso(decision.not_before)}"],
            )

        refused = file_name_problems(Path(request).name, request)
        if refused:
            # Checked as the PR check does; the name itself is never trusted further.
            return self.recorder.invalid(request, now, digest, state, None, refused, self.kinds)
        text, read_problems = read_text(path, request)
        report = (
            check_text(text, request, self.kinds, self._protected()) if text is not None else None
        )
        kind = self.kinds.get(report.action) if report and report.action else None
        if text is None or report is None or not report.ok or kind is None:
            problems = read_problems + (report.problems if report else [])
            return self.recorder.invalid(request, now, digest, state, report, problems, self.kinds)
        if self.dry_run:
            return self.executor.dry_run(request, kind, report, state)
        return Job(request, kind, report, text, digest, state, stored)

    def _protected(self) -> frozenset[str]:
        """The repositories no request may target, as this run is configured."""
        if self.services is None:
            return DEFAULT_PROTECTED
        return self.services.settings.protected_repositories

    def _share_run_services(self, _access: Access, _label: str) -> AbstractContextManager[Services]:
        """The default scope: every request shares the run's own services."""
        if self.services is None:  # the executor never asks then (nothing can run)
            raise NoServicesError("this run has no services (no GITHUB_TOKEN)")
        return nullcontext(self.services)

    def _after_run(self, done_by_kind: dict[str, list[Item[Any]]], report: RunReport) -> None:
        # Kinds that share a follow-up (broken and not_broken: one repodata rebuild) run
        # it once, with every done item, through the first of them.
        groups: dict[str, tuple[RequestKind[Any, Any], list[Item[Any]]]] = {}
        for action, done in done_by_kind.items():
            if done:
                kind = self.kinds[action]
                groups.setdefault(kind.follow_up_key(), (kind, []))[1].extend(done)
        run_services = self.services
        if run_services is None:  # no item was carried out without services either
            return
        for key, (kind, done) in groups.items():
            try:
                # A follow-up that needs access gets its own credentials, like a request.
                access = kind.follow_up_access(done, run_services)
                scope = (
                    nullcontext(run_services)
                    if access.grants_nothing
                    else self.scope_for(access, follow_up_label(key))
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


def _no_guard() -> None:
    return None


def _nothing() -> None:
    return None


def _minutes(budget: timedelta) -> str:
    seconds = budget.total_seconds()
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def follow_up_label(key: str) -> str:
    """How a follow-up step (``RequestKind[Any, Any].follow_up_key``) is named in the ledger."""
    return f"follow-up of {key!r}"
