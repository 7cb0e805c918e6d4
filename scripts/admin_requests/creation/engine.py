"""One feedstock-creation run: every waiting recipe on its own, then one removal commit.

For each recipe found in the staged-recipes checkout (recipes.py), in name order and at
most ``max_recipes`` per run:

1. the queue's decision rule (queue/decision.py) on its ``creation-state/`` file: run
   it, wait for its backoff, or leave it parked until the recipe changes or core retries;
2. its rendering from the unprivileged job must be for this very recipe (same git tree);
   a failed render, a refused name or a repository that exists with other content make
   the recipe stuck at once (parked, with the reason);
3. the steps (steps.py) in order, each recorded in the state as it is verified; a
   transient failure counts an attempt (backoff, parked after the policy's attempts),
   anything else is isolated to this recipe. At most ``max_recipes`` are attempted;
   parked and waiting recipes do not count.

Then the recipes whose steps all hold are removed from staged-recipes in one commit,
pushed with a token that may pass its protection and rebased on a non-fast-forward.
Only after that push are their pull requests told the feedstock is ready, their issues
closed and their state files deleted (a recipe whose removal did not land is verified
and removed again by the next run). The run fails (exit 1) when it parks a recipe.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from admin_requests.config import Settings
from admin_requests.creation.credentials import CreationCredentials
from admin_requests.creation.notify import RecipeNotifier, ready_comment, stuck_comment
from admin_requests.creation.progress import ProgressStore, RecipeProgress
from admin_requests.creation.recipes import StagedRecipe, find_recipes
from admin_requests.creation.render import RecipeRendering, load_renderings
from admin_requests.creation.steps import (
    ALWAYS_VERIFIED,
    STEP_NAMES,
    STEPS,
    AzureRegistrar,
    RecipeContext,
)
from admin_requests.errors import (
    AdminRequestsError,
    GitError,
    PermanentError,
    RecipeStuck,
)
from admin_requests.queue.checkpoints import Checkpoint, no_checkpoint
from admin_requests.queue.decision import Verdict, decide
from admin_requests.queue.gitops import Git
from admin_requests.queue.state import RequestState, RetryPolicy
from admin_requests.services.http import Retrier
from admin_requests.validation.names import check_feedstock_name, check_target_repository

log = logging.getLogger(__name__)

# Feedstock names that would take over an organisation team (conda-smithy names each
# feedstock's team after it, and conda-forge's script skipped these: REPO_SKIP_LIST in
# scripts/create_feedstocks.py) or a repository that is not a feedstock.
RESERVED_NAMES = frozenset(
    {"core", "bot", "staged-recipes", "arm-arch", "systems", "ctx", "all-members"}
)
REMOVAL_MESSAGE = "Removed recipe{s} ({names}) after converting into feedstock{s}."


@dataclass(frozen=True)
class CreationConfig:
    root: Path  # this repository's checkout: creation-state/ lives here
    staged_recipes: Path  # a checkout of staged-recipes (with history)
    rendered: Path  # the render job's renderings
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    max_recipes: int = 10
    retry: frozenset[str] = frozenset()  # recipe names to un-park
    only: frozenset[str] = frozenset()  # when given, only these recipes
    staged_remote: str = "origin"
    staged_branch: str = "main"


@dataclass
class RecipeResult:
    recipe: str
    feedstock: str
    # created, ready (until removed), retrying, parked (in this run), still-parked,
    # waiting (backoff), not-rendered, later (budget spent), removal-failed
    status: str
    detail: str
    steps: dict[str, str] = field(default_factory=dict)
    issue: int | None = None


@dataclass
class RunReport:
    results: list[RecipeResult] = field(default_factory=list)
    removal_commit: str | None = None

    @property
    def parked(self) -> list[RecipeResult]:
        """The recipes parked by this run (not those parked earlier: their issue is open)."""
        return [r for r in self.results if r.status == "parked"]

    def exit_code(self) -> int:
        """1 when this run parked a recipe or could not remove finished ones; a recipe
        parked earlier keeps its issue open and does not turn every later run red."""
        failed = self.parked or [r for r in self.results if r.status == "removal-failed"]
        return 1 if failed else 0


class CreationRun:
    def __init__(
        self,
        config: CreationConfig,
        settings: Settings,
        credentials: CreationCredentials,
        notifier: RecipeNotifier,
        staged_git: Git,
        *,
        clock: Callable[[], datetime],
        retrier: Retrier,
        azure: AzureRegistrar | None = None,
        checkpoint: Checkpoint = no_checkpoint,
    ) -> None:
        self.config = config
        self.settings = settings
        self.credentials = credentials
        self.notifier = notifier
        self.staged = staged_git
        self.clock = clock
        self.retrier = retrier
        self.azure = azure
        self.checkpoint = checkpoint
        self.store = ProgressStore(config.root)

    # -- the run ------------------------------------------------------------------------

    def run(self, guard: Callable[[], None] | None = None) -> RunReport:
        """``guard`` is called before each recipe and before the removal (the run lease's
        ``keep``): what it raises (LeaseLostError) stops the run there."""
        report = RunReport()
        self._sync_staged()
        recipes = find_recipes(self.config.staged_recipes)
        present = {r.name for r in recipes}
        if self.config.only:
            recipes = [r for r in recipes if r.name in self.config.only]
        renderings = load_renderings(self.config.rendered)
        ready: list[RecipeResult] = []
        attempted = 0
        for recipe in recipes:
            # The budget counts the recipes attempted: parked and waiting ones take none,
            # so they never hold back the recipes behind them.
            if guard is not None:
                guard()
            if attempted >= self.config.max_recipes:
                report.results.append(
                    RecipeResult(recipe.name, "", "later", "the run's budget of recipes is spent")
                )
                continue
            result = self._one(recipe, renderings.get(recipe.name))
            report.results.append(result)
            if result.status not in ("still-parked", "waiting", "not-rendered"):
                attempted += 1
            if result.status == "ready":
                ready.append(result)
        # Recipes removed by an earlier run whose pull request was not told yet.
        for name in self.store.recipes():
            if name not in present:
                finished = self._finished_elsewhere(name)
                if finished is not None:
                    report.results.append(finished)
        # The feedstocks are ready: say so first (once), then remove the recipes. A run
        # that stops in between is finished by the next, which says nothing twice.
        for result in ready:
            self.notifier.comment(
                result.recipe,
                self._ready_words(result.recipe, result.feedstock, result.steps),
                once=True,
            )
        if ready:
            if guard is not None:
                guard()
            report.removal_commit = self._remove(ready)
        for result in ready:
            if report.removal_commit is not None:
                self._finish(result.recipe, result.feedstock, result.issue)
                result.status = "created"
                result.detail = (
                    f"created {self._url(result.feedstock)}; recipe removed from staged-recipes"
                )
            else:
                result.status = "removal-failed"
        return report

    def _sync_staged(self) -> None:
        """Start from staged-recipes as it is now (a reused checkout may hold an
        interrupted run's unpushed removal)."""
        git = self.staged
        git.run("fetch", "--quiet", self.config.staged_remote, self.config.staged_branch)
        git.run("checkout", "--quiet", "--force", "-B", self.config.staged_branch, "FETCH_HEAD")

    def _tree(self, recipe: StagedRecipe) -> str:
        done = self.staged.run("rev-parse", f"HEAD:{recipe.path}", check=False)
        return done.stdout.strip()

    # -- one recipe ---------------------------------------------------------------------

    def _one(self, recipe: StagedRecipe, rendering: RecipeRendering | None) -> RecipeResult:
        digest = self._tree(recipe)
        request = ProgressStore.request_of(recipe.name)
        progress = self.store.load(recipe.name)
        decision = decide(
            request,
            progress.state if progress else None,
            digest,
            self.clock(),
            retry=frozenset(ProgressStore.request_of(r) for r in self.config.retry),
        )
        state = decision.state or RequestState(request, digest)
        feedstock = rendering.feedstock if rendering else (progress.feedstock if progress else "")
        steps = dict(progress.steps) if progress and not decision.changed else {}
        progress = RecipeProgress(state, feedstock, steps)
        if decision.verdict is Verdict.PARKED:
            return self._result(progress, "still-parked", decision.describe())
        if decision.verdict is Verdict.WAIT:
            return self._result(progress, "waiting", decision.describe())
        if rendering is None or rendering.recipe_tree != digest:
            # Not attempted: the render job has not rendered this version yet.
            return self._result(
                progress, "not-rendered", "waiting for the render job to render this version"
            )
        try:
            progress = self._steps(recipe, rendering, progress)
        except RecipeStuck as error:
            return self._failed(progress, str(error), permanent=True)
        except PermanentError as error:
            return self._failed(progress, str(error), permanent=True)
        except AdminRequestsError as error:  # transient service errors, git, credentials
            return self._failed(progress, str(error), permanent=False)
        except Exception as error:  # a bug: isolated to this recipe, counted as an attempt
            log.exception("recipes/%s failed unexpectedly", recipe.name)
            return self._failed(
                progress, f"unexpected {type(error).__name__}: {error}", permanent=False
            )
        return self._result(
            progress, "ready", "every step verified; removed from staged-recipes next"
        )

    def _steps(
        self, recipe: StagedRecipe, rendering: RecipeRendering, progress: RecipeProgress
    ) -> RecipeProgress:
        if rendering.error is not None:
            raise RecipeStuck(
                f"conda-smithy could not render the recipe: {rendering.error}. Fix the recipe "
                "in a new pull request to staged-recipes (it is rendered again when it changes)."
            )
        refused = self._refused_name(rendering.feedstock)
        if refused:
            raise RecipeStuck(refused)
        ctx = RecipeContext(
            rendering,
            self.config.staged_recipes,
            self.settings,
            self.credentials,
            self.retrier,
            self.azure,
            self.checkpoint,
        )
        for name, step in STEPS:
            if name in progress.steps and name not in ALWAYS_VERIFIED:
                continue
            evidence = step(ctx)
            progress = progress.with_step(name, evidence)
            self.store.save(progress)
            self.checkpoint(f"{recipe.name}: {name} recorded")
        return progress

    def _refused_name(self, feedstock: str) -> str | None:
        return refused_name(feedstock, self.settings)

    def _failed(self, progress: RecipeProgress, error: str, *, permanent: bool) -> RecipeResult:
        state = progress.state.after_failed_attempt(
            now=self.clock(),
            digest=progress.state.content_sha256,
            pending={n: "not verified yet" for n in STEP_NAMES if n not in progress.steps},
            error=error,
            permanent=permanent,
            policy=self.config.policy,
        )
        progress = RecipeProgress(state, progress.feedstock, progress.steps)
        if state.parked:
            issue = state.issue or self.notifier.open_issue(
                progress.recipe, progress.feedstock, error
            )
            if issue is not None and state.issue is None:
                state = _with_issue(state, issue)
                progress = RecipeProgress(state, progress.feedstock, progress.steps)
            self.store.save(progress)
            where = f"{self.settings.repository}#{state.issue}" if state.issue else None
            self.notifier.comment(progress.recipe, stuck_comment(progress.recipe, error, where))
            return self._result(progress, "parked", error)
        self.store.save(progress)
        return self._result(progress, "retrying", error)

    def _result(self, progress: RecipeProgress, status: str, detail: str) -> RecipeResult:
        return RecipeResult(
            progress.recipe,
            progress.feedstock,
            status,
            detail,
            dict(progress.steps),
            progress.state.issue,
        )

    # -- removal and announcement -------------------------------------------------------

    def _remove(self, ready: list[RecipeResult]) -> str | None:
        """One commit removing the ready recipes, pushed (rebased if staged-recipes
        moved); the commit, or None when it could not be pushed."""
        git = self.staged
        paths = [f"recipes/{r.recipe}" for r in ready]
        git.run("rm", "-r", "--quiet", "--", *paths)
        names = ", ".join(r.recipe for r in ready)
        message = REMOVAL_MESSAGE.format(s="s" if len(ready) > 1 else "", names=names)
        git.run("commit", "--quiet", "--no-verify", "-m", message)
        self.checkpoint("removal committed")
        try:
            git.push_with_rebase(self.config.staged_remote, self.config.staged_branch)
        except GitError as error:
            log.error("removing %s from staged-recipes failed: %s", names, error)
            for result in ready:
                result.detail = (
                    f"the feedstock is ready but removing the recipe from staged-recipes "
                    f"failed ({error}); the next run removes it"
                )
            return None
        self.checkpoint("removal pushed")
        return git.head()

    def _url(self, feedstock: str) -> str:
        return f"https://github.com/{self.settings.organisation}/{feedstock}-feedstock"

    def _ready_words(self, recipe: str, feedstock: str, steps: dict[str, str]) -> str:
        outputs = steps.get("outputs", "")
        notes = [f"outputs: {outputs}"] if "owned" in outputs else []
        if outputs.startswith("none:"):
            notes.append(
                "no output name could be read from the recipe: if uploads fail with "
                "'output not allowed', ask for them with an add_feedstock_output request"
            )
        return ready_comment(recipe, self._url(feedstock), notes)

    def _finish(self, recipe: str, feedstock: str, issue: int | None) -> None:
        """Close the recipe's issue (found by its marker when the state was lost), then
        forget the recipe; a failed close keeps the state so the next run closes it."""
        issue = issue or self.notifier.find_issue(recipe)
        if issue is not None and not self.notifier.close_issue(recipe, issue, self._url(feedstock)):
            return
        self.store.delete(recipe)

    def _finished_elsewhere(self, recipe: str) -> RecipeResult | None:
        """A recipe gone from staged-recipes whose steps all held: announced by a run
        that stopped after the removal; finish the announcement."""
        progress = self.store.load(recipe)
        if progress is None or set(progress.steps) != set(STEP_NAMES):
            return None
        self.notifier.comment(
            recipe, self._ready_words(recipe, progress.feedstock, progress.steps), once=True
        )
        self._finish(recipe, progress.feedstock, progress.state.issue)
        url = self._url(progress.feedstock)
        return RecipeResult(recipe, progress.feedstock, "created", f"created {url}", progress.steps)


def _with_issue(state: RequestState, issue: int) -> RequestState:
    return dataclasses.replace(state, issue=issue)


def refused_name(feedstock: str, settings: Settings) -> str | None:
    """Why a rendered feedstock name may not be created (None: it may)."""
    problem = check_feedstock_name(feedstock) if feedstock else "the rendering names no feedstock"
    if problem:
        return f"the feedstock name is refused: {problem}"
    if feedstock.lower() in RESERVED_NAMES:
        return (
            f"the feedstock name {feedstock!r} is reserved (it would name one of the "
            "organisation's teams); rename the package in a new pull request."
        )
    protected = check_target_repository(
        feedstock, f"{feedstock}-feedstock", settings.protected_repositories
    )
    return f"the feedstock name is refused: {protected}" if protected else None
