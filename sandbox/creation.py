"""The demo's feedstock creation: one recipe merged into the sandbox's staged-recipes
becomes a feedstock, against the same fakes and the same OpenBao as the processing run.

Run directly, not under act: the two jobs of create-feedstocks.yml are the two commands
``admin-requests create-feedstocks render`` and ``... run`` call, in the same order and
with the same separation:

1. the render job: the production renderer (creation/render.py) runs conda-smithy on
   a public, anonymous clone of staged-recipes, with an environment that holds no
   credential. conda-smithy is a conda package only (PyPI has a 0.0.0 placeholder), so
   the stand-in tests/creation/standin_smithy.py takes its place and the report says so;
2. the create job: the production engine (creation/engine.py) with the credential broker
   on the vault backend. It logs in to the real OpenBao with an OIDC token from the fake
   issuer carrying what GitHub's would for create-feedstocks.yml's job, and mints one
   App installation token per step, each scoped to that step's repositories and
   permissions, revoked when the step ends.

The vault role is ``admin-requests-create-feedstocks`` from vault/roles/, which the
sandbox applied to its OpenBao with the rest of vault/ (``_creation_role``): it admits
only create-feedstocks.yml and may only sign App JWTs, so the App's ids come from the
job's variables, not the job secret.
"""

from __future__ import annotations

import functools
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tests.creation.world import install_standin
from tests.fakes.github import FakePull

from admin_requests.cli.run import build_tracker
from admin_requests.config import Settings
from admin_requests.creation.credentials import BrokerCredentials
from admin_requests.creation.engine import CreationConfig, CreationRun, RunReport
from admin_requests.creation.notify import RecipeNotifier
from admin_requests.creation.recipes import find_recipes
from admin_requests.creation.render import RecipeRenderer, RecipeRendering, load_renderings
from admin_requests.credentials.factories import open_broker
from admin_requests.credentials.redact import Masker
from admin_requests.credentials.settings import CredentialSettings
from admin_requests.deploy.vault import DEFAULT_TRUST_DIR, render_roles
from admin_requests.queue.gitops import Git, Identity
from admin_requests.queue.state import RetryPolicy
from admin_requests.services.http import Retrier
from admin_requests.services.http import RetryPolicy as HttpRetryPolicy

from . import org
from .core import Sandbox
from .report import Snapshot, account, changes, credential_lines, heading, wrap

STAGED_RECIPES = "staged-recipes"
TOKENS = "feedstock-tokens"
WORKFLOW = ".github/workflows/create-feedstocks.yml"
ROLE = "admin-requests-create-feedstocks"
RECIPE = "tinyjson"
AUTHOR = "grace"
PULL = 31001
# A v1 recipe (recipe.yaml) with two outputs; the example beside it is never created.
RECIPE_TEXT = """context:
  version: "1.2.0"
recipe:
  name: tinyjson
  version: ${{ version }}
outputs:
  - package:
      name: tinyjson
  - package:
      name: libtinyjson
about:
  summary: A small JSON library
extra:
  recipe-maintainers:
    - grace
"""
EXAMPLE_TEXT = "package:\n  name: simplejson\n"
CREATED = "created"
STANDIN_NOTE = (
    "conda-smithy is a conda package only (PyPI has a 0.0.0 placeholder), so the render "
    "job ran the stand-in tests/creation/standin_smithy.py: it writes feedstock files of "
    "the kinds conda-smithy writes, not conda-smithy's own."
)


@dataclass
class CreationDemo:
    report: RunReport
    rendering: RecipeRendering | None
    role: str  # which vault role the create job logged in with, in words
    before: Snapshot
    started: datetime
    finished: datetime
    seconds: float
    recipes_before: list[str] = field(default_factory=list)

    def status(self) -> str:
        """The demo recipe's status in the run ('created' when it completed)."""
        found = [r.status for r in self.report.results if r.recipe == RECIPE]
        return found[0] if found else "not found by the run"


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", "-c", f"user.name={AUTHOR}", "-c", "user.email=grace@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "GIT_TERMINAL_PROMPT": "0"},
    ).stdout.strip()


