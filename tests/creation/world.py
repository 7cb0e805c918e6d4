"""A small conda-forge for the creation tests: staged-recipes with waiting recipes, the
organisation's registries, the App, the credential broker and the render job's output.

Everything is real but GitHub itself: FakeGitHub (API, App tokens, rulesets, issues,
pull requests) and FakeGitServer (git over HTTP, checking tokens and rulesets) stand in
for it; the broker is the production one on the env backend, signing App JWTs with the
fake App's key; the renderings are made by the production renderer running the
stand-in conda-smithy (standin_smithy.py; the real one is not installable from PyPI).

staged-recipes holds, each added by a pull request of its own:

- ``example-v0-deprecated`` and ``example-v1``: the examples, never turned into feedstocks;
- ``foo`` (v0, ``meta.yaml`` with outputs ``foo`` and ``libfoo``) and ``bar`` (v1,
  ``recipe.yaml``): recipes that become feedstocks;
- ``broken``: a recipe conda-smithy cannot render;
- ``existing``: a recipe whose name exists already as a feedstock with other content;
- ``pushfail``: a recipe whose feedstock's first push fails (``fail_pushes``).
"""

from __future__ import annotations

import functools
import json
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from admin_requests.config import Settings
from admin_requests.creation.credentials import BrokerCredentials
from admin_requests.creation.engine import CreationConfig, CreationRun, RunReport
from admin_requests.creation.notify import RecipeNotifier
from admin_requests.creation.recipes import find_recipes
from admin_requests.creation.render import RecipeRenderer
from admin_requests.credentials.broker import CredentialBroker
from admin_requests.credentials.factories import open_broker
from admin_requests.credentials.redact import Masker
from admin_requests.credentials.settings import CredentialSettings
from admin_requests.git_auth import token_environment
from admin_requests.queue.checkpoints import Checkpoint, no_checkpoint
from admin_requests.queue.gitops import Git, Identity
from admin_requests.queue.state import RetryPolicy
from tests.fakes.azure import FakeAzure
from tests.fakes.clock import START, FakeClock
from tests.fakes.faults import Fault
from tests.fakes.git_http import FakeGitServer
from tests.fakes.github import FakeGitHub, FakePull
from tests.fakes.oidc import FakeOidcIssuer, process_claims
from tests.fakes.tracker import MemoryTracker
from tests.fakes.wiring import retrier_for, settings_for

APP_ID = 4242
INSTALLATION = 77
APP_PERMISSIONS = {
    "administration": "write",
    "contents": "write",
    "workflows": "write",
    "secrets": "write",
    "issues": "write",
    "pull_requests": "write",
    "metadata": "read",
}
READ_TOKEN = "ghs_staged_recipes_read_only"
OUTPUTS_CONFIG = {"outputs_path": "outputs", "shard_level": 3, "shard_fill": "z"}
STAGED_RULESET = {
    "id": 1,
    "name": "protect main",
    "target": "branch",
    "enforcement": "active",
    "conditions": {"ref_name": {"include": ["refs/heads/main"], "exclude": []}},
    "rules": [{"type": "pull_request"}],
    "bypass_actors": [{"actor_type": "Integration", "actor_id": APP_ID, "bypass_mode": "always"}],
}

FOO = """{% set name = "foo" %}
{% set version = "1.0" %}
package:
  name: {{ name }}
  version: {{ version }}
outputs:
  - name: foo
  - name: libfoo
extra:
  recipe-maintainers:
    - alice
"""
BAR = """context:
  version: "2.0"
package:
  name: bar
  version: ${{ version }}
extra:
  recipe-maintainers:
    - bob
"""
EXAMPLE_V0 = '{% set name = "simplejson" %}\npackage:\n  name: {{ name }}\n'
EXAMPLE_V1 = "package:\n  name: simplejson\n"
BROKEN = "package:\n  name: broken\n# STANDIN_FAIL_RENDER\n"
EXISTING = "package:\n  name: existing\n"
PUSHFAIL = "package:\n  name: pushfail\n"
RECIPES = {
    "example-v0-deprecated": ("meta.yaml", EXAMPLE_V0),
    "example-v1": ("recipe.yaml", EXAMPLE_V1),
    "foo": ("meta.yaml", FOO),
    "bar": ("recipe.yaml", BAR),
    "broken": ("meta.yaml", BROKEN),
    "existing": ("recipe.yaml", EXISTING),
    "pushfail": ("recipe.yaml", PUSHFAIL),
}
WAITING = ("bar", "broken", "existing", "foo", "pushfail")


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=someone", "-c", "user.email=someone@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def install_standin(folder: Path) -> Path:
    script = folder / "conda-smithy"
    folder.mkdir(parents=True, exist_ok=True)
    here = Path(__file__).with_name("standin_smithy.py")
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{here}" "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


