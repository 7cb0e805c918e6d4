"""The steps that turn one rendered recipe into a feedstock; each looks before it writes.

In order (docs/feedstock-creation.md has the table of tokens):

1. ``repository``: ``POST /orgs/{org}/repos`` as conda-smithy's ``create_github_repo``
   (public, no wiki, "A conda-smithy repository for NAME."), with a token for that one
   call. A repository that exists is ours only if it is empty or its history starts with
   our commit for this recipe (an interrupted run); otherwise the recipe is stuck and
   core decides. Someone else's content is never overwritten or re-rendered.
2. ``ruleset``: conda-smithy's ``conda-forge-branch-protection`` (no deletion, no force
   push on the default branch), created or corrected, then read back; written again
   until it holds, and checked on every run until the recipe is done.
3. ``content``: the rendering, as one commit made the same way every time (fixed
   identity and date), pushed once with a token for that repository (contents and
   workflows write) and verified with ``git ls-remote``. A remote whose history holds
   that commit, or our first commit for this recipe, is not pushed again. The commit
   says ``[skip ci]``: the first build starts with step 7, when the token exists.
4. ``ci``: GitHub Actions needs nothing; Azure Pipelines through the Azure registrar.
5. ``token``: token_reset's own machinery (provisional hash, CI secret, final hash),
   skipped when the registry already has a final entry for every provider and the
   Actions secret exists: a rerun never issues a second token.
6. ``outputs``: each output the recipe builds is registered in feedstock-outputs when
   nobody has it (add_feedstock_output's path and file format); an output another
   feedstock owns is left alone and reported, as conda-forge's script does.
7. ``maintainers``: the empty ``.recipe_maintainers.json`` that hands the maintainers'
   team to the webservices; this commit starts the feedstock's first build.
"""

from __future__ import annotations

import contextlib
import filecmp
import functools
import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol, cast

from admin_requests.access import Access, create_repository_access
from admin_requests.config import Settings
from admin_requests.creation.credentials import CreationCredentials
from admin_requests.creation.render import RecipeRendering
from admin_requests.errors import (
    ConflictError,
    PermanentError,
    RecipeStuck,
    TransientError,
    UncertainWriteError,
)
from admin_requests.git_auth import token_environment
from admin_requests.kinds.add_feedstock_output import add_feedstock, outputs_config, sharded_path
from admin_requests.kinds.contract import OutcomeStatus
from admin_requests.kinds.feedstock_facts import CONDA_FORGE_YML, ci_providers
from admin_requests.kinds.token_reset import KIND as TOKEN_RESET
from admin_requests.kinds.token_reset import SECRET_NAME, STORABLE, TokenResetRequest, registry
from admin_requests.queue.checkpoints import Checkpoint, no_checkpoint
from admin_requests.services import Services
from admin_requests.services.github import GitHubClient
from admin_requests.services.http import Retrier
from admin_requests.services.smithy import IDENTITY
from admin_requests.validation.fields import Text
from admin_requests.validation.names import CI_PROVIDERS, check_package_name

log = logging.getLogger(__name__)

DESCRIPTION = "A conda-smithy repository for {name}."
RULESET_NAME = "conda-forge-branch-protection"
# conda_smithy/github.py, _conda_forge_specific_repo_setup (081ec6b, August 2026).
RULESET = {
    "name": RULESET_NAME,
    "target": "branch",
    "conditions": {"ref_name": {"exclude": [], "include": ["~DEFAULT_BRANCH"]}},
    "rules": [{"type": "deletion"}, {"type": "non_fast_forward"}],
    "enforcement": "active",
}
RULESET_ATTEMPTS = 3
BRANCH = "main"
MAINTAINERS_FILE = ".recipe_maintainers.json"
NO_CI = "[ci skip] [skip ci] [cf admin skip] ***NO_CI***"
OUTPUT_MESSAGE = "[cf admin skip] ***NO_CI*** add output {output} for {org}/{name}-feedstock"
# Content commits are the same bytes every time, so a rerun recognises its own push.
COMMIT_DATE = "2000-01-01T00:00:00+0000"


def marker(recipe: str, tree: str) -> str:
    """The line our first commit carries: which staged recipe (and version) it is."""
    return f"admin-requests: feedstock created from staged-recipes recipes/{recipe} (tree {tree})"


