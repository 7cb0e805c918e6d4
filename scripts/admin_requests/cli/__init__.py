"""Command line: ``admin-requests check | plan | run | status | render | resync-diff |
resync``.

``check`` runs on untrusted pull requests with no credentials, so this module imports
only the offline side (validation, kinds); each other subcommand imports its clients,
broker or renderer inside its handler.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from admin_requests import __version__
from admin_requests.actions_output import (
    CommandSafeFormatter,
    append_step_summary,
    error_annotation,
    escape_command_data,
    neutralise_commands,
    render,
    running_in_actions,
)
from admin_requests.config import Settings
from admin_requests.errors import UsageError
from admin_requests.queue.lease import DEFAULT_TTL
from admin_requests.validation.checker import FileReport, check_paths
from admin_requests.validation.problems import Problem

if TYPE_CHECKING:
    from admin_requests.status.config import DashboardConfig
    from admin_requests.status.oci_mirror import OciMirrorCollector

log = logging.getLogger(__name__)

DEFAULT_QUEUE = Path("requests")
SUMMARY_MAX_ITEMS = 50

# 0 all done or nothing to do, 1 needs attention (cli/run.py uses the same), 2 bad usage.
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
            print(neutralise_commands(problem.format_text()))
    bad = sum(not r.ok for r in reports)
    print(f"{len(reports)} file(s) checked: {len(reports) - bad} valid, {bad} with problems.")


def _online_token(environ: Mapping[str, str]) -> str:
    token = environ.get("GITHUB_TOKEN")
    if not token:
        raise UsageError(
            "--online reads GitHub and needs a token: set GITHUB_TOKEN (in Actions, the "
            "job's read-only token: GITHUB_TOKEN: ${{ github.token }} on that step only)"
        )
    return token


def _online_problems(
    reports: list[FileReport], settings: Settings, token: str
) -> dict[str, list[Problem]]:
    """Each valid file's read-only online checks (its kind's preflight), by file.

    The same checks a dry run makes (does the feedstock exist; does a name or glob
    already belong to another feedstock...), with the job's read-only GITHUB_TOKEN.
    Files that failed offline are not looked up: their problems come first.
    """
    # Imported here: the offline check loads no client (module docstring).
    from admin_requests.kinds import REGISTRY
    from admin_requests.services import Services

    services = Services.build(settings, github_token=token, anaconda_token=None)
    found: dict[str, list[Problem]] = {}
    for report in reports:
        if not report.ok or report.model is None or report.action is None:
            continue
        try:
            problems = REGISTRY[report.action].preflight(report.model, services)
        except Exception as exc:  # one file's failure must not hide the others' findings
            log.exception("online checks of %s raised", report.path)
            problems = [
                Problem(
                    report.path,
                    1,
                    1,
                    "online-check-failed",
                    f"the online checks of this file failed ({type(exc).__name__}); they were "
                    "not made. Run 'admin-requests check --online' again, or ask core.",
                    severity="warning",
                )
            ]
        found[report.path] = sorted(problems, key=lambda p: (p.line, p.column))
        report.problems = sorted([*report.problems, *problems], key=lambda p: (p.line, p.column))
    return found


def command_check(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> int:
    settings = Settings.from_environ(environ)
    paths = _resolve_paths(args)
    token = _online_token(environ) if args.online else None
    reports = check_paths(paths, protected=settings.protected_repositories)
    online = None if token is None else _online_problems(reports, settings, token)
    if args.format == "json":
        problems = [p.as_dict() for r in reports for p in r.problems]
        # JSON escapes that decode to the same text, so no line holds a workflow command.
        text = json.dumps(problems, indent=2)
        print(text.replace("::", ":\\u003a").replace("##[", "##\\u005b"))
    else:
        _print_text(reports)
    if running_in_actions(environ) and online is not None:
        # The offline step annotated the rest already: only what was found online.
        for found in online.values():
            for problem in found:
                print(error_annotation(problem))
        append_step_summary(render("check_online_summary.md.j2", reports=reports, online=online))
    elif running_in_actions(environ):
        for report in reports:
            for problem in report.problems:
                print(error_annotation(problem))
        append_step_summary(
            render("check_summary.md.j2", reports=reports, max_items=SUMMARY_MAX_ITEMS)
        )
    return EXIT_OK if all(r.ok for r in reports) else EXIT_INVALID


def command_plan(args: argparse.Namespace) -> int:
    reports = check_paths(_resolve_paths(args))
    now = datetime.now(UTC)
    for report in reports:
        if not report.ok:
            print(neutralise_commands(f"{report.path}: not valid, nothing will be done"))
            for problem in report.problems:
                print(neutralise_commands(f"  {problem.format_text()}"))
            continue
        print(neutralise_commands(f"{report.path}: {report.action}, {len(report.items)} item(s)"))
        print(neutralise_commands(f"  {_next_run(report.path, now)}"))
        for item in report.items:
            print(neutralise_commands(f"  - [{item.id}] {item.description}"))
    return EXIT_OK if all(r.ok for r in reports) else EXIT_INVALID


def _next_run(path: str, now: datetime) -> str:
    """What the next processing run does with this file: the queue's own decision."""
    # Only plan reads the queue's state: check stays free of it.
    from admin_requests.queue.decision import decide
    from admin_requests.queue.state import StateStore, content_digest

    digest = content_digest(Path(path).read_bytes())
    return decide(path, StateStore(Path.cwd()).load(path), digest, now).describe()


