"""``admin-requests create-feedstocks``: turn staged recipes into feedstocks.

Two commands, for two jobs (docs/feedstock-creation.md):

- ``create-feedstocks render --staged-recipes DIR --output DIR`` runs conda-smithy on each
  waiting recipe (``--recipe NAME`` for one). It must run where no credential is: it
  builds no client and reads no token (creation/render.py);
- ``create-feedstocks run --staged-recipes DIR --rendered DIR`` is the privileged job:
  each recipe's steps with tokens scoped per step from the credential broker, then one
  removal commit pushed to staged-recipes. ``--retry NAME`` un-parks a recipe (and with
  ``--only`` runs just it); ``--dry-run`` shows what would happen and mints nothing.
  With ``--push`` (the workflow) it first takes the creation lease
  (``admin-requests/create-feedstocks-lease`` on ``--remote``, queue/lease.py), so two
  runs never overlap even when the concurrency group does not hold; a run that finds
  it held does nothing, says so and exits 0.
  Exit 1 when a recipe is parked or a removal could not be pushed.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from admin_requests.config import Settings
from admin_requests.errors import UsageError
from admin_requests.queue.lease import MAX_TTL

if TYPE_CHECKING:
    from collections.abc import Callable

    from admin_requests.creation.engine import CreationConfig, RunReport
    from admin_requests.credentials.broker import CredentialBroker
    from admin_requests.queue.checkpoints import Checkpoint
    from admin_requests.queue.gitops import Git
    from admin_requests.services.http import Retrier

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    create = sub.add_parser(
        "create-feedstocks",
        help="turn recipes merged into staged-recipes into feedstocks",
        description="render: conda-smithy on each recipe, without credentials. run: create "
        "each feedstock step by step with scoped tokens, then remove the finished recipes "
        "from staged-recipes in one commit.",
    )
    steps = create.add_subparsers(dest="creation_command", required=True, metavar="STEP")
    render = steps.add_parser("render", help="render the waiting recipes (no credentials)")
    render.add_argument("--staged-recipes", required=True, metavar="DIR")
    render.add_argument("--output", required=True, metavar="DIR")
    render.add_argument("--recipe", action="append", default=[], metavar="NAME")
    render.set_defaults(handler=command_render_recipes)
    run = steps.add_parser("run", help="create the feedstocks of the rendered recipes")
    run.add_argument("--staged-recipes", required=True, metavar="DIR")
    run.add_argument("--rendered", required=True, metavar="DIR")
    run.add_argument("--root", default=".", help="this repository's checkout (default: .)")
    run.add_argument("--retry", action="append", default=[], metavar="RECIPE")
    run.add_argument("--only", action="append", default=[], metavar="RECIPE")
    run.add_argument("--max-recipes", type=int, default=10)
    run.add_argument("--dry-run", action="store_true", help="show the plan; change nothing")
    run.add_argument(
        "--push",
        action="store_true",
        help="commit creation-state/ in --root and push it (rebasing if the branch moved)",
    )
    run.add_argument("--remote", default="origin", help="remote to push to (default: origin)")
    run.add_argument("--branch", default="main", help="branch to push to (default: main)")
    run.add_argument(
        "--lease-ttl",
        type=float,
        default=1200,
        help="seconds the creation lease lasts without renewal (default: 1200)",
    )
    run.set_defaults(handler=command_run_creation)


def _names(values: list[str]) -> frozenset[str]:
    return frozenset(Path(v.strip()).name for v in values if v.strip())


def command_render_recipes(
    args: argparse.Namespace, environ: Mapping[str, str] = os.environ
) -> int:
    from admin_requests.creation.recipes import find_recipes
    from admin_requests.creation.render import RecipeRenderer, RecipeRendering, write_index

    output = Path(args.output)
    renderings: list[RecipeRendering] = []
    # The index is written whatever happens below (no recipe, every one failed, even a
    # crash), so the render job always has an artifact to hand on.
    try:
        settings = Settings.from_environ(environ)
        if not settings.conda_smithy:
            raise UsageError("set CONDA_SMITHY to conda-smithy's executable to render recipes")
        staged = Path(args.staged_recipes)
        wanted = _names(args.recipe)
        renderer = RecipeRenderer(settings.conda_smithy, environ)
        for recipe in find_recipes(staged):
            if wanted and recipe.name not in wanted:
                continue
            rendering = renderer.render(staged, recipe, output)
            renderings.append(rendering)
            what = (
                f"failed: {rendering.error}"
                if rendering.error
                else f"{rendering.feedstock}-feedstock"
            )
            print(f"recipes/{recipe.name}: {what}")
    finally:
        index = write_index(output, renderings)
    failed = sum(r.error is not None for r in renderings)
    print(f"{len(renderings)} recipe(s) rendered, {failed} failed; index {index}")
    return 0


def command_run_creation(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> int:
    from admin_requests.creation.engine import CreationConfig
    from admin_requests.queue.state import RetryPolicy

    config = CreationConfig(
        root=Path(args.root),
        staged_recipes=Path(args.staged_recipes),
        rendered=Path(args.rendered),
        policy=RetryPolicy.from_environ(environ),
        max_recipes=args.max_recipes,
        retry=_names(args.retry),
        only=_names(args.only),
    )
    settings = Settings.from_environ(environ)
    if args.dry_run:
        return _dry_run(config)
    ttl = timedelta(seconds=args.lease_ttl)
    if not timedelta(0) <= ttl <= MAX_TTL:
        raise UsageError(
            f"--lease-ttl {args.lease_ttl:g} is outside 0..{MAX_TTL.total_seconds():g} seconds"
        )
    push = (args.remote, args.branch) if args.push else None
    return _run(config, settings, environ, push=push, lease_ttl=ttl)


def _dry_run(config: object) -> int:
    from admin_requests.creation.engine import CreationConfig
    from admin_requests.creation.plan import describe_plan

    assert isinstance(config, CreationConfig)
    for line in describe_plan(config, datetime.now(UTC)):
        print(line)
    return 0


def _run(
    config: CreationConfig,
    settings: Settings,
    environ: Mapping[str, str],
    *,
    push: tuple[str, str] | None,
    lease_ttl: timedelta,
) -> int:
    from admin_requests.cli.run import open_job_broker, push_token_for
    from admin_requests.queue.checkpoints import checkpoint_from_environ
    from admin_requests.queue.gitops import Git
    from admin_requests.services.http import Retrier

    broker = open_job_broker(settings, environ, dry_run=False)
    if broker is None:
        raise UsageError(
            "feedstock creation needs the credential broker (ADMIN_REQUESTS_CREDENTIALS and "
            "the vault or AWS settings): it never runs on the job's GITHUB_TOKEN alone"
        )
    retrier = Retrier()
    checkpoint = checkpoint_from_environ(environ)
    report: RunReport | None = None
    code = 0
    with broker:
        if push is None:
            report = _create(config, settings, environ, broker, retrier, checkpoint, None)
        else:
            # creation-state/ and the lease live in this repository, pushed with an App
            # token per push; fetches send the job's token.
            home = Git(
                config.root,
                token=environ.get("GITHUB_TOKEN") or None,
                push_token=push_token_for(broker, settings),
                checkpoint=checkpoint,
            )
            outcome = _under_lease(
                config, settings, environ, broker, retrier, home, push, lease_ttl
            )
            if isinstance(outcome, int):
                code = outcome
            else:
                report = outcome
    # After the broker closed: the summary shows every credential ended.
    if report is None:
        _summarise_credentials(broker, environ)
        return code
    _summarise(report, broker, environ)
    return report.exit_code()


def _under_lease(
    config: CreationConfig,
    settings: Settings,
    environ: Mapping[str, str],
    broker: CredentialBroker,
    retrier: Retrier,
    home: Git,
    push: tuple[str, str],
    lease_ttl: timedelta,
) -> RunReport | int:
    """The run under the creation lease, then creation-state/ pushed; an exit code
    instead of a report when the lease is held by another run (0) or stuck (1)."""
    from admin_requests.actions_output import (
        append_step_summary,
        escape_markdown,
        neutralise_commands,
    )
    from admin_requests.cli import EXIT_INVALID
    from admin_requests.cli.run import lease_holder, report_stuck
    from admin_requests.creation.progress import STATE_DIR
    from admin_requests.errors import AdminRequestsError
    from admin_requests.queue.lease import (
        CREATION_LEASE_REF,
        LeaseBusyError,
        LeaseLostError,
        LeaseStuckError,
        RunLease,
    )

    lease = RunLease(
        home,
        push[0],
        holder=lease_holder(environ),
        clock=lambda: datetime.now(UTC),
        ttl=lease_ttl,
        ref=CREATION_LEASE_REF,
        work="creating feedstocks",
        what="feedstock creation",
    )
    try:
        lease.acquire()
    except LeaseBusyError as exc:
        # Before anything is done: nothing was minted but the vault login, which the
        # broker revokes as it closes.
        print(neutralise_commands(f"admin-requests: {exc}"))
        append_step_summary(
            f"## Feedstock creation\n\nNothing done: {escape_markdown(str(exc))}\n", environ
        )
        return 0
    except LeaseStuckError as exc:
        report_stuck(str(exc), environ, title="feedstock creation")
        return EXIT_INVALID
    except AdminRequestsError as exc:  # the remote cannot be reached
        print(neutralise_commands(f"admin-requests: error: {exc}"), file=sys.stderr)
        return EXIT_INVALID
    try:
        # Under the lease: start from what the previous run pushed.
        left = home.discard_interrupted([STATE_DIR])
        if left:
            log.warning("an interrupted run left %s changed; discarded", ", ".join(left))
        home.sync(*push)
        report = _create(config, settings, environ, broker, retrier, home.checkpoint, lease.keep)
        # What the run remembers (attempts, backoff, parking) must outlive the runner:
        # committed here and pushed with an App token for this repository.
        lease.keep()
        parked = len(report.parked)
        message = f"Feedstock creation: {len(report.results)} recipe(s), {parked} parked"
        if home.commit([STATE_DIR], message):
            home.push_with_rebase(*push)
        return report
    except LeaseLostError as exc:
        # Another run took over: it does what is left; this one pushes nothing more.
        print(neutralise_commands(f"admin-requests: error: {exc}"), file=sys.stderr)
        return EXIT_INVALID
    finally:
        lease.release()


def _create(
    config: CreationConfig,
    settings: Settings,
    environ: Mapping[str, str],
    broker: CredentialBroker,
    retrier: Retrier,
    checkpoint: Checkpoint,
    guard: Callable[[], None] | None,
) -> RunReport:
    """The creation run itself: the engine, with a token per step from ``broker``."""
    from admin_requests.cli.run import build_tracker
    from admin_requests.creation.ci import AzurePipelines
    from admin_requests.creation.credentials import BrokerCredentials
    from admin_requests.creation.engine import CreationRun
    from admin_requests.creation.notify import STAGED_RECIPES, RecipeNotifier
    from admin_requests.queue.gitops import Git

    credentials = BrokerCredentials(broker, settings, retrier)
    staged = Git(
        config.staged_recipes,
        # Fetches of the public staged-recipes send the job's token (a higher rate
        # limit); the removal push gets an App token of its own.
        token=environ.get("GITHUB_TOKEN") or None,
        push_token=functools.partial(
            broker.push_token, STAGED_RECIPES, label="remove recipes from staged-recipes"
        ),
        checkpoint=checkpoint,
    )
    notifier = RecipeNotifier(
        staged,
        lambda access, label: credentials.services(access, label=label),
        build_tracker(settings, environ),
        settings.organisation,
    )
    run = CreationRun(
        config,
        settings,
        credentials,
        notifier,
        staged,
        clock=lambda: datetime.now(UTC),
        retrier=retrier,
        azure=AzurePipelines(credentials, settings),
        checkpoint=checkpoint,
    )
    return run.run(guard=guard)


def _summarise(report: RunReport, broker: CredentialBroker, environ: Mapping[str, str]) -> None:
    """The log lines, ``::error`` for each recipe parked now, and the job summary."""
    from admin_requests.actions_output import (
        append_step_summary,
        escape_command_data,
        neutralise_commands,
        render,
        running_in_actions,
    )

    if not report.results:
        print("no recipe waits in staged-recipes: nothing to create")
    for result in report.results:
        print(neutralise_commands(f"recipes/{result.recipe}: {result.status}: {result.detail}"))
        if result.status == "parked" and running_in_actions(environ):
            words = escape_command_data(f"recipes/{result.recipe}: {result.detail}")
            print(f"::error title=feedstock creation stuck::{words}")
    print(json.dumps({"parked": [r.recipe for r in report.parked]}))

    def count(status: str) -> int:
        return sum(r.status == status for r in report.results)

    append_step_summary(render("creation_summary.md.j2", report=report, count=count), environ)
    _summarise_credentials(broker, environ)


def _summarise_credentials(broker: CredentialBroker, environ: Mapping[str, str]) -> None:
    from admin_requests.actions_output import append_step_summary, render

    ended = datetime.now(UTC)
    ledger = broker.ledger
    append_step_summary(
        render(
            "run_credentials.md.j2",
            ledger=ledger,
            outliving=ledger.still_valid_after(ended),
            none_reason="none minted",
        ),
        environ,
    )
