"""Command line: ``admin-requests check | plan | run | status``."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path

from . import __version__
from .actions_output import append_step_summary, error_annotation, render, running_in_actions
from .checker import FileReport, check_paths
from .checkpoints import checkpoint_from_environ
from .config import Settings
from .credentials import CredentialBroker, CredentialSettings, open_broker
from .errors import AdminRequestsError, CredentialError, UsageError
from .gitops import Git
from .lease import DEFAULT_TTL, LeaseBusyError, RunLease
from .notify import GitHubIssueTracker, IssueTracker
from .queue import QueueConfig, QueueRunner, ServicesFactory, format_text, render_summary
from .requests.base import Access
from .services import GitHubClient, Services
from .state import DEFAULT_STATE_DIR, RetryPolicy, StateStore, format_time
from .status import StatusCollector, StatusOptions, write_site

log = logging.getLogger(__name__)

DEFAULT_QUEUE = Path("requests")
SUMMARY_MAX_ITEMS = 50

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def _changed_request_files(base: str) -> list[Path]:
    """Request files added or modified since ``base`` (deleted files need no check)."""
    try:
        out = subprocess.run(
            [
                "git",
                "diff",
                "--name-only",
                "--diff-filter=d",
                "--no-renames",
                base,
                "HEAD",
                "--",
                "requests/",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        raise UsageError(f"cannot list files changed since {base!r}: {detail.strip()}") from exc
    return [Path(line) for line in out.splitlines() if line.strip()]


def _resolve_paths(args: argparse.Namespace) -> list[Path]:
    if args.changed_since:
        if args.paths:
            raise UsageError("give either PATH arguments or --changed-since, not both")
        return _changed_request_files(args.changed_since)
    paths = [Path(p) for p in args.paths] or [DEFAULT_QUEUE]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or directory: {', '.join(missing)}")
    return paths


def _print_text(reports: list[FileReport]) -> None:
    for report in reports:
        for problem in report.problems:
            print(problem.format_text())
    bad = sum(not r.ok for r in reports)
    print(f"{len(reports)} file(s) checked: {len(reports) - bad} valid, {bad} with problems.")


def command_check(args: argparse.Namespace) -> int:
    reports = check_paths(_resolve_paths(args))
    if args.format == "json":
        problems = [p.as_dict() for r in reports for p in r.problems]
        print(json.dumps(problems, indent=2))
    else:
        _print_text(reports)
    if running_in_actions():
        for report in reports:
            for problem in report.problems:
                print(error_annotation(problem))
        append_step_summary(
            render("check_summary.md.j2", reports=reports, max_items=SUMMARY_MAX_ITEMS)
        )
    return EXIT_OK if all(r.ok for r in reports) else EXIT_INVALID


def command_plan(args: argparse.Namespace) -> int:
    reports = check_paths(_resolve_paths(args))
    for report in reports:
        if not report.ok:
            print(f"{report.path}: not valid, nothing will be done")
            for problem in report.problems:
                print(f"  {problem.format_text()}")
            continue
        print(f"{report.path}: {report.action}, {len(report.items)} item(s)")
        print(f"  {_queue_status(report.path)}")
        for item in report.items:
            print(f"  - [{item.id}] {item.description}")
    return EXIT_OK if all(r.ok for r in reports) else EXIT_INVALID


def _queue_status(path: str) -> str:
    """What the next processing run does with this file, from its queue state."""
    state = StateStore(Path.cwd()).load(path)
    if state is None:
        return "next run: carried out (no earlier attempt)"
    if state.parked:
        issue = f" (issue #{state.issue})" if state.issue else ""
        return f"parked{issue}: {state.parked_reason}; change the file or retry it to resume"
    return (
        f"{state.attempts} failed attempt(s); next attempt not before "
        f"{format_time(state.next_attempt) or 'the next run'}"
    )


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
    """Per request (and follow-up step): credentials for exactly its Access, then revoked."""

    def services_for(access: Access, label: str) -> AbstractContextManager[Services]:
        return broker.request_services(
            access, settings, label=label, default_github_token=github_token
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
    )
    git = Git(root, checkpoint=checkpoint_from_environ(environ))
    lease = None
    if args.push and not args.dry_run:
        # Before any credential is minted: a run that finds the lease taken does nothing.
        lease = RunLease(
            git,
            args.remote,
            holder=_lease_holder(environ),
            clock=lambda: datetime.now(UTC),
            ttl=timedelta(seconds=args.lease_ttl),
        )
        try:
            lease.acquire()
        except LeaseBusyError as exc:
            print(f"admin-requests: {exc}")
            return EXIT_OK
        except AdminRequestsError as exc:  # the remote cannot be reached
            print(f"admin-requests: error: {exc}", file=sys.stderr)
            return EXIT_INVALID
    try:
        return _run(args, environ, root, settings, config, git, lease)
    finally:
        if lease is not None:
            lease.release()


def _lease_holder(environ: Mapping[str, str]) -> str:
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
) -> int:
    """Process the queue (under ``lease`` when pushing), report, and push the results."""
    remote_tip = None
    if lease is not None:
        try:
            remote_tip = _prepare_checkout(args, git)
        except AdminRequestsError as exc:
            print(f"admin-requests: error: {exc}", file=sys.stderr)
            return EXIT_INVALID
    tracker = build_tracker(settings, environ)
    if tracker is None:
        log.warning("no GitHub token: parked requests get no issue")
    services = build_services(settings, environ)
    broker: CredentialBroker | None = None
    try:
        broker = open_job_broker(settings, environ, dry_run=args.dry_run)
        with _stop_on_sigterm(), broker or nullcontext():
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
            report = runner.run(guard=lease.keep if lease is not None else None)
    except CredentialError as exc:
        # The broker could not be built or started (configuration, the vault or OIDC
        # refused): no request was touched, so none is charged an attempt. Whatever it
        # had obtained is already revoked.
        print(f"admin-requests: error: cannot get the job's credentials: {exc}", file=sys.stderr)
        if broker is not None:
            _report_credentials(broker, environ)
        return EXIT_INVALID
    print(format_text(report))
    append_step_summary(render_summary(report), environ)
    if broker is not None:
        _report_credentials(broker, environ)
    else:
        reason = DRY_RUN_CREDENTIALS if args.dry_run else NO_BACKEND_CREDENTIALS
        print(f"credentials: {reason}")
        append_step_summary(
            render("run_credentials.md.j2", ledger=None, none_reason=reason), environ
        )
    # Push this run's commits, and those an interrupted run left in this checkout; not
    # after losing the lease (another run has taken over the queue).
    if remote_tip is not None and git.commits_since(remote_tip) and report.stopped is None:
        try:
            git.push_with_rebase(args.remote, args.branch, args.push_attempts)
        except AdminRequestsError as exc:
            print(f"admin-requests: error: {exc}", file=sys.stderr)
            return EXIT_INVALID
    # Parked requests have their issues; a runner error, a failed follow-up step or a
    # lost lease is for core, so it fails the workflow run where core sees it.
    return EXIT_INVALID if report.needs_attention else EXIT_OK


DRY_RUN_CREDENTIALS = "none minted: a dry run reads with the job's GITHUB_TOKEN only."
NO_BACKEND_CREDENTIALS = (
    "none minted: no credentials backend is configured, so every request used the job's "
    "GITHUB_TOKEN."
)


def _report_credentials(broker: CredentialBroker, environ: Mapping[str, str]) -> None:
    """What was minted, for what, how long it could live, and whether it was revoked."""
    ended = datetime.now(UTC)
    ledger = broker.ledger
    print("\n".join(ledger.text_lines(ended)))
    append_step_summary(
        render(
            "run_credentials.md.j2",
            ledger=ledger,
            outliving=ledger.still_valid_after(ended),
            none_reason="none minted",
        ),
        environ,
    )


def command_status(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> int:
    """Render the status page; a source that cannot be read is shown on the page, not fatal."""
    root = Path(args.root).resolve()
    settings = Settings.from_environ(environ)
    token = environ.get("GITHUB_TOKEN")
    options = StatusOptions(
        repository=settings.repository,
        web_url=environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/"),
        recent_completed=args.recent,
    )
    collector = StatusCollector(
        root,
        git=Git(root),
        github=GitHubClient.build(settings, token) if token else None,
        clock=lambda: datetime.now(UTC),
        options=options,
    )
    report = collector.collect()
    sizes = write_site(report, Path(args.output))
    print(
        f"wrote {', '.join(f'{name} ({size:,} bytes)' for name, size in sizes.items())} "
        f"to {args.output}: {len(report.queue)} queued, {report.completed_total} completed, "
        f"{len(report.workflows)} workflow(s)"
    )
    for problem in report.problems:
        if running_in_actions(environ):
            # Workflow-command data: %, CR and LF must be escaped to stay one annotation.
            data = problem.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
            print(f"::warning title=status page::{data}")
        else:
            print(f"warning: {problem}", file=sys.stderr)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="admin-requests",
        description="Validate and carry out administrative requests (see docs/).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = sub.add_parser("check", help="validate request files offline")
    check.add_argument(
        "paths", nargs="*", metavar="PATH", help="files or folders (default: requests/)"
    )
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument(
        "--changed-since",
        metavar="GIT_REF",
        help="check only the files under requests/ added or changed since this commit",
    )
    check.set_defaults(handler=command_check)

    plan = sub.add_parser("plan", help="show the items each request will act on")
    plan.add_argument(
        "paths", nargs="*", metavar="PATH", help="files or folders (default: requests/)"
    )
    plan.set_defaults(handler=command_plan, changed_since=None)

    run = sub.add_parser(
        "run",
        help="carry out the queued requests and commit the results",
        description="Process every file in requests/: execute its items, remove it when "
        "done or shrink it to what is left, and commit. Parked requests and requests "
        "waiting for their next attempt are skipped.",
    )
    run.add_argument("--root", default=".", help="the repository checkout (default: .)")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="show what would happen; change nothing (no API writes, files, commits, issues)",
    )
    run.add_argument(
        "--retry",
        action="append",
        default=[],
        metavar="FILE",
        help="un-park this request file and attempt it now (repeatable)",
    )
    run.add_argument(
        "--push", action="store_true", help="push the commits, rebasing if the branch moved"
    )
    run.add_argument("--remote", default="origin", help="remote to push to (default: origin)")
    run.add_argument("--branch", default="main", help="branch to push to (default: main)")
    run.add_argument("--push-attempts", type=int, default=5, help=argparse.SUPPRESS)
    # How long the run lease lasts without renewal (a killed run blocks others this long).
    run.add_argument(
        "--lease-ttl", type=float, default=DEFAULT_TTL.total_seconds(), help=argparse.SUPPRESS
    )
    run.set_defaults(handler=command_run)

    status = sub.add_parser(
        "status",
        help="render the maintainers' status page (static HTML + status.json)",
        description="Read the queue, the git history and (with GITHUB_TOKEN) the issues and "
        "workflow runs, and write index.html, style.css and status.json into --output.",
    )
    status.add_argument("--output", required=True, metavar="DIR", help="folder to write into")
    status.add_argument("--root", default=".", help="the repository checkout (default: .)")
    status.add_argument(
        "--recent",
        type=int,
        default=50,
        metavar="N",
        help="how many recently completed requests to list (default: 50)",
    )
    status.set_defaults(handler=command_status)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        code: int = args.handler(args)
    except UsageError as exc:
        print(f"admin-requests: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return code


if __name__ == "__main__":
    sys.exit(main())
