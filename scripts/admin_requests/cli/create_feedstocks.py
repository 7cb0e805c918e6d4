"""``admin-requests create-feedstocks``: turn staged recipes into feedstocks.

Two commands, for two jobs (docs/feedstock-creation.md):

- ``create-feedstocks render --staged-recipes DIR --output DIR`` runs conda-smithy on each
  waiting recipe (``--recipe NAME`` for one). It must run where no credential is: it
  builds no client and reads no token (creation/render.py);
- ``create-feedstocks run --staged-recipes DIR --rendered DIR`` is the privileged job:
  each recipe's steps with tokens scoped per step from the credential broker, then one
  removal commit pushed to staged-recipes. ``--retry NAME`` un-parks a recipe (and with
  ``--only`` runs just it); ``--dry-run`` shows what would happen and mints nothing.
  Exit 1 when a recipe is parked or a removal could not be pushed.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from admin_requests.config import Settings
from admin_requests.errors import UsageError

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
    run.set_defaults(handler=command_run_creation)


def _names(values: list[str]) -> frozenset[str]:
    return frozenset(Path(v.strip()).name for v in values if v.strip())


def command_render_recipes(
    args: argparse.Namespace, environ: Mapping[str, str] = os.environ
) -> int:
    from admin_requests.creation.recipes import find_recipes
    from admin_requests.creation.render import RecipeRenderer

    settings = Settings.from_environ(environ)
    if not settings.conda_smithy:
        raise UsageError("set CONDA_SMITHY to conda-smithy's executable to render recipes")
    staged = Path(args.staged_recipes)
    wanted = _names(args.recipe)
    renderer = RecipeRenderer(settings.conda_smithy, environ)
    for recipe in find_recipes(staged):
        if wanted and recipe.name not in wanted:
            continue
        rendering = renderer.render(staged, recipe, Path(args.output))
        what = (
            f"failed: {rendering.error}" if rendering.error else f"{rendering.feedstock}-feedstock"
        )
        print(f"recipes/{recipe.name}: {what}")
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
    return _run(config, settings, environ, push=(args.remote, args.branch) if args.push else None)


def _dry_run(config: object) -> int:
    from admin_requests.creation.engine import CreationConfig
    from admin_requests.creation.plan import describe_plan

    assert isinstance(config, CreationConfig)
    for line in describe_plan(config, datetime.now(UTC)):
        print(line)
    return 0


def _run(
    config: object,
    settings: Settings,
    environ: Mapping[str, str],
    *,
    push: tuple[str, str] | None,
) -> int:
    from admin_requests.cli.run import build_tracker, open_job_broker, push_token_for
    from admin_requests.creation.ci import AzurePipelines
    from admin_requests.creation.credentials import BrokerCredentials
    from admin_requests.creation.engine import CreationConfig, CreationRun
    from admin_requests.creation.notify import STAGED_RECIPES, RecipeNotifier
    from admin_requests.creation.progress import STATE_DIR
    from admin_requests.queue.checkpoints import checkpoint_from_environ
    from admin_requests.queue.gitops import Git
    from admin_requests.services.http import Retrier

    assert isinstance(config, CreationConfig)
    broker = open_job_broker(settings, environ, dry_run=False)
    if broker is None:
        raise UsageError(
            "feedstock creation needs the credential broker (ADMIN_REQUESTS_CREDENTIALS and "
            "the vault or AWS settings): it never runs on the job's GITHUB_TOKEN alone"
        )
    retrier = Retrier()
    checkpoint = checkpoint_from_environ(environ)
    with broker:
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
        report = run.run()
        if push is not None:
            # What the run remembers (attempts, backoff, parking) must outlive the
            # runner: committed here and pushed with an App token for this repository.
            home = Git(config.root, push_token=push_token_for(broker, settings))
            parked = len(report.parked)
            message = f"Feedstock creation: {len(report.results)} recipe(s), {parked} parked"
            if home.commit([STATE_DIR], message):
                home.push_with_rebase(*push)
    # After the broker closed: the summary shows every credential ended.
    _summarise(report, broker, environ)
    return report.exit_code()


def _summarise(report: object, broker: object, environ: Mapping[str, str]) -> None:
    """The log lines, ``::error`` for each recipe parked now, and the job summary."""
    from admin_requests.actions_output import (
        append_step_summary,
        escape_command_data,
        neutralise_commands,
        render,
        running_in_actions,
    )
    from admin_requests.creation.engine import RunReport
    from admin_requests.credentials.broker import CredentialBroker

    assert isinstance(report, RunReport)
    assert isinstance(broker, CredentialBroker)
    for result in report.results:
        print(neutralise_commands(f"recipes/{result.recipe}: {result.status}: {result.detail}"))
        if result.status == "parked" and running_in_actions(environ):
            words = escape_command_data(f"recipes/{result.recipe}: {result.detail}")
            print(f"::error title=feedstock creation stuck::{words}")
    print(json.dumps({"parked": [r.recipe for r in report.parked]}))

    def count(status: str) -> int:
        return sum(r.status == status for r in report.results)

    append_step_summary(render("creation_summary.md.j2", report=report, count=count), environ)
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