class AzureRegistrar(Protocol):
    """Registers a feedstock on Azure Pipelines (conda-smithy's ``register-ci --azure``)."""

    def ensure_pipeline(self, repository: str) -> str:
        """Create the feedstock's pipeline unless it exists; plain words of what was done."""
        ...


@dataclass
class RecipeContext:
    rendering: RecipeRendering
    staged_recipes: Path  # the privileged job's checkout (compared with the rendering)
    settings: Settings
    credentials: CreationCredentials
    retrier: Retrier
    azure: AzureRegistrar | None = None
    checkpoint: Checkpoint = no_checkpoint

    @property
    def name(self) -> str:
        return self.rendering.feedstock

    @property
    def repository(self) -> str:
        return f"{self.rendering.feedstock}-feedstock"

    @property
    def git_url(self) -> str:
        base = f"{self.settings.git_base_url}/{self.settings.organisation}"
        return f"{base}/{self.repository}.git"

    def label(self, step: str) -> str:
        return f"create {self.repository}: {step}"

    def client(self, token: str) -> GitHubClient:
        return GitHubClient.build(self.settings, token, retrier=self.retrier)


Step = Callable[[RecipeContext], str]


# -- 1. repository ------------------------------------------------------------------------


def create_repository(ctx: RecipeContext) -> str:
    with ctx.credentials.github_token(
        create_repository_access(), label=ctx.label("create the repository")
    ) as token:
        try:
            made = ctx.client(token).create_repository(
                ctx.repository, description=DESCRIPTION.format(name=ctx.name)
            )
            ctx.checkpoint("repository created")
            return f"created {made.full_name} (id {made.id})"
        except (ConflictError, UncertainWriteError) as error:
            log.info("%s: %s; looking it up", ctx.repository, error)
    # It exists: made by an interrupted run of ours, or someone else's repository.
    with ctx.credentials.github_token(
        Access((ctx.repository,), {"contents": "read"}), label=ctx.label("look it up")
    ) as token:
        description = ctx.client(token).repository_description(ctx.repository)
        history = _remote_history(ctx, token)
    ours = description == DESCRIPTION.format(name=ctx.name)
    if ours and (history is None or _starts_with_ours(ctx, history)):
        return "exists already: created by an earlier run"
    raise RecipeStuck(
        f"a repository named {ctx.settings.organisation}/{ctx.repository} exists already "
        "with content that admin-requests did not push for this recipe; nothing was "
        "changed. Core: decide whether this recipe should update it (add the recipe to "
        "the existing feedstock by pull request) or be renamed, then close the recipe's "
        "issue or retry it with 'create-feedstocks --retry RECIPE'."
    )


# -- 2. ruleset ---------------------------------------------------------------------------


def ruleset_holds(found: dict[str, Any]) -> bool:
    include = ((found.get("conditions") or {}).get("ref_name") or {}).get("include") or []
    rules = {rule.get("type") for rule in found.get("rules") or []}
    return (
        found.get("enforcement") == "active"
        and found.get("target") == "branch"
        and "~DEFAULT_BRANCH" in include
        and {"deletion", "non_fast_forward"} <= rules
    )


def protect_branch(ctx: RecipeContext) -> str:
    access = Access((ctx.repository,), {"administration": "write"})
    with ctx.credentials.github_token(access, label=ctx.label("the ruleset")) as token:
        github = ctx.client(token)
        for _ in range(RULESET_ATTEMPTS):
            number = next(
                (
                    int(r["id"])
                    for r in github.rulesets(ctx.repository)
                    if r.get("name") == RULESET_NAME
                ),
                None,
            )
            if number is not None and ruleset_holds(github.ruleset(ctx.repository, number)):
                return f"holds ({RULESET_NAME}, id {number})"
            try:
                github.write_ruleset(ctx.repository, dict(RULESET), number)
            except UncertainWriteError as error:
                log.info("%s: %s; reading the rulesets again", ctx.repository, error)
            ctx.checkpoint("ruleset written")
    raise TransientError(
        f"the ruleset {RULESET_NAME!r} of {ctx.repository} did not hold after "
        f"{RULESET_ATTEMPTS} writes; it is written and checked again in the next run"
    )


# -- 3. content ---------------------------------------------------------------------------


