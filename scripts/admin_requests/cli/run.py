"""``admin-requests run``: process the queue under the run lease, report, and push.

Kept apart from the other subcommands because it is the one that takes the lease,
opens the job's credential broker and pushes; ``cli`` only parses its arguments.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import signal
import socket
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path

from admin_requests.access import Access
from admin_requests.actions_output import (
    append_step_summary,
    escape_command_data,
    escape_markdown,
    neutralise_commands,
    render,
    running_in_actions,
)
from admin_requests.cli import EXIT_INVALID, EXIT_OK
from admin_requests.config import Settings
from admin_requests.credentials.broker import CredentialBroker
from admin_requests.credentials.factories import open_broker
from admin_requests.credentials.settings import CredentialSettings
from admin_requests.errors import (
    AdminRequestsError,
    CredentialConfigError,
    CredentialError,
    UsageError,
)
from admin_requests.queue.checkpoints import checkpoint_from_environ
from admin_requests.queue.dispatch import QueueConfig, QueueRunner
from admin_requests.queue.execute import ServicesFactory
from admin_requests.queue.gitops import Git, PushToken
from admin_requests.queue.lease import MAX_TTL, LeaseBusyError, LeaseStuckError, RunLease
from admin_requests.queue.notify import GitHubIssueTracker, IssueTracker
from admin_requests.queue.report import format_text, render_summary
from admin_requests.queue.state import DEFAULT_STATE_DIR, RetryPolicy
from admin_requests.services import ChannelFiles, GitHubClient, Services

log = logging.getLogger(__name__)


def _retry_paths(values: Sequence[str], root: Path, queue_dir: str) -> frozenset[str]:
    """Accept 'foo.yml' or 'requests/foo.yml' (the workflow input); '' means none."""
    found = set()
    for value in values:
        value = value.strip()
        if not value:
            continue
        request = f"{queue_dir}/{Path(value).name}"
        if not (root / request).is_file():
            raise UsageError(
                f"cannot retry {value!r}: there is no {request!r}; give the name of a file in "
                f"{queue_dir}/, e.g. 'my-request.yml'"
            )
        found.add(request)
    return frozenset(found)


def build_tracker(settings: Settings, environ: Mapping[str, str]) -> IssueTracker | None:
    """Issues in this repository, with the job's GITHUB_TOKEN (``issues: write``)."""
    token = environ.get("GITHUB_TOKEN")
    if not token:
        return None
    return GitHubIssueTracker(GitHubClient.build(settings, token), settings.repository)


def build_services(settings: Settings, environ: Mapping[str, str]) -> Services | None:
    """The run's shared services, with the job's GITHUB_TOKEN: reads and dry runs.

    With a credentials backend, requests and follow-up steps get their own scoped
    credentials instead (``scoped_services``); these serve only what the job token may
    do anyway (read public repositories, decide each request's access).
    """
    token = environ.get("GITHUB_TOKEN")
    if not token:
        return None  # offline (a local dry run): online checks are skipped
    return Services.build(settings, github_token=token, anaconda_token=None)


def credentials_configured(environ: Mapping[str, str]) -> bool:
    """Whether the job fetches credentials (actions/vault-credentials exports this)."""
    return bool(environ.get("ADMIN_REQUESTS_CREDENTIALS"))


def open_job_broker(
    settings: Settings, environ: Mapping[str, str], *, dry_run: bool
) -> CredentialBroker | None:
    """The job's credential broker (not started yet), or None when there is none to open.

    A dry run never opens one: it only reads, with the job token, so it cannot mint a
    credential that writes. Without a backend every request shares the job token,
    which is enough for a local run against the sandbox or a test, not for production.
    """
    if dry_run:
        return None
    if not credentials_configured(environ):
        log.warning(
            "no credentials backend configured (ADMIN_REQUESTS_CREDENTIALS): every request "
            "uses the job's GITHUB_TOKEN; run ./actions/vault-credentials before this step"
        )
        return None
    if not environ.get("GITHUB_TOKEN"):
        raise UsageError(
            "GITHUB_TOKEN is not set; the run needs the job's token for issues, reads and "
            "requests that need no other GitHub access (pass GITHUB_TOKEN: ${{ github.token }})"
        )
    return open_broker(settings, CredentialSettings.from_environ(environ))


def scoped_services(
    broker: CredentialBroker, settings: Settings, github_token: str
) -> ServicesFactory:
    """Per request (and follow-up step): credentials for exactly its Access, then revoked.

    The scopes share the run's package file lists (``ChannelFiles``: public data), so a
    package's files are read once per run, not once per request or chunk.
    """
    channel_files = ChannelFiles()

    def services_for(access: Access, label: str) -> AbstractContextManager[Services]:
        return broker.request_services(
            access,
            settings,
            label=label,
            default_github_token=github_token,
            channel_files=channel_files,
        )

    return services_for


@contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM (a cancelled workflow run) into SystemExit, so ``with`` blocks revoke.

    The previous handler is restored afterwards (the CLI may run inside another program).
    """

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def command_run(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> int:
    root = Path(args.root).resolve()
    settings = Settings.from_environ(environ)
    config = QueueConfig(
        dry_run=args.dry_run,
        retry=_retry_paths(args.retry, root, QueueConfig.queue_dir),
        policy=RetryPolicy.from_environ(environ),
        time_budget=(
            timedelta(seconds=settings.run_budget_seconds) if settings.run_budget_seconds else None
        ),
    )
    pushing = args.push and not args.dry_run
    git = Git(
        root,
        checkpoint=checkpoint_from_environ(environ),
        # Fetches and lease reads; pushes use the App's token once the broker is open.
        token=environ.get("GITHUB_TOKEN") if pushing else None,
    )
    ttl = timedelta(seconds=args.lease_ttl)
    if not timedelta(0) <= ttl <= MAX_TTL:
        # Other runs take a lease further ahead than MAX_TTL over as forged.
        raise UsageError(
            f"--lease-ttl {args.lease_ttl:g} is outside 0..{MAX_TTL.total_seconds():g} seconds"
        )
    broker: CredentialBroker | None = None
    try:
        broker = open_job_broker(settings, environ, dry_run=args.dry_run)
        with _stop_on_sigterm(), broker or nullcontext():
            if broker is not None and pushing:
                git.push_token = push_token_for(broker, settings)
            code = _run_under_lease(args, environ, root, settings, config, git, broker)
    except CredentialError as exc:
        # The broker could not be built or started (configuration, the vault or OIDC
        # refused): no request was touched, so none is charged an attempt. Whatever it
        # had obtained is already revoked.
        print(
            neutralise_commands(f"admin-requests: error: cannot get the job's credentials: {exc}"),
            file=sys.stderr,
        )
        if broker is not None:
            _report_credentials(broker, environ)
        return EXIT_INVALID
    # After the pushes and the lease's release, so their tokens are in the ledger too.
    if broker is not None:
        _report_credentials(broker, environ)
    elif code is not None:
        reason = DRY_RUN_CREDENTIALS if args.dry_run else NO_BACKEND_CREDENTIALS
        print(f"credentials: {reason}")
        append_step_summary(
            render("run_credentials.md.j2", ledger=None, none_reason=reason), environ
        )
    return code if code is not None else EXIT_OK


def push_token_for(broker: CredentialBroker, settings: Settings) -> PushToken:
    """Pushes to this repository: an App installation token per git push (docs/security.md W1)."""
    owner, _, name = settings.repository.partition("/")
    if owner != settings.organisation:
        raise CredentialConfigError(
            f"this repository {settings.repository!r} is not in the organisation "
            f"{settings.organisation!r} whose App pushes its results; run it there, or set "
            "ADMIN_REQUESTS_ORGANISATION to its owner"
        )
    return functools.partial(broker.push_token, name, label=f"push to {settings.repository}")


def _run_under_lease(
    args: argparse.Namespace,
    environ: Mapping[str, str],
    root: Path,
    settings: Settings,
    config: QueueConfig,
    git: Git,
    broker: CredentialBroker | None,
) -> int | None:
    """``_run`` under the run lease when pushing; None when another run holds it."""
    if not (args.push and not args.dry_run):
        return _run(args, environ, root, settings, config, git, None, broker)
    # Before anything is processed: a run that finds the lease taken does nothing (its
    # one credential, the broker's vault login, is revoked when the broker closes).
    lease = RunLease(
        git,
        args.remote,
        holder=lease_holder(environ),
        clock=lambda: datetime.now(UTC),
        ttl=timedelta(seconds=args.lease_ttl),
    )
    try:
        lease.acquire()
    except LeaseBusyError as exc:
        print(neutralise_commands(f"admin-requests: {exc}"))
        return None
    except LeaseStuckError as exc:
        # Not another run's turn: nothing has been processed for hours. Fail loudly.
        report_stuck(str(exc), environ)
        return EXIT_INVALID
    except AdminRequestsError as exc:  # the remote cannot be reached
        print(neutralise_commands(f"admin-requests: error: {exc}"), file=sys.stderr)
        return EXIT_INVALID
    try:
        return _run(args, environ, root, settings, config, git, lease, broker)
    finally:
        lease.release()


def report_stuck(message: str, environ: Mapping[str, str], *, title: str = "the queue") -> None:
    """A stuck lease, where core sees it: stderr, an ``::error`` and the job summary."""
    print(neutralise_commands(f"admin-requests: error: {message}"), file=sys.stderr)
    if running_in_actions(environ):
        print(f"::error title=run lease::{escape_command_data(message)}")
    heading = "admin-requests run" if title == "the queue" else title.capitalize()
    append_step_summary(
        f"## {heading}\n\n**{title.capitalize()} is stuck.** {escape_markdown(message)}\n",
        environ,
    )


def lease_holder(environ: Mapping[str, str]) -> str:
    """Who holds the lease, for people reading it: the Actions run, or this machine."""
    run = environ.get("GITHUB_RUN_ID")
    where = f"run {run}.{environ.get('GITHUB_RUN_ATTEMPT', '1')}" if run else "local"
    return f"{where} on {socket.gethostname()} ({uuid.uuid4().hex[:8]})"


def _prepare_checkout(args: argparse.Namespace, git: Git) -> str:
    """Under the lease: drop what an interrupted run left uncommitted, then bring the
    checkout up to the remote branch; returns the remote's commit (what is pushed)."""
    git.checkpoint("lease taken")
    left = git.discard_interrupted([QueueConfig.queue_dir, DEFAULT_STATE_DIR])
    if left:
        log.warning(
            "an interrupted run left %s changed; discarded (its work is redone)", ", ".join(left)
        )
    return git.sync(args.remote, args.branch)