@dataclass
class World:
    tmp: Path
    github: FakeGitHub
    server: FakeGitServer
    clock: FakeClock
    settings: Settings
    root: Path  # this repository's checkout (creation-state/)
    staged: Path  # the privileged job's staged-recipes checkout
    rendered: Path
    tracker: MemoryTracker
    key_file: Path
    pulls: dict[str, int] = field(default_factory=dict)  # recipe -> pull request
    policy: RetryPolicy = field(default_factory=lambda: RetryPolicy(max_attempts=3))
    env_seen: Path | None = None
    azure: FakeAzure | None = None  # with an OIDC issuer it trusts (creation_world(azure=True))
    issuer: FakeOidcIssuer | None = None

    # -- the remote -------------------------------------------------------------------

    def remote_recipes(self) -> list[str]:
        bare = self.server.bare("staged-recipes")
        out = git("ls-tree", "--name-only", "main", "recipes/", cwd=bare)
        return sorted(Path(p).name for p in out.splitlines())

    def remote_log(self) -> list[str]:
        return git(
            "log", "--format=%s", "main", cwd=self.server.bare("staged-recipes")
        ).splitlines()

    def pushes_to(self, repo: str) -> int:
        return sum(1 for p in self.server.pushes if p.repository == repo)

    def comments(self, recipe: str) -> list[str]:
        pull = self.github.repo("staged-recipes").pulls[self.pulls[recipe]]
        return [str(c["body"]) for c in pull.comments]

    def fail_pushes(self, repo: str, *calls: int) -> None:
        self.server.faults.on_call(
            *calls,
            fault=Fault.server_error(500),
            method="POST",
            path=rf"/{repo}\.git/git-receive-pack",
        )

    # -- a run ------------------------------------------------------------------------

    def render(self, *recipes: str) -> None:
        renderer = RecipeRenderer(str(install_standin(self.tmp / "bin")), self.render_environ())
        for recipe in find_recipes(self.staged):
            if not recipes or recipe.name in recipes:
                renderer.render(self.staged, recipe, self.rendered)

    def render_environ(self) -> dict[str, str]:
        self.env_seen = self.tmp / "render-tmp"
        self.env_seen.mkdir(exist_ok=True)
        return {
            "PATH": "/usr/bin:/bin",
            "TMPDIR": str(self.env_seen),
            # What the privileged job holds; none of it may reach conda-smithy.
            "GITHUB_TOKEN": "ghs_job_token",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "oidc",
            "ACTIONS_ID_TOKEN_REQUEST_URL": "http://127.0.0.1:9/oidc",
            "VAULT_ADDR": "http://127.0.0.1:9",
        }

    def broker(self) -> CredentialBroker:
        federation = {}
        if self.azure is not None and self.issuer is not None:
            federation = {
                "azure_tenant_id": self.azure.tenant,
                "azure_client_id": self.azure.client_id,
                "azure_authority_url": self.azure.url,
                "oidc_request_url": self.issuer.actions_environ()["ACTIONS_ID_TOKEN_REQUEST_URL"],
                "oidc_request_token": self.issuer.request_token,
            }
        credentials = CredentialSettings(
            backend="env",
            dev_github_app_key_file=str(self.key_file),
            github_app_id=str(APP_ID),
            github_installation_id=str(INSTALLATION),
            http_timeout_seconds=5,
            **federation,  # type: ignore[arg-type]
        )
        return open_broker(
            self.settings,
            credentials,
            masker=Masker(in_actions=False),
            retrier=retrier_for(self.clock),
        )

    def run(
        self,
        *,
        retry: tuple[str, ...] = (),
        only: tuple[str, ...] = (),
        checkpoint: Checkpoint = no_checkpoint,
        before_run: Any = None,
        azure: Any = None,
        max_recipes: int = 10,
    ) -> RunReport:
        config = CreationConfig(
            root=self.root,
            staged_recipes=self.staged,
            rendered=self.rendered,
            policy=self.policy,
            retry=frozenset(retry),
            only=frozenset(only),
            max_recipes=max_recipes,
        )
        retrier = retrier_for(self.clock)
        with self.broker() as broker:
            credentials = BrokerCredentials(broker, self.settings, retrier)
            staged = Git(
                self.staged,
                Identity("admin-requests[bot]", "bot@example.invalid"),
                token=READ_TOKEN,
                push_token=functools.partial(broker.push_token, "staged-recipes", label="push"),
                checkpoint=checkpoint,
            )
            notifier = RecipeNotifier(
                staged,
                lambda access, label: credentials.services(access, label=label),
                self.tracker,
                "conda-forge",
            )
            run = CreationRun(
                config,
                self.settings,
                credentials,
                notifier,
                staged,
                clock=self.clock,
                retrier=retrier,
                azure=azure,
                checkpoint=checkpoint,
            )
            if before_run is not None:
                before_run(run)
            report = run.run()
            self.ledger = broker.ledger
        return report

    def later(self, hours: float = 24) -> None:
        self.clock.advance(timedelta(hours=hours))