def push_content(ctx: RecipeContext) -> str:
    access = Access((ctx.repository,), {"contents": "write", "workflows": "write"})
    with (
        ctx.credentials.github_token(access, label=ctx.label("push the content")) as token,
        tempfile.TemporaryDirectory(prefix="create-content-") as work,
    ):
        checkout = Path(work) / ctx.repository
        commit = _commit_rendering(ctx, checkout)
        history = _remote_history(ctx, token)
        if history is not None:
            if commit in history or _starts_with_ours(ctx, history):
                return f"verified: {BRANCH} holds our commit {commit[:12]}"
            raise RecipeStuck(
                f"{ctx.repository} already has a {BRANCH!r} branch that admin-requests did "
                "not push for this recipe; nothing was pushed. Core: check the repository."
            )
        env = _git_environment(token)
        pushed = _git(
            ["push", "--quiet", ctx.git_url, f"HEAD:refs/heads/{BRANCH}"],
            checkout,
            env,
            check=False,
        )
        ctx.checkpoint("content pushed")
        head = _remote_head(ctx, token)
        if head != commit:
            detail = pushed.stderr.strip().splitlines()[-1:] or ["no message"]
            raise TransientError(
                f"pushing the feedstock's content to {ctx.repository} did not land (remote "
                f"head {head or 'none'}, expected {commit[:12]}; git said: {detail[0][:200]}); "
                "it is pushed again in the next run"
            )
        return f"pushed and verified {commit[:12]}"


def _commit_rendering(ctx: RecipeContext, checkout: Path) -> str:
    content = ctx.rendering.content
    if content is None or not content.is_dir():
        raise RecipeStuck(f"the rendering of recipes/{ctx.rendering.recipe} has no content")
    _check_content(ctx, content)
    shutil.copytree(content, checkout, symlinks=True)
    env = {**_plain_environment(), **IDENTITY}
    env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = COMMIT_DATE
    _git(["init", "--quiet", f"--initial-branch={BRANCH}"], checkout, env)
    _git(["add", "--all", "--force"], checkout, env)
    message = (
        f"Initial feedstock commit for {ctx.name} [skip ci]\n\n"
        f"{marker(ctx.rendering.recipe, ctx.rendering.recipe_tree)}\n"
    )
    _git(["commit", "--quiet", "--no-verify", "-m", message], checkout, env)
    return _git(["rev-parse", "HEAD"], checkout, env).stdout.strip()


def _check_content(ctx: RecipeContext, content: Path) -> None:
    """Refuse a rendering that is not the staged recipe's feedstock (it came from the
    unprivileged job): a nested ``.git``, a symbolic link (it could point anywhere on the
    runner), or a ``recipe/`` that differs from the recipe."""
    for path in content.rglob("*"):
        if path.name == ".git" or path.is_symlink():
            what = "a '.git' entry" if path.name == ".git" else "a symbolic link"
            raise RecipeStuck(
                f"the rendering of recipes/{ctx.rendering.recipe} holds {what} "
                f"({path.relative_to(content)}), which conda-smithy never writes; it was "
                "refused. Core: check the render job's log before retrying."
            )
    staged = ctx.staged_recipes / "recipes" / ctx.rendering.recipe
    differences = _differences(staged, content / "recipe")
    if differences:
        raise RecipeStuck(
            f"the rendering's recipe/ differs from recipes/{ctx.rendering.recipe} in "
            f"staged-recipes ({', '.join(differences[:5])}); it was refused. Core: check the "
            "render job's log before retrying."
        )


def _differences(expected: Path, found: Path) -> list[str]:
    if not found.is_dir():
        return ["recipe/ is missing"]
    names = {p.relative_to(expected).as_posix() for p in expected.rglob("*") if p.is_file()}
    got = {p.relative_to(found).as_posix() for p in found.rglob("*") if p.is_file()}
    # conda-smithy may add files of its own to recipe/ (conda_build_config.yaml); none of
    # the staged recipe's files may be missing or changed.
    missing = sorted(names - got)
    changed = sorted(
        n for n in names & got if not filecmp.cmp(expected / n, found / n, shallow=False)
    )
    return [f"{n} missing" for n in missing] + [f"{n} changed" for n in changed]


def _remote_head(ctx: RecipeContext, token: str) -> str | None:
    out = _git(
        ["ls-remote", ctx.git_url, f"refs/heads/{BRANCH}"],
        None,
        _git_environment(token),
    ).stdout.split()
    return out[0] if out else None