def _run(
    args: argparse.Namespace,
    environ: Mapping[str, str],
    root: Path,
    settings: Settings,
    config: QueueConfig,
    git: Git,
    lease: RunLease | None,
    broker: CredentialBroker | None,
) -> int:
    """Process the queue (under ``lease`` when pushing), report, and push the results."""
    remote_tip = None
    if lease is not None:
        try:
            remote_tip = _prepare_checkout(args, git)
        except AdminRequestsError as exc:
            print(neutralise_commands(f"admin-requests: error: {exc}"), file=sys.stderr)
            return EXIT_INVALID
    tracker = build_tracker(settings, environ)
    if tracker is None:
        log.warning("no GitHub token: parked requests get no issue")
    services = build_services(settings, environ)
    runner = QueueRunner(
        root,
        services=services,
        git=git,
        clock=lambda: datetime.now(UTC),
        tracker=tracker,
        config=config,
        services_for=(
            scoped_services(broker, settings, environ.get("GITHUB_TOKEN", ""))
            if broker is not None
            else None
        ),
    )
    if remote_tip is not None:
        runner.on_progress = ProgressPusher(git, args.remote, args.branch, args.push_attempts)
    report = runner.run(guard=lease.keep if lease is not None else None)
    if lease is not None:
        report.notes[:0] = lease.notes  # a forged lease taken over: say so
    print(neutralise_commands(format_text(report)))
    append_step_summary(render_summary(report), environ)
    # Push this run's commits, and those an interrupted run left in this checkout; not
    # after losing the lease (another run has taken over the queue).
    if remote_tip is not None and git.commits_since(remote_tip) and report.stopped is None:
        try:
            git.push_with_rebase(args.remote, args.branch, args.push_attempts)
        except AdminRequestsError as exc:
            print(neutralise_commands(f"admin-requests: error: {exc}"), file=sys.stderr)
            return EXIT_INVALID
    # Parked requests have their issues; a runner error, a failed follow-up step or a
    # lost lease is for core, so it fails the workflow run where core sees it.
    return EXIT_INVALID if report.needs_attention else EXIT_OK


# A long run pushes its committed progress at most this often, so a job killed in the
# middle (its runner lost, the job's timeout) loses little more than its last chunks.
PROGRESS_PUSH_INTERVAL = timedelta(minutes=5)


class ProgressPusher:
    """After a chunk's commit: push, when the last push is ``interval`` old.

    A failed push is only logged: the run's own push at the end tries again.
    """

    def __init__(
        self,
        git: Git,
        remote: str,
        branch: str,
        attempts: int,
        *,
        interval: timedelta = PROGRESS_PUSH_INTERVAL,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.git, self.remote, self.branch, self.attempts = git, remote, branch, attempts
        self.interval, self.clock = interval, clock
        self.last = clock()
        self.pushes = 0

    def __call__(self) -> None:
        now = self.clock()
        if now - self.last < self.interval:
            return
        self.last = now
        try:
            self.git.push_with_rebase(self.remote, self.branch, self.attempts)
        except AdminRequestsError as exc:
            log.warning("pushing the progress so far failed (the run's end tries again): %s", exc)
            return
        self.pushes += 1


DRY_RUN_CREDENTIALS = "none minted: a dry run reads with the job's GITHUB_TOKEN only."
NO_BACKEND_CREDENTIALS = (
    "none minted: no credentials backend is configured, so every request used the job's "
    "GITHUB_TOKEN."
)


def _report_credentials(broker: CredentialBroker, environ: Mapping[str, str]) -> None:
    """What was minted, for what, how long it could live, and whether it was revoked."""
    ended = datetime.now(UTC)
    ledger = broker.ledger
    print(neutralise_commands("\n".join(ledger.text_lines(ended))))
    append_step_summary(
        render(
            "run_credentials.md.j2",
            ledger=ledger,
            outliving=ledger.still_valid_after(ended),
            none_reason="none minted",
        ),
        environ,
    )
