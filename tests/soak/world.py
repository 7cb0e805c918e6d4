"""A seeded world for the soak and crash tests.

``build_world`` seeds the fake GitHub and anaconda.org with the repositories, branches,
files and packages a queue of mixed requests acts on, and returns the request files
together with, for every item, a check that reads the fakes and says whether the
item's end state holds, and the side effects carrying the whole queue out must cause
(each exactly once).

Extension point: one builder per request kind in ``BUILDERS``. A kind that executes
(overrides ``RequestKind.execute``) must have a builder here, so that it is soaked;
``test_soak.py::test_every_kind_that_executes_is_soaked`` fails until it has one.

``token_reset`` issues a new token each time an item runs (by design: a token cannot be
read back), so its side effects are counted as "at least once" (``World.at_least``);
its end state is exact: the stored secret is accepted and is the only entry.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from ruamel.yaml import YAML

from admin_requests.kinds import ci_config
from admin_requests.kinds.add_feedstock_output import ALLOWLIST_PATH, OutputsConfig, sharded_path
from admin_requests.kinds.token_reset.registry import registry_path
from admin_requests.services import AppInstallationsClient, Services
from admin_requests.services.http import RetryPolicy
from admin_requests.validation.checker import check_text
from tests.fakes import FakeAnaconda, FakeGitHub, sha
from tests.fakes.clock import FakeClock
from tests.fakes.wiring import services_for
from tests.kinds.test_ci_resources import INSTALLATIONS as CI_APPS  # CI Apps
from tests.kinds.token_reset.test_token_reset import accepts, old_entry

HOME = "admin-requests"  # the repository the automation runs in (issues)
PATCHES = "conda-forge-repodata-patches-feedstock"
OUTPUTS = "feedstock-outputs"
OUTPUTS_CONFIG = OutputsConfig("outputs", 3, "z")
STAGING = "cf-staging"  # where cfep3_copy requests copy from
CHANNEL = "conda-forge"
GITHUB_TOKEN = "gh-admin"
ANACONDA_TOKEN = "ac-admin"
INSTALLATIONS_TOKEN = "ghp-org-admin"  # a classic token: only these manage installations
TOKENS = "feedstock-tokens"
RECORDS = "ci-access-control"
CIRUN = ".cirun"
OLD_FEEDSTOCK_TOKEN = "0123456789abcdef" * 4
SECRET = "FEEDSTOCK_TOKEN"
CIRUN_RESOURCE = "cirun-openstack-gpu-large"
GHA_ONLY = (
    "provider:\n  linux_64: github_actions\n  osx_64: github_actions\n  win_64: github_actions\n"
)

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


def _yaml_list(key: str, values: list[str]) -> str:
    return f"{key}:\n" + "".join(f"  - {value}\n" for value in values)


# -- GitHub kinds ----------------------------------------------------------------------


def build_archive(world: World, rng: random.Random, n: int) -> WorldRequest:
    names = [f"soak-a{n}x{k}" for k in range(rng.randint(1, 3))]
    for name in names:
        repo = f"{name}-feedstock"
        world.gh.add_repo(repo)
        world.checks[f"archive:{name}"] = lambda r=repo: world.gh.repo(r).archived
    world.effects["archive"] += len(names)
    return WorldRequest(
        f"requests/archive-{n}.yml", "action: archive\n" + _yaml_list("feedstocks", names)
    )


def build_unarchive(world: World, rng: random.Random, n: int) -> WorldRequest:
    names = [f"soak-u{n}x{k}" for k in range(rng.randint(1, 3))]
    for name in names:
        repo = f"{name}-feedstock"
        world.gh.add_repo(repo, archived=True)
        world.checks[f"unarchive:{name}"] = lambda r=repo: not world.gh.repo(r).archived
    world.effects["unarchive"] += len(names)
    return WorldRequest(
        f"requests/unarchive-{n}.yml", "action: unarchive\n" + _yaml_list("feedstocks", names)
    )


def _branches_request(action: str, feedstocks: dict[str, list[str]]) -> str:
    text = f"action: {action}\nfeedstocks:\n"
    for name, branches in feedstocks.items():
        text += f"  {name}:\n" + "".join(f"    - {b}\n" for b in branches)
    return text


def build_archive_branch(world: World, rng: random.Random, n: int) -> WorldRequest:
    name, gh = f"soak-b{n}", world.gh
    branches = [f"{v}.x" for v in range(1, rng.randint(2, 4))]
    repo = f"{name}-feedstock"
    gh.add_repo(
        repo, branches={"main": sha(f"{repo}@main"), **{b: sha(f"{repo}@{b}") for b in branches}}
    )
    for b in branches:
        commit = sha(f"{repo}@{b}")
        world.checks[f"archive_branch:{name}@{b}"] = lambda b=b, c=commit: (
            gh.repo(repo).tag(f"{b}_archived") == c and gh.repo(repo).branch(b) is None
        )
    world.effects["create_ref"] += len(branches)
    world.effects["delete_ref"] += len(branches)
    return WorldRequest(
        f"requests/archive-branch-{n}.yml",
        _branches_request("archive_branch", {name: branches}),
    )


def build_unarchive_branch(world: World, rng: random.Random, n: int) -> WorldRequest:
    name, gh = f"soak-c{n}", world.gh
    branches = [f"{v}.x" for v in range(1, rng.randint(2, 4))]
    repo = f"{name}-feedstock"
    gh.add_repo(repo, tags={f"{b}_archived": sha(f"{repo}@{b}") for b in branches})
    for b in branches:
        commit = sha(f"{repo}@{b}")
        world.checks[f"unarchive_branch:{name}@{b}"] = lambda b=b, c=commit: (
            gh.repo(repo).branch(b) == c and gh.repo(repo).tag(f"{b}_archived") is None
        )
    world.effects["create_ref"] += len(branches)
    world.effects["delete_ref"] += len(branches)
    return WorldRequest(
        f"requests/unarchive-branch-{n}.yml",
        _branches_request("unarchive_branch", {name: branches}),
    )


def _output_registered(gh: FakeGitHub, output: str, feedstock: str) -> bool:
    content = gh.repo(OUTPUTS).files.get(sharded_path(output, OUTPUTS_CONFIG))
    return content is not None and feedstock in json.loads(content)["feedstocks"]


def _glob_allowed(gh: FakeGitHub, glob: str, feedstock: str) -> bool:
    data = YAML(typ="safe", pure=True).load(gh.repo(OUTPUTS).files[ALLOWLIST_PATH]) or {}
    return glob in (data.get(feedstock) or [])


def build_add_feedstock_output(world: World, rng: random.Random, n: int) -> WorldRequest:
    feedstock, gh = f"soak-o{n}", world.gh
    gh.add_repo(f"{feedstock}-feedstock")
    outputs = [f"soak-o{n}-lib{k}" for k in range(rng.randint(1, 3))]
    if rng.random() < 0.5:
        outputs.append(f"soak-o{n}-plugin-*")
    for output in outputs:
        item = f"add_feedstock_output:{feedstock}:{output}"
        if output.endswith("*"):
            world.checks[item] = lambda o=output: _glob_allowed(gh, o, feedstock)
        else:
            world.checks[item] = lambda o=output: _output_registered(gh, o, feedstock)
    world.effects["put_file"] += len(outputs)
    text = "action: add_feedstock_output\nfeedstock_to_output_mapping:\n"
    text += f"  {feedstock}:\n" + "".join(f"    - '{o}'\n" for o in outputs)
    return WorldRequest(f"requests/outputs-{n}.yml", text)


def build_typo_archive(world: World, rng: random.Random, n: int) -> WorldRequest:
    """An archive request with a misspelt feedstock: it parks, gets an issue, is fixed."""
    good, typo, meant = f"soak-t{n}", f"soak-t{n}-tpyo", f"soak-t{n}-typo"
    for name in (good, meant):
        world.gh.add_repo(f"{name}-feedstock")
        world.checks[f"archive:{name}"] = lambda r=f"{name}-feedstock": world.gh.repo(r).archived
    # No check for the misspelt item: it never completes, the maintainer replaces it.
    world.effects["archive"] += 2
    return WorldRequest(
        f"requests/typo-{n}.yml",
        "action: archive\n" + _yaml_list("feedstocks", [good, typo]),
        fix=(typo, meant),
    )


# -- anaconda.org kinds ------------------------------------------------------------------


def _package(rng: random.Random, prefix: str, n: int, k: int) -> str:
    subdir = rng.choice(["linux-64", "osx-arm64", "noarch", "win-64"])
    return f"{subdir}/{prefix}{n}x{k}-1.{k}-h{n}_0.conda"


def build_broken(world: World, rng: random.Random, n: int) -> WorldRequest:
    assert world.ac is not None
    ac = world.ac
    packages = [_package(rng, "soak-brk", n, k) for k in range(rng.randint(1, 4))]
    for k, package in enumerate(packages):
        already = k == 0 and rng.random() < 0.3  # already broken: done without a change
        ac.add_file(CHANNEL, package, labels=["main", "broken"] if already else ["main"])
        world.effects["add_label"] += not already
        world.checks[f"broken:{package}"] = lambda p=package: "broken" in ac.file(CHANNEL, p).labels
    return WorldRequest(
        f"requests/broken-{n}.yml", "action: broken\n" + _yaml_list("packages", packages)
    )


def build_not_broken(world: World, rng: random.Random, n: int) -> WorldRequest:
    assert world.ac is not None
    ac = world.ac
    packages = [_package(rng, "soak-fix", n, k) for k in range(rng.randint(1, 4))]
    for package in packages:
        ac.add_file(CHANNEL, package, labels=["main", "broken"])
        world.effects["remove_label"] += 1
        world.checks[f"not_broken:{package}"] = lambda p=package: (
            "broken" not in ac.file(CHANNEL, p).labels
        )
    return WorldRequest(
        f"requests/not-broken-{n}.yml",
        "action: not_broken\n" + _yaml_list("packages", packages),
    )


def build_cfep3_copy(world: World, rng: random.Random, n: int) -> WorldRequest:
    assert world.ac is not None
    ac = world.ac
    entries = []
    for k in range(rng.randint(1, 3)):
        package = _package(rng, "soak-cp", n, k)
        source = ac.add_file(STAGING, package, content=f"artifact {n}/{k}".encode())
        spec = f"{STAGING}/{package}"
        entries.append(f"  - package: {spec}\n    sha256: {source.sha256}\n")
        world.effects["copy"] += 1
        world.checks[f"cfep3_copy:{spec}"] = lambda p=package, digest=source.sha256: (
            ac.has_file(CHANNEL, p)
            and ac.file(CHANNEL, p).sha256 == digest
            and "main" in ac.file(CHANNEL, p).labels
        )
    return WorldRequest(
        f"requests/copy-{n}.yml", "action: cfep3_copy\nanaconda_org_packages:\n" + "".join(entries)
    )


# -- token_reset and the CI-resource kinds ------------------------------------------------


def _token_registered(gh: FakeGitHub, repo: str) -> bool:
    """The feedstock's CI holds a new token, accepted, the only entry, not provisional."""
    if SECRET not in gh.repo(repo).secrets:
        return False
    token = gh.actions_secret(repo, SECRET)
    data = gh.repo(TOKENS).files[registry_path(repo.removesuffix("-feedstock"))]
    entries = json.loads(data)["tokens"]
    now = time.time()
    return (
        token != OLD_FEEDSTOCK_TOKEN
        and [e.get("provider") for e in entries] == ["github_actions"]
        and all("expires_at" not in e for e in entries)
        and accepts(data, token, "github_actions", now)
        and not accepts(data, OLD_FEEDSTOCK_TOKEN, "github_actions", now)
    )