def seed_staged_recipes(sandbox: Sandbox, workdir: Path) -> None:
    """staged-recipes as conda-forge has it: main protected (only the App may push past
    the pull-request rule), an example recipe, and one recipe merged by its pull request;
    and the feedstock-tokens registry the token step writes to."""
    gh = sandbox.github
    work = workdir / "staged-seed"
    work.mkdir(parents=True)
    _git("init", "--quiet", "--initial-branch=main", cwd=work)
    (work / "README.md").write_text("staged-recipes\n")
    example = work / "recipes" / "example-v1"
    example.mkdir(parents=True)
    (example / "recipe.yaml").write_text(EXAMPLE_TEXT)
    _git("add", "-A", cwd=work)
    _git("commit", "--quiet", "-m", "Initial commit with the example recipe", cwd=work)
    recipe = work / "recipes" / RECIPE
    recipe.mkdir()
    (recipe / "recipe.yaml").write_text(RECIPE_TEXT)
    _git("add", "-A", cwd=work)
    _git("commit", "--quiet", "-m", f"Add {RECIPE} (#{PULL})", cwd=work)
    commit = _git("rev-parse", "HEAD", cwd=work)
    sandbox.git.add_repository(STAGED_RECIPES, work)
    staged = gh.add_repo(STAGED_RECIPES)
    staged.admin.rulesets[1] = {
        "id": 1,
        "name": "protect main",
        "target": "branch",
        "enforcement": "active",
        "conditions": {"ref_name": {"include": ["refs/heads/main"], "exclude": []}},
        "rules": [{"type": "pull_request"}],
        "bypass_actors": [
            {"actor_type": "Integration", "actor_id": sandbox.app.app_id, "bypass_mode": "always"}
        ],
    }
    gh.add_commit_pull(STAGED_RECIPES, commit, PULL, user=AUTHOR, title=f"Add {RECIPE}")
    staged.pulls[PULL] = FakePull(
        PULL, f"Add {RECIPE}", "", f"add-{RECIPE}", "main", AUTHOR, "closed"
    )
    gh.add_repo(TOKENS, files={"README.md": "hashed feedstock tokens\n"})
    # github.com serves an empty repository for one created through the API.
    sandbox.git.serve_new_repositories()


def _clone(url: str, target: Path) -> None:
    """A public, anonymous clone with its history (the pull request that added a recipe
    is found through it)."""
    subprocess.run(
        ["git", "clone", "--quiet", url, str(target)],
        check=True,
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", "GIT_TERMINAL_PROMPT": "0"},
    )