def _remote_history(ctx: RecipeContext, token: str) -> list[str] | None:
    """The commits of the remote's main, newest first (None: the branch does not exist);
    the root commit's message last, as ``__root__:<message>``."""
    if _remote_head(ctx, token) is None:
        return None
    env = _git_environment(token)
    with tempfile.TemporaryDirectory(prefix="create-fetch-") as work:
        here = Path(work)
        _git(["init", "--quiet", "--bare"], here, env)
        _git(["fetch", "--quiet", ctx.git_url, f"refs/heads/{BRANCH}"], here, env)
        commits = _git(["rev-list", "FETCH_HEAD"], here, env).stdout.split()
        root = commits[-1] if commits else ""
        message = _git(["log", "-1", "--format=%B", root], here, env).stdout if root else ""
    return [*commits, f"__root__:{message}"]


def _starts_with_ours(ctx: RecipeContext, history: list[str]) -> bool:
    root = history[-1].removeprefix("__root__:")
    return marker(ctx.rendering.recipe, ctx.rendering.recipe_tree) in root


def _plain_environment() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "TMPDIR")
    return {
        **{n: os.environ[n] for n in keep if n in os.environ},
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
    }


def _git_environment(token: str) -> dict[str, str]:
    return {**_plain_environment(), **token_environment(token)}


def _git(
    args: list[str], cwd: Path | None, env: dict[str, str], *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise TransientError(f"git {args[0]} took longer than 300 s") from None
    if check and done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1][:300]
        raise TransientError(f"git {args[0]} failed (exit {done.returncode}): {last}")
    return done


# -- 4. CI --------------------------------------------------------------------------------


def providers_of(rendering: RecipeRendering) -> dict[str, str]:
    content = rendering.content
    config = content / CONDA_FORGE_YML if content is not None else None
    text = config.read_text(encoding="utf-8") if config is not None and config.is_file() else None
    return ci_providers(text)


def register_ci(ctx: RecipeContext) -> str:
    providers = providers_of(ctx.rendering)
    done = ["github_actions: nothing to register"]
    if "azure" in providers:
        if ctx.azure is None:
            raise RecipeStuck(
                f"{ctx.repository} builds on Azure Pipelines ({providers['azure']}), but Azure "
                "is not configured for admin-requests (AZURE_TENANT_ID/AZURE_CLIENT_ID). Core: "
                "configure the Azure federation, or register the pipeline with conda-smithy "
                "register-ci, then retry the recipe."
            )
        done.append(f"azure: {ctx.azure.ensure_pipeline(ctx.repository)}")
    others = sorted(set(providers) - {"azure", "github_actions"})
    if others:
        raise RecipeStuck(
            f"{ctx.repository} builds on {', '.join(others)}, which feedstock creation does "
            "not register. Core: register it by hand, or change conda-forge.yml's provider "
            "in the recipe's pull request, then retry the recipe."
        )
    return "; ".join(done)


# -- 5. feedstock token ---------------------------------------------------------------------


def _token_request(ctx: RecipeContext) -> TokenResetRequest:
    # Only the providers the new feedstock builds on: no Azure token for a feedstock
    # that builds on GitHub Actions alone.
    targets = _token_targets(ctx)
    return TokenResetRequest(
        f"recipes/{ctx.rendering.recipe}",
        TOKEN_RESET.action,
        (Text(ctx.name),),
        tuple(Text(p) for p in CI_PROVIDERS if p not in targets),
    )


def _token_targets(ctx: RecipeContext) -> list[str]:
    in_use = providers_of(ctx.rendering)
    return [p for p in STORABLE if p == "github_actions" or p in in_use]


def issue_token(ctx: RecipeContext) -> str:
    model = _token_request(ctx)
    # token_reset's access() reads only the settings from its services argument.
    access = TOKEN_RESET.access(model, cast(Services, SimpleNamespace(settings=ctx.settings)))
    with ctx.credentials.services(access, label=ctx.label("the feedstock token")) as services:
        if _token_in_place(ctx, services):
            return "verified: registered and stored on " + ", ".join(_token_targets(ctx))
        (item,) = TOKEN_RESET.plan(model)
        outcome = TOKEN_RESET.execute(item, services)
        ctx.checkpoint("token issued")
    if outcome.status is OutcomeStatus.DONE:
        return outcome.detail.split("\n\n")[0]
    if outcome.status is OutcomeStatus.RETRY:
        raise TransientError(outcome.detail)
    raise PermanentError(outcome.detail)