def build_token_reset(world: World, rng: random.Random, n: int) -> WorldRequest:
    gh = world.gh
    names = [f"soak-r{n}x{k}" for k in range(rng.randint(1, 2))]
    for name in names:
        repo = f"{name}-feedstock"
        gh.add_repo(repo, files={"conda-forge.yml": GHA_ONLY})
        gh.repo(TOKENS).files[registry_path(name)] = json.dumps(
            {"tokens": [old_entry(None, OLD_FEEDSTOCK_TOKEN)]}
        ).encode()
        world.checks[f"token_reset:{name}"] = lambda r=repo: _token_registered(gh, r)
    world.at_least["put_secret"] += len(names)
    return WorldRequest(
        f"requests/token-reset-{n}.yml", "action: token_reset\n" + _yaml_list("feedstocks", names)
    )


def _recorded(gh: FakeGitHub, resource: str, repo: str) -> bool:
    data = YAML(typ="safe", pure=True).load(gh.repo(RECORDS).files[".access_control.yml"])
    entries = (data.get("access_control") or {}).get(resource) or []
    return any(entry.get("feedstock") == repo for entry in entries)


def _granted(gh: FakeGitHub, action: str, resource: str, repo: str) -> bool:
    return repo in gh.installation_repositories(CI_APPS[action]) and _recorded(gh, resource, repo)