def render_job(sandbox: Sandbox, workdir: Path) -> Path:
    """The render job: conda-smithy (the stand-in) on each waiting recipe, no credential."""
    staged = workdir / "render" / STAGED_RECIPES
    _clone(f"{sandbox.git.url}/{org.ORG}/{STAGED_RECIPES}.git", staged)
    output = workdir / "render" / "rendered"
    tmp = workdir / "render" / "tmp"
    tmp.mkdir(parents=True)
    # Nothing of the create job's: no GITHUB_TOKEN, no OIDC request token, no vault.
    environ = {"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp)}
    renderer = RecipeRenderer(str(install_standin(workdir / "render" / "bin")), environ)
    for recipe in find_recipes(staged):
        renderer.render(staged, recipe, output)
    return output


def creation_claims(sandbox: Sandbox) -> dict[str, str]:
    """What GitHub's OIDC token says for create-feedstocks.yml's create job (a schedule)."""
    ref = f"{org.REPOSITORY}/{WORKFLOW}@refs/heads/main"
    return {
        "job_workflow_ref": ref,
        "workflow_ref": ref,
        "workflow": "create feedstocks",
        "event_name": "schedule",
        "run_id": str(next(sandbox._run_ids)),
    }


def _creation_role(sandbox: Sandbox) -> str:
    """The vault role the create job logs in with, in words: vault/roles/'s own, as
    ``deploy.vault apply`` wrote it to the sandbox's OpenBao with the others."""
    (role,) = [r for r in render_roles(DEFAULT_TRUST_DIR, sandbox.params) if r.name == ROLE]
    live = sandbox.vault.admin().call("GET", f"auth/{sandbox.params.auth_mount}/role/{ROLE}")
    bound = live["data"]["bound_claims"]["job_workflow_ref"]
    return f"{ROLE} (vault/roles/{ROLE}.json, policy {role.policy_name!r}; admits {bound})"


def _settings(sandbox: Sandbox) -> Settings:
    return Settings(
        organisation=org.ORG,
        repository=org.REPOSITORY,
        github_api_url=sandbox.github.url,
        anaconda_api_url=sandbox.anaconda.url,
        channel_url=sandbox.anaconda.url,
        cirun_api_url=sandbox.cirun.api_url,
        git_base_url=sandbox.git.url,
        http_timeout_seconds=10.0,
    )


def create_job(sandbox: Sandbox, workdir: Path, rendered: Path, job_token: str) -> RunReport:
    """The create job: the production engine, a token per step from the vault."""
    staged = workdir / "create" / STAGED_RECIPES
    _clone(f"{sandbox.git.url}/{org.ORG}/{STAGED_RECIPES}.git", staged)
    root = workdir / "create" / "admin-requests"
    root.mkdir(parents=True)
    settings = _settings(sandbox)
    sandbox.issuer.claim_overrides = creation_claims(sandbox)
    oidc = sandbox.issuer.actions_environ()
    credentials = CredentialSettings(
        backend="vault",
        oidc_request_url=oidc["ACTIONS_ID_TOKEN_REQUEST_URL"],
        oidc_request_token=oidc["ACTIONS_ID_TOKEN_REQUEST_TOKEN"],
        audience=sandbox.params.audience,
        vault_addr=sandbox.vault.addr,
        vault_role=ROLE,
        # Repository variables, not the job secret: the creation role cannot read it.
        github_app_id=str(sandbox.app.app_id),
        github_installation_id=str(sandbox.app.installation_id),
        http_timeout_seconds=10.0,
    )
    # Production keeps its mutations a second apart and its calls under 900 points a
    # minute (GitHub's secondary limits); the sandbox's fakes enforce neither, so the
    # demo does not pace for them.
    retrier = Retrier(HttpRetryPolicy(mutation_spacing=0.0, github_points_per_minute=0))
    broker = open_broker(settings, credentials, masker=Masker(in_actions=False), retrier=retrier)
    config = CreationConfig(
        root=root,
        staged_recipes=staged,
        rendered=rendered,
        policy=RetryPolicy(max_attempts=3),
    )
    with broker:
        creds = BrokerCredentials(broker, settings, retrier)
        git = Git(
            staged,
            Identity("admin-requests[bot]", "bot@example.invalid"),
            push_token=functools.partial(
                broker.push_token, STAGED_RECIPES, label="remove recipes from staged-recipes"
            ),
        )
        notifier = RecipeNotifier(
            git,
            lambda access, label: creds.services(access, label=label),
            build_tracker(settings, {"GITHUB_TOKEN": job_token}),
            org.ORG,
        )
        run = CreationRun(
            config,
            settings,
            creds,
            notifier,
            git,
            clock=lambda: datetime.now(UTC),
            retrier=retrier,
        )
        return run.run()


def run_creation(sandbox: Sandbox, workdir: Path) -> CreationDemo:
    seed_staged_recipes(sandbox, workdir)
    recipes_before = remote_recipes(sandbox)
    before = Snapshot.take(sandbox)
    role = _creation_role(sandbox)
    started_clock = time.monotonic()
    started = datetime.now(UTC)
    rendered = render_job(sandbox, workdir)
    rendering = load_renderings(rendered).get(RECIPE)
    # The create job's own GITHUB_TOKEN (this repository: issues write), ended with it.
    job_token = sandbox.begin_job("schedule")
    try:
        report = create_job(sandbox, workdir, rendered, job_token)
    finally:
        sandbox.end_job(job_token)
    finished = datetime.now(UTC)
    return CreationDemo(
        report,
        rendering,
        role,
        before,
        started,
        finished,
        time.monotonic() - started_clock,
        recipes_before,
    )


def remote_recipes(sandbox: Sandbox) -> list[str]:
    bare = sandbox.git.bare(STAGED_RECIPES)
    out = _git("ls-tree", "--name-only", "main", "recipes/", cwd=bare)
    return sorted(Path(p).name for p in out.splitlines())


# -- the report's section ---------------------------------------------------------------


def _shorten(line: str, width: int = 160) -> str:
    """A change line of at most ``width`` characters (a hashed token is 600)."""
    return line if len(line) <= width else line[: width - 1] + "…"


def render_section(sandbox: Sandbox, demo: CreationDemo, number: int) -> list[str]:
    gh = sandbox.github
    out = [heading(f"{number}. Feedstock creation from staged-recipes")]
    out.append(
        wrap(
            "Run directly, not under act: the two jobs of create-feedstocks.yml as the two "
            "commands 'admin-requests create-feedstocks render' (no credential) and "
            "'... run' (a token per step from the vault) call them, against the same fakes "
            f"and OpenBao, in {demo.seconds:.1f} s. Production paces its calls for GitHub's "
            "secondary limits (a second between mutations, under 900 points a minute); the "
            "fakes enforce neither, so that pacing is off here.",
            "  ",
            "",
        )
    )
    out.append(wrap(STANDIN_NOTE, "  ", ""))
    out.append(f"  recipes/ on staged-recipes before: {', '.join(demo.recipes_before)}")
    if demo.rendering is not None:
        r = demo.rendering
        out.append(
            wrap(
                f"render job: recipes/{r.recipe} -> {r.feedstock}-feedstock, outputs read from "
                f"the recipe: {', '.join(r.outputs) or 'none'} (the example recipe is skipped)"
            )
        )
    for result in demo.report.results:
        out.append(wrap(f"recipes/{result.recipe}: {result.status}: {result.detail}"))
        for step, evidence in result.steps.items():
            out.append(wrap(f"{step}: {evidence}", "      ", "  "))
    feedstock = f"{RECIPE}-feedstock"
    repo = gh.repos.get(feedstock)
    if repo is None:
        out.append(f"  {feedstock}: NOT CREATED")
        return out
    out.append(f"  new repository {org.ORG}/{feedstock}: {repo.admin.settings.get('description')}")
    for ruleset in repo.admin.rulesets.values():
        rules = ", ".join(sorted(str(r.get("type")) for r in ruleset.get("rules", [])))
        out.append(f"    ruleset {ruleset.get('name')!r} ({ruleset.get('enforcement')}): {rules}")
    found = subprocess.run(
        ["git", "log", "-1", "--format=%h %s", "HEAD"],
        cwd=sandbox.git.bare(feedstock),
        capture_output=True,
        text=True,
        check=False,
    )
    head = found.stdout.strip() if found.returncode == 0 else "NO BRANCH (nothing pushed)"
    pushes = sum(1 for p in sandbox.git.pushes if p.repository == feedstock)
    out.append(
        wrap(f"main (the git server's own record): {head}; pushes received: {pushes}", "    ")
    )
    out.append(f"    Actions secrets: {', '.join(sorted(repo.secrets)) or 'none'}")
    after = Snapshot.take(sandbox)
    out.append("  what changed elsewhere (from the fakes' records):")
    for line in changes(demo.before, after, sandbox):
        if line.startswith(f"GitHub  {feedstock}:"):
            continue  # the new repository's own files: its head is above
        out.append(wrap(_shorten(line), "    ", "    "))
    left = remote_recipes(sandbox)
    gone = RECIPE not in left
    out.append(
        f"  recipes/ on staged-recipes now: {', '.join(left) or 'none'}"
        + (f" (recipes/{RECIPE} removed)" if gone else f" (recipes/{RECIPE} STILL THERE)")
    )
    pull = gh.repo(STAGED_RECIPES).pulls.get(PULL)
    for comment in (pull.comments if pull else [])[-1:]:
        body = [line for line in str(comment["body"]).splitlines() if line.strip()]
        out.append(f"  comment on staged-recipes#{PULL}:")
        out += [wrap(line, "    | ", "  ") for line in body[:6] if not line.startswith("<!--")]
    out.append(wrap(f"credentials (vault role {demo.role}):"))
    out += [
        wrap(line, "    ", "    ")
        for line in credential_lines(account(sandbox, demo.started), demo.finished)
    ]
    return out
