"""Command line: ``admin-requests check | plan`` (``run`` and ``status`` come later)."""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .actions_output import append_step_summary, error_annotation, render, running_in_actions
from .checker import FileReport, check_paths
from .errors import UsageError

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
        for item in report.items:
            print(f"  - [{item.id}] {item.description}")
    return EXIT_OK if all(r.ok for r in reports) else EXIT_INVALID


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