def _ci_builder(action: str) -> Builder:
    def build(world: World, rng: random.Random, n: int) -> WorldRequest:
        gh = world.gh
        names = [f"soak-{action[:3]}{n}x{k}" for k in range(rng.randint(1, 3))]
        for name in names:
            repo = f"{name}-feedstock"
            gh.add_repo(repo)
            world.checks[f"{action}:{name}"] = lambda r=repo: _granted(gh, action, action, r)
        world.effects["installation_add"] += len(names)
        world.effects["put_file"] += len(names)  # one record each
        return WorldRequest(
            f"requests/{action}-{n}.yml", f"action: {action}\n" + _yaml_list("feedstocks", names)
        )

    return build


def _cirun_done(gh: FakeGitHub, repo: str, send_pr: bool) -> bool:
    policies = ci_config.cirun_policy_ids(gh.repo(CIRUN).files[".access.yml"])
    if not (_granted(gh, "cirun", CIRUN_RESOURCE, repo) and repo in policies):
        return False
    if not send_pr:
        return True
    pulls = [p for p in gh.pulls(repo) if p.state == "open"]
    return len(pulls) == 1


def build_cirun(world: World, rng: random.Random, n: int) -> WorldRequest:
    gh = world.gh
    send_pr = rng.random() < 0.6
    names = [f"soak-cir{n}x{k}" for k in range(rng.randint(1, 2))]
    for name in names:
        repo = f"{name}-feedstock"
        gh.add_repo(
            repo,
            files={
                "conda-forge.yml": "bot:\n  automerge: true\n",
                "recipe/conda_build_config.yaml": "c_compiler_version:\n  - 13\n",
            },
        )
        world.checks[f"cirun:{name}"] = lambda r=repo: _cirun_done(gh, r, send_pr)
        if send_pr:
            world.pulls.append(repo)
    world.effects["installation_add"] += len(names)
    # The record and the cirun policy; with the pull request, its branch and two files.
    world.effects["put_file"] += len(names) * (4 if send_pr else 2)
    if send_pr:
        world.effects["create_ref"] += len(names)
        world.effects["create_pull"] += len(names)
    text = (
        "action: cirun\n"
        + _yaml_list("feedstocks", names)
        + _yaml_list("resources", [CIRUN_RESOURCE])
        + f"send_pr: {'true' if send_pr else 'false'}\n"
    )
    return WorldRequest(f"requests/cirun-{n}.yml", text)


