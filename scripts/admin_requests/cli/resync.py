"""``admin-requests resync``: the weekly repodata resync's privileged job.

``resync --diff FILE`` reads what ``resync-diff`` found (cli/resync_diff.py, the job
without credentials; the workflow starts this job only for a difference, and writes
the first job's ``diff`` output to FILE) and runs in the job that may get a token: an
empty diff
ends there, before any credential is asked for; otherwise it takes a token scoped to
the patches feedstock (``contents: write``, ``issues: write``) and publishes
(resync/publish.py). See docs/operations.md, "The weekly repodata resync".
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

from admin_requests.access import Access
from admin_requests.actions_output import append_step_summary, neutralise_commands
from admin_requests.cli.run import _report_credentials, open_job_broker
from admin_requests.config import Settings
from admin_requests.errors import ServiceError, UsageError
from admin_requests.resync.diff import is_empty
from admin_requests.resync.publish import publish
from admin_requests.services import Services
from admin_requests.services.github import GitHubClient

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED = 0, 1


def command_resync(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> int:
    path = Path(args.diff)
    if not path.is_file():
        raise UsageError(f"no such file: {path} (the resync-diff job's output)")
    diff = path.read_text(encoding="utf-8")
    settings = Settings.from_environ(environ)
    target = f"{settings.organisation}/{settings.repodata_patches_repository}"
    if is_empty(diff):
        print(f"the repodata patches and anaconda.org agree: nothing to do for {target}")
        return EXIT_OK
    print(neutralise_commands(f"the repodata patches and anaconda.org differ:\n{diff}"))
    if args.dry_run:
        print(f"dry run: would commit to {target} and update its resync issue")
        return EXIT_OK
    server = environ.get("GITHUB_SERVER_URL", "https://github.com")
    run_url = None
    if environ.get("GITHUB_RUN_ID") and environ.get("GITHUB_REPOSITORY"):
        run_url = f"{server}/{environ['GITHUB_REPOSITORY']}/actions/runs/{environ['GITHUB_RUN_ID']}"
    try:
        with _patches_client(settings, environ) as github:
            done = publish(diff, github, settings, today=datetime.now(UTC).date(), run_url=run_url)
    except ServiceError as error:
        print(neutralise_commands(f"the resync did not complete: {error}"))
        return EXIT_FAILED
    what = "opened" if done.opened else "updated"
    line = f"rebuilt the patches ({done.commit[:12]} on {target}) and {what} issue #{done.issue}"
    print(line)
    append_step_summary(f"## Repodata resync\n\n{line}\n", environ)
    return EXIT_OK


@contextlib.contextmanager
def _patches_client(settings: Settings, environ: Mapping[str, str]) -> Iterator[GitHubClient]:
    """A client with a token for the patches feedstock only, revoked at the end.

    Without a credentials backend (a local run against the sandbox) the job token.
    """
    broker = open_job_broker(settings, environ, dry_run=False)
    token = environ.get("GITHUB_TOKEN", "")
    if broker is None:
        if not token:
            raise UsageError("set GITHUB_TOKEN, or run ./actions/vault-credentials first")
        yield Services.build(settings, github_token=token, anaconda_token=None).github
        return
    access = Access(
        github_repositories=(settings.repodata_patches_repository,),
        github_permissions={"contents": "write", "issues": "write"},
    )
    try:
        with (
            broker,
            broker.request_services(
                access, settings, label="repodata resync", default_github_token=token
            ) as services,
        ):
            yield services.github_for(settings.repodata_patches_repository)
    finally:
        _report_credentials(broker, environ)