def command_status(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> int:
    """Render the status page; a source that cannot be read is shown on the page, not fatal."""
    # Imported here, not at the top: `check` must load no client (see the module docstring).
    from admin_requests.errors import StatusConfigError
    from admin_requests.queue.gitops import Git
    from admin_requests.services.github import GitHubClient
    from admin_requests.status import StatusCollector, StatusOptions, write_site
    from admin_requests.status.config import CONFIG_PATH, load_config

    root = Path(args.root).resolve()
    settings = Settings.from_environ(environ)
    token = environ.get("GITHUB_TOKEN")
    dashboard: DashboardConfig | None = None
    config_problems: tuple[str, ...] = ()
    try:
        dashboard = load_config(root, args.config or CONFIG_PATH)
    except StatusConfigError as exc:
        # A typo in the configuration must not stop the page: the queue is still shown.
        config_problems = (f"{exc}; bots, migrations and incidents are not shown",)
    options = StatusOptions(
        repository=settings.repository,
        web_url=environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/"),
        recent_completed=args.recent,
        dashboard=dashboard,
        previous=_previous_status(args.previous),
        problems=config_problems,
    )
    collector = StatusCollector(
        root,
        git=Git(root),
        github=GitHubClient.build(settings, token) if token else None,
        clock=lambda: datetime.now(UTC),
        options=options,
        oci_mirror=_oci_mirror_collector(settings, dashboard),
    )
    report = collector.collect()
    sizes = write_site(report, Path(args.output))
    print(
        f"wrote {', '.join(f'{name} ({size:,} bytes)' for name, size in sizes.items())} "
        f"to {args.output}: {len(report.queue)} queued, {report.completed_total} completed, "
        f"{len(report.workflows)} workflow(s)"
    )
    failed = [f"{s.name} cannot be read: {s.error}" for s in report.sources if not s.ok]
    for problem in [*failed, *report.problems]:
        if running_in_actions(environ):
            print(f"::warning title=status page::{escape_command_data(problem)}")
        else:
            print(neutralise_commands(f"warning: {problem}"), file=sys.stderr)
    return EXIT_OK


def _oci_mirror_collector(
    settings: Settings, dashboard: DashboardConfig | None
) -> OciMirrorCollector | None:
    """The OCI mirror's freshness reads (status/oci_mirror.py), when it is configured:
    anaconda.org through anaconda-client, the registry over plain HTTP, both read-only
    and anonymous, retried less than the queue's calls (the page is rebuilt soon)."""
    from admin_requests.services.anaconda import AnacondaClient
    from admin_requests.services.http import Retrier, RetryPolicy
    from admin_requests.status.oci_mirror import OciMirrorCollector, RegistryClient

    if dashboard is None or dashboard.oci_mirror is None:
        return None
    source = dashboard.oci_mirror
    retrier = Retrier(RetryPolicy(max_attempts=3, max_total_wait=30.0))
    registry = RegistryClient(
        source.base_url, timeout=settings.http_timeout_seconds, retrier=retrier.sibling()
    )
    channel = AnacondaClient(settings, None, retrier=retrier)
    return OciMirrorCollector(source, channel=channel, registry=registry)


def _previous_status(path: str | None) -> dict[str, object] | None:
    """The previously published status.json, if given and readable (else a fresh start)."""
    if not path:
        return None
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"warning: the previous status {path!r} is not used: {exc}", file=sys.stderr)
        return None
    return data if isinstance(data, dict) else None