BUILDERS: dict[str, Builder] = {
    "archive": build_archive,
    "unarchive": build_unarchive,
    "archive_branch": build_archive_branch,
    "unarchive_branch": build_unarchive_branch,
    "add_feedstock_output": build_add_feedstock_output,
    "broken": build_broken,
    "not_broken": build_not_broken,
    "cfep3_copy": build_cfep3_copy,
    "token_reset": build_token_reset,
    "travis": _ci_builder("travis"),
    "blacksmith": _ci_builder("blacksmith"),
    "namespace": _ci_builder("namespace"),
    "depot": _ci_builder("depot"),
    "cirrus_runners": _ci_builder("cirrus_runners"),
    "cirun": build_cirun,
}
GITHUB_KINDS = (
    "archive",
    "unarchive",
    "archive_branch",
    "unarchive_branch",
    "add_feedstock_output",
)


def seed_common(gh: FakeGitHub, ac: FakeAnaconda | None) -> None:
    gh.add_token(GITHUB_TOKEN)
    gh.add_repo(HOME)
    gh.add_repo(PATCHES, workflows=("rebuild.yml",))
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
    gh.add_repo(CIRUN, files={".access.yml": "version: 1\npolicies: []\naccess_control: []\n"})
    for action, installation in CI_APPS.items():
        gh.add_installation(installation, action)
    gh.add_user_token(INSTALLATIONS_TOKEN)


def world_services(
    gh: FakeGitHub,
    ac: FakeAnaconda | None,
    *,
    clock: FakeClock,
    policy: RetryPolicy,
    http_timeout_seconds: float,
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
    )
    services.app_installations = AppInstallationsClient(
        services.settings, INSTALLATIONS_TOKEN, retrier=services.github.retrier
    )
    return services


def build_world(
    gh: FakeGitHub,
    ac: FakeAnaconda | None,
    *,
    seed: int,
    per_kind: dict[str, int],
    typos: int = 0,
) -> World:
    """Seed the fakes and return the queue: ``per_kind[action]`` requests of each kind."""
    rng = random.Random(seed)
    world = World(gh, ac)
    seed_common(gh, ac)
    n = 0
    for action, count in per_kind.items():
        for _ in range(count):
            n += 1
            world.requests.append(BUILDERS[action](world, rng, n))
    for _ in range(typos):
        n += 1
        world.requests.append(build_typo_archive(world, rng, n))
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
