"""Command line of ``python -m admin_requests.deploy`` (see the package docstring)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from admin_requests.deploy.oidc_subject import subject_changes
from admin_requests.deploy.plan import Change, RepositoryApi, plan_changes
from admin_requests.deploy.spec import BACKENDS, DEFAULT_CONFIG_DIR, RepositorySpec, load_spec
from admin_requests.deploy.vault import DEFAULT_TRUST_DIR
from admin_requests.errors import AdminRequestsError, DeployConfigError
from admin_requests.services.http import HttpClient

EXIT_OK, EXIT_DRIFT, EXIT_USAGE = 0, 1, 2
DEFAULT_API_URL = "https://api.github.com"


def _values(pairs: Sequence[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise DeployConfigError(f"--set {pair!r}: write it as --set name=value")
        values[name.strip()] = value
    return values


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m admin_requests.deploy",
        description="Make a GitHub repository match deploy/github/*.yml.",
    )
    parser.add_argument(
        "command",
        choices=("plan", "apply", "check", "ids"),
        help="ids: print the repository's numeric ids, which the trust policies pin",
    )
    parser.add_argument("--repository", required=True, metavar="OWNER/NAME")
    parser.add_argument("--backend", choices=BACKENDS, default="vault")
    parser.add_argument(
        "--set",
        dest="values",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="fill ${NAME} in the files (repeatable)",
    )
    parser.add_argument("--config-dir", type=Path, default=DEFAULT_CONFIG_DIR)
    parser.add_argument(
        "--trust-dir",
        type=Path,
        default=DEFAULT_TRUST_DIR,
        help="the vault trust policy (roles/*.json) whose bound subject the repository's "
        "OIDC subject must match (backend vault)",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per HTTP call")
    return parser


def _print(changes: list[Change]) -> None:
    for change in changes:
        print(f"  {change.describe()}")


def _plan(api: RepositoryApi, spec: RepositorySpec, args: argparse.Namespace) -> list[Change]:
    changes = plan_changes(api, spec)
    if args.backend == "vault":
        # The files can match and the vault still refuse every login: the subject is
        # also the organisation's to change (immutable subjects), so it is worked out
        # from what GitHub answers, not from the files.
        changes += subject_changes(api, args.trust_dir)
    return changes


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    owner, _, name = args.repository.partition("/")
    if not owner or not name or "/" in name:
        raise DeployConfigError(f"--repository {args.repository!r} must be OWNER/NAME")
    token = environ.get("GITHUB_TOKEN", "")
    if not token:
        raise DeployConfigError(
            "set GITHUB_TOKEN to a token of a repository administrator (e.g. "
            "GITHUB_TOKEN=$(gh auth token)); it is used for this command only"
        )
    http = HttpClient(
        environ.get("GITHUB_API_URL", DEFAULT_API_URL),
        token=token,
        auth_scheme="Bearer",
        timeout=args.timeout,
    )
    http.session.headers["Accept"] = "application/vnd.github+json"
    http.session.headers["X-GitHub-Api-Version"] = "2022-11-28"
    api = RepositoryApi(http, args.repository)
    if args.command == "ids":
        found = api.get()
        print(f"--repository-id {found['id']} --repository-owner-id {found['owner']['id']}")
        return EXIT_OK
    spec = load_spec(args.config_dir, args.backend, _values(args.values))
    changes = _plan(api, spec, args)
    if args.command == "apply":
        for change in changes:
            if change.apply is not None:
                print(f"applying {change.describe()}")
                change.apply()
        changes = _plan(api, spec, args)
    unseen = [change for change in changes if change.unseen]
    changes = [change for change in changes if not change.unseen]
    if unseen:
        print(f"{len(unseen)} thing(s) this token cannot see, so not compared:")
        _print(unseen)
    if not changes:
        print(f"{args.repository} matches {args.config_dir.name}/ (backend {args.backend}).")
        return EXIT_OK
    manual = sum(change.apply is None for change in changes)
    heading = {
        "plan": f"{len(changes)} change(s) to make, {manual} of them by hand:",
        "check": f"{args.repository} differs from {args.config_dir.name}/ in "
        f"{len(changes)} place(s):",
        "apply": f"{len(changes)} difference(s) remain after applying (by hand):",
    }[args.command]
    print(heading)
    _print(changes)
    return EXIT_OK if args.command == "plan" else EXIT_DRIFT


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    try:
        return run(args, environ)
    except DeployConfigError as error:
        print(f"admin_requests.deploy: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except AdminRequestsError as error:
        print(f"admin_requests.deploy: {error}", file=sys.stderr)
        return EXIT_DRIFT