def _command_run(args: argparse.Namespace) -> int:
    # The broker, the clients and the queue runner load only for `run` (module docstring).
    from admin_requests.cli.run import command_run

    return command_run(args)


def _command_render(args: argparse.Namespace) -> int:
    # Loads conda-smithy's adapter only for `render` (module docstring). The module is
    # not cli/render.py: that name would shadow actions_output.render imported here.
    from admin_requests.cli.render_job import command_render

    return command_render(args)


def _command_resync_diff(args: argparse.Namespace) -> int:
    # Runs where no credential is: imports only the diff side (no client, no broker).
    from admin_requests.cli.resync_diff import command_resync_diff

    return command_resync_diff(args)


def _command_resync(args: argparse.Namespace) -> int:
    from admin_requests.cli.resync import command_resync

    return command_resync(args)


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
    check.add_argument(
        "--online",
        action="store_true",
        help="also run each valid file's read-only online checks (needs GITHUB_TOKEN): "
        "does the feedstock exist, does a name or glob already belong to another feedstock",
    )
    check.set_defaults(handler=command_check)

    plan = sub.add_parser("plan", help="show the items each request will act on")
    plan.add_argument(
        "paths", nargs="*", metavar="PATH", help="files or folders (default: requests/)"
    )
    plan.set_defaults(handler=command_plan, changed_since=None, online=False)

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
    run.set_defaults(handler=_command_run)

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
    status.add_argument(
        "--config",
        metavar="FILE",
        help="the bots, migrations and incidents to show, relative to --root "
        "(default: .github/status-page.yml; the conda-forge defaults without it)",
    )
    status.add_argument(
        "--previous",
        metavar="FILE",
        help="the previously published status.json: fewer API calls, and the last known "
        "data of a source that cannot be read now",
    )
    status.set_defaults(handler=command_status)

    render = sub.add_parser(
        "render",
        help="rerender the feedstocks queued items need, without credentials",
        description="For the render job only: clone each feedstock anonymously, apply the "
        "request's edits and run conda-smithy with an allowlisted environment; write "
        "one rendering file per branch for the processing job to check and push.",
    )
    render.add_argument("--root", default=".", help="the repository checkout (default: .)")
    render.add_argument("--plan", action="store_true", help="print the keys to render (JSON)")
    render.add_argument("--key", default="", help="render only this key (from --plan)")
    render.add_argument("--output", default="", metavar="DIR", help="folder to write into")
    render.add_argument(
        "--retry",
        action="append",
        default=[],
        metavar="FILE",
        help="a request file the processing run un-parks and retries (as 'run --retry')",
    )
    render.set_defaults(handler=_command_render)

    resync_diff = sub.add_parser(
        "resync-diff",
        help="compute the weekly repodata diff, without credentials",
        description="For the resync's unprivileged job only: clone the patches feedstock "
        "anonymously, run its recipe/show_diff.py (SHOW_DIFF_PYTHON) with an allowlisted "
        "environment and write what it printed (and, in Actions, the outputs 'empty' and "
        "'diff').",
    )
    resync_diff.add_argument(
        "--checkout",
        default="",
        metavar="DIR",
        help="a checkout of the patches feedstock (default: clone it anonymously)",
    )
    resync_diff.add_argument("--output", required=True, metavar="FILE", help="where to write")
    resync_diff.set_defaults(handler=_command_resync_diff)

    resync = sub.add_parser(
        "resync",
        help="rebuild the repodata patches when the weekly diff is not empty",
        description="Read resync-diff's output; when it shows a difference, push an empty "
        "commit to the patches feedstock (which rebuilds them), then update its one open "
        "resync issue.",
    )
    resync.add_argument("--diff", required=True, metavar="FILE", help="resync-diff's output")
    resync.add_argument(
        "--dry-run", action="store_true", help="say what would be done; change nothing"
    )
    resync.set_defaults(handler=_command_resync)

    from admin_requests.cli.create_feedstocks import add_parser as add_creation

    add_creation(sub)  # its commands import their clients when they run
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = logging.StreamHandler()
    # Log records quote request data (file names, values): no line may be a command.
    handler.setFormatter(CommandSafeFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, handlers=[handler]
    )
    try:
        code: int = args.handler(args)
    except UsageError as exc:
        print(neutralise_commands(f"admin-requests: error: {exc}"), file=sys.stderr)
        return EXIT_USAGE
    return code


if __name__ == "__main__":
    sys.exit(main())