@contextmanager
def creation_world(
    tmp: Path, *, azure: bool = False, recipes: dict[str, tuple[str, str]] | None = None
) -> Iterator[World]:
    tmp.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        github = stack.enter_context(FakeGitHub())
        server = stack.enter_context(FakeGitServer(github, tmp / "served"))
        server.serve_new_repositories()
        app = github.configure_app(
            APP_ID, installation_id=INSTALLATION, permissions=APP_PERMISSIONS
        )
        key_file = tmp / "app.pem"
        assert app.private_key_pem is not None
        key_file.write_bytes(app.private_key_pem)
        key_file.chmod(0o600)
        world = World(
            tmp,
            github,
            server,
            FakeClock(START),
            settings_for(github, None, git_base_url=server.url),
            tmp / "admin-requests",
            tmp / "staged-checkout",
            tmp / "rendered",
            MemoryTracker(),
            key_file,
        )
        if azure:
            world.issuer = stack.enter_context(FakeOidcIssuer())
            world.azure = stack.enter_context(FakeAzure())
            world.azure.trust(world.issuer, subject=process_claims()["sub"])
            world.settings = settings_for(
                github, None, git_base_url=server.url, azure_devops_url=world.azure.url
            )
        world.root.mkdir()
        _seed(world, RECIPES if recipes is None else recipes)
        yield world


def _seed(world: World, recipes: dict[str, tuple[str, str]]) -> None:
    github = world.github
    github.add_repo("feedstock-outputs", files={"config.json": json.dumps(OUTPUTS_CONFIG)})
    github.add_repo("feedstock-tokens", files={"README.md": "hashed feedstock tokens\n"})
    # Someone else's feedstock of the name the 'existing' recipe would get.
    github.add_repo(
        "existing-feedstock", files={"recipe/recipe.yaml": "package:\n  name: existing\n"}
    )
    github.repo("existing-feedstock").admin.settings["description"] = (
        "A conda-smithy repository for existing."
    )
    existing = world.tmp / "existing-seed"
    existing.mkdir()
    git("init", "--quiet", "--initial-branch=main", cwd=existing)
    (existing / "recipe").mkdir()
    (existing / "recipe" / "recipe.yaml").write_text("package:\n  name: existing\n")
    git("add", "-A", cwd=existing)
    git("commit", "--quiet", "-m", "the existing feedstock's own history", cwd=existing)
    world.server.add_repository("existing-feedstock", existing)
    work = world.tmp / "staged-seed"
    work.mkdir()
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    (work / "README.md").write_text("staged-recipes\n")
    git("add", "-A", cwd=work)
    git("commit", "--quiet", "-m", "initial", cwd=work)
    commits = {}
    for name, (filename, text) in recipes.items():
        folder = work / "recipes" / name
        folder.mkdir(parents=True)
        (folder / filename).write_text(text)
        git("add", "-A", cwd=work)
        git("commit", "--quiet", "-m", f"Add {name}", cwd=work)
        commits[name] = git("rev-parse", "HEAD", cwd=work)
    url = world.server.add_repository("staged-recipes", work)
    staged = github.add_repo("staged-recipes")
    staged.admin.rulesets[1] = dict(STAGED_RULESET)
    for number, (name, commit) in enumerate(commits.items(), start=100):
        github.add_commit_pull("staged-recipes", commit, number, user=f"{name}-author")
        staged.pulls[number] = FakePull(
            number, f"Add {name}", "", f"add-{name}", "main", f"{name}-author", "closed"
        )
        world.pulls[name] = number
    github.add_token(READ_TOKEN, repositories=["staged-recipes"], permissions={"contents": "read"})
    env = {"GIT_TERMINAL_PROMPT": "0"}
    subprocess.run(
        ["git", "clone", "--quiet", url, str(world.staged)],
        check=True,
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", **env, **token_environment(READ_TOKEN)},
    )