def _token_in_place(ctx: RecipeContext, services: Services) -> bool:
    tokens_repo = ctx.settings.feedstock_tokens_repository
    path = registry.registry_path(ctx.name)
    found = services.github_for(tokens_repo).get_file(tokens_repo, path)
    entries = registry.parse(found.content if found else None, path)
    final = {e.get("provider") for e in entries if "expires_at" not in e}
    targets = _token_targets(ctx)
    if not set(targets) <= final:
        return False
    return "github_actions" not in targets or services.github_for(
        ctx.repository
    ).actions_secret_exists(ctx.repository, SECRET_NAME)


# -- 6. outputs ---------------------------------------------------------------------------


def register_outputs(ctx: RecipeContext) -> str:
    outputs_repo = ctx.settings.feedstock_outputs_repository
    outputs = list(dict.fromkeys(ctx.rendering.outputs))
    if not outputs:
        return "none: no output name could be read from the recipe (register them by request)"
    access = Access((outputs_repo,), {"contents": "write"})
    with ctx.credentials.services(access, label=ctx.label("register outputs")) as services:
        config = outputs_config(services)
        added, owned, refused = [], [], []
        for output in outputs:
            if check_package_name(output) is not None:
                refused.append(output)
                continue
            path = sharded_path(output, config)
            services.github.update_file(
                outputs_repo,
                path,
                functools.partial(_claim_if_free, feedstock=ctx.name, path=path),
                OUTPUT_MESSAGE.format(output=output, org=ctx.settings.organisation, name=ctx.name),
            )
            found = services.github.get_file(outputs_repo, path)
            owners = _owners(found.content if found else None)
            if ctx.name in owners:
                added.append(output)
            else:
                owned.append(f"{output} ({', '.join(f'{o}-feedstock' for o in sorted(owners))})")
        ctx.checkpoint("outputs registered")
    parts = [f"registered {', '.join(added)}" if added else "none registered"]
    if owned:
        parts.append(f"already owned by other feedstocks: {'; '.join(owned)}")
    if refused:
        parts.append(f"not valid package names: {', '.join(refused)}")
    return "; ".join(parts)


def _claim_if_free(current: bytes | None, *, feedstock: str, path: str) -> bytes | None:
    """The output's file naming ``feedstock`` when nobody has it; else no change (an
    output another feedstock owns is granted only by core, with add_feedstock_output)."""
    return add_feedstock(None, feedstock=feedstock, path=path) if current is None else None


def _owners(content: bytes | None) -> set[str]:
    try:
        names = json.loads(content)["feedstocks"] if content else []
    except (ValueError, KeyError, TypeError):
        return set()
    return {str(n) for n in names} if isinstance(names, list) else set()


# -- 7. .recipe_maintainers.json ----------------------------------------------------------


def hand_over_maintainers(ctx: RecipeContext) -> str:
    access = Access((ctx.repository,), {"contents": "write"})
    with ctx.credentials.services(access, label=ctx.label(MAINTAINERS_FILE)) as services:
        github = services.github
        if github.get_file(ctx.repository, MAINTAINERS_FILE) is not None:
            return "verified: present"
        # ConflictError: written meanwhile (by an interrupted run whose answer was lost).
        with contextlib.suppress(ConflictError):
            github.put_file(
                ctx.repository,
                MAINTAINERS_FILE,
                b"{}",
                f"Hand the maintainers' team to the webservices ({MAINTAINERS_FILE})",
                None,
            )
        ctx.checkpoint("maintainers written")
        if github.get_file(ctx.repository, MAINTAINERS_FILE) is None:
            raise TransientError(f"{MAINTAINERS_FILE} did not appear in {ctx.repository}")
    return "written"


STEPS: tuple[tuple[str, Step], ...] = (
    ("repository", create_repository),
    ("ruleset", protect_branch),
    ("content", push_content),
    ("ci", register_ci),
    ("token", issue_token),
    ("outputs", register_outputs),
    ("maintainers", hand_over_maintainers),
)
# Checked on every run until the recipe is done, even when recorded as done.
ALWAYS_VERIFIED = frozenset({"ruleset"})
STEP_NAMES = tuple(name for name, _ in STEPS)
