"""A seeded world for the soak and crash tests.

``build_world`` seeds the fake GitHub and anaconda.org with the repositories, branches,
files and packages a queue of mixed requests acts on, and returns the request files
together with, for every item, a check that reads the fakes and says whether the
item's end state holds, and the side effects carrying the whole queue out must cause
(each exactly once).

Extension point: each kind's builder is ``soak_request`` in its
tests/kinds/<kind>/hooks.py (see tests/kinds/kind_hooks.py); ``build_world`` finds it by
the kind's name, so every registered kind is soaked and one without hooks fails, naming
the file to add. This module holds what the builders share: the world, the fakes'
common repositories, and small helpers.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from admin_requests.kinds.add_feedstock_output import ALLOWLIST_PATH, OutputsConfig
from admin_requests.services import AppInstallationsClient, CirunClient, Services
from admin_requests.services.http import RetryPolicy
from admin_requests.validation.checker import check_text
from tests.fakes import FakeAnaconda, FakeCirun, FakeGitHub
from tests.fakes.clock import FakeClock
from tests.fakes.github import REPODATA_PATCHES_FILES
from tests.fakes.wiring import services_for
from tests.kinds.kind_hooks import hooks_of
from tests.kinds.test_ci_resources import INSTALLATIONS as CI_APPS  # CI Apps

HOME = "admin-requests"  # the repository the automation runs in (issues)
PATCHES = "conda-forge-repodata-patches-feedstock"
OUTPUTS = "feedstock-outputs"
OUTPUTS_CONFIG = OutputsConfig("outputs", 3, "z")
STAGING = "cf-staging"  # where cfep3_copy requests copy from
CHANNEL = "conda-forge"
GITHUB_TOKEN = "gh-admin"
ANACONDA_TOKEN = "ac-admin"
INSTALLATIONS_TOKEN = "ghp-org-admin"  # a classic token: only these manage installations
CIRUN_KEY = "cirun-org-key"  # the organisation's Cirun API key
TOKENS = "feedstock-tokens"
RECORDS = "ci-access-control"

Check = Callable[[], bool]


@dataclass
class WorldRequest:
    path: str  # requests/<name>.yml
    text: str
    # (typo, correction): a maintainer replaces the typo once the request is parked.
    fix: tuple[str, str] | None = None


@dataclass
class World:
    gh: FakeGitHub
    ac: FakeAnaconda | None
    # Cirun's API (the cirun kind); its effects are expected in ``effects`` too.
    cirun: FakeCirun | None = None
    requests: list[WorldRequest] = field(default_factory=list)
    checks: dict[str, Check] = field(default_factory=dict)  # item id -> end state holds
    effects: Counter[str] = field(default_factory=Counter)  # expected, once each
    # Side effects that may repeat by design (token_reset): at least this many.
    at_least: Counter[str] = field(default_factory=Counter)
    # Pull requests the queue must open (repository -> exactly one, with one comment).
    pulls: list[str] = field(default_factory=list)

    def item_done(self, item_id: str) -> bool:
        check = self.checks.get(item_id)
        return check is not None and check()

    def items_of(self, text: str) -> set[str]:
        report = check_text(text, "requests/x.yml")
        assert report.ok, [p.format_text() for p in report.problems]
        return {item.id for item in report.items}

    def all_done(self) -> list[str]:
        """Item ids whose end state does not hold (empty when the queue's work is done)."""
        return sorted(item for item, check in self.checks.items() if not check())


Builder = Callable[[World, random.Random, int], WorldRequest]


def block_list(key: str, values: list[str]) -> str:
    """``key`` and its list, in block style."""
    return f"{key}:\n" + "".join(f"  - {value}\n" for value in values)


def package_file(rng: random.Random, prefix: str, n: int, k: int) -> str:
    """A package file name unique to request ``n``, entry ``k``, in a random subdir."""
    subdir = rng.choice(["linux-64", "osx-arm64", "noarch", "win-64"])
    return f"{subdir}/{prefix}{n}x{k}-1.{k}-h{n}_0.conda"


def seed_common(gh: FakeGitHub, ac: FakeAnaconda | None, cirun: FakeCirun | None = None) -> None:
    gh.add_token(GITHUB_TOKEN)
    gh.add_repo(HOME)
    gh.add_repo(PATCHES, files=REPODATA_PATCHES_FILES)
    gh.add_repo(
        OUTPUTS,
        files={
            "config.json": json.dumps(
                {
                    "outputs_path": OUTPUTS_CONFIG.outputs_path,
                    "shard_level": OUTPUTS_CONFIG.shard_level,
                    "shard_fill": OUTPUTS_CONFIG.shard_fill,
                }
            ),
            ALLOWLIST_PATH: "# globs each feedstock may register\nsome:\n  - some-*\n",
        },
    )
    if ac is not None:
        ac.add_token(ANACONDA_TOKEN, scopes=["api:read", "api:write"])
    gh.add_repo(TOKENS)
    gh.add_repo(RECORDS, files={".access_control.yml": "version: 1\naccess_control: {}\n"})
    for action, installation in CI_APPS.items():
        gh.add_installation(installation, action)
    gh.add_user_token(INSTALLATIONS_TOKEN)
    if cirun is not None:
        cirun.add_key(CIRUN_KEY)
        cirun.seed_access("version: 1\npolicies: []\naccess_control: []\n")


def world_services(
    gh: FakeGitHub,
    ac: FakeAnaconda | None,
    *,
    clock: FakeClock,
    policy: RetryPolicy,
    http_timeout_seconds: float,
    cirun: FakeCirun | None = None,
) -> Services:
    """One run's services: every client the kinds use, retries on ``clock``."""
    services = services_for(
        gh,
        ac,
        github_token=GITHUB_TOKEN,
        anaconda_token=ANACONDA_TOKEN if ac is not None else None,
        clock=clock,
        policy=policy,
        http_timeout_seconds=http_timeout_seconds,
        ci_app_installations=tuple(CI_APPS.items()),
        **({"cirun_api_url": cirun.api_url} if cirun is not None else {}),
    )
    services.app_installations = AppInstallationsClient(
        services.settings, INSTALLATIONS_TOKEN, retrier=services.github.retrier
    )
    if cirun is not None:
        services.cirun = CirunClient(services.settings, CIRUN_KEY, retrier=services.github.retrier)
    return services


def build_world(
    gh: FakeGitHub,
    ac: FakeAnaconda | None,
    *,
    seed: int,
    per_kind: dict[str, int],
    typos: int = 0,
    cirun: FakeCirun | None = None,
) -> World:
    """Seed the fakes and return the queue: ``per_kind[action]`` requests of each kind."""
    from tests.kinds.archive.hooks import typo_request  # the hooks import this module

    rng = random.Random(seed)
    world = World(gh, ac, cirun)
    seed_common(gh, ac, cirun)
    n = 0
    for action, count in per_kind.items():
        for _ in range(count):
            n += 1
            world.requests.append(hooks_of(action).soak_request(world, rng, n))
    for _ in range(typos):
        n += 1
        world.requests.append(typo_request(world, rng, n))
    # Processing order is by file name; shuffle which kind comes first.
    rng.shuffle(world.requests)
    for position, request in enumerate(world.requests):
        stem = request.path.removeprefix("requests/")
        request.path = f"requests/{position:02d}-{stem}"
    return world


def fingerprint(gh: FakeGitHub, ac: FakeAnaconda | None) -> str:
    """A digest of the fakes' observable state, to compare two ways of reaching it.

    Commit SHAs the fake invents for file writes are left out (they depend on time);
    the files themselves are in.
    """
    state: dict[str, object] = {}
    for name, repo in sorted(gh.repos.items()):
        refs = {ref: commit for ref, commit in repo.refs.items() if name != OUTPUTS}
        state[f"gh:{name}"] = {
            "archived": repo.archived,
            "refs": dict(sorted(refs.items())),
            "files": {p: hashlib.sha256(c).hexdigest() for p, c in sorted(repo.files.items())},
            "issues": [(i.number, i.title, i.state, len(i.comments)) for i in repo.issues.values()],
        }
    if ac is not None:
        for owner, files in sorted(ac.files.items()):
            state[f"ac:{owner}"] = {b: sorted(f.labels) for b, f in sorted(files.items())}
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()
