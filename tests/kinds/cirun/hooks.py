"""What the shared tests know of ``cirun`` (see tests/kinds/kind_hooks.py); the
CI-resource family's hooks are in tests/kinds/ci_resources_hooks.py."""

from __future__ import annotations

import random

from hypothesis import strategies as st

from admin_requests.kinds.ci_resources import CiResourceParams
from tests.fakes import FakeCirun, FakeGitHub
from tests.kinds import ci_resources_hooks as family
from tests.kinds.ci_resources_hooks import check_item
from tests.soak.world import World, WorldRequest, block_list

__all__ = ["EXAMPLE_PARAMS", "EXAMPLE_REQUEST", "check_item", "request_files", "soak_request"]

CIRUN_RESOURCE = "cirun-openstack-gpu-large"
EXAMPLE_REQUEST = (
    f"action: cirun\nfeedstocks:\n  - foo\nresources:\n  - {CIRUN_RESOURCE}\npull_request: true\n"
)
EXAMPLE_PARAMS = CiResourceParams(
    "foo", revoke=False, resources=(CIRUN_RESOURCE,), pull_request=True, send_pr=True
)


def request_files() -> st.SearchStrategy[str]:
    return family.request_files("cirun")


def _cirun_done(gh: FakeGitHub, cirun: FakeCirun, repo: str, send_pr: bool) -> bool:
    on = cirun.repos.get(f"conda-forge/{repo}", False)
    if not (on and CIRUN_RESOURCE in cirun.resources_of(f"{repo}-policy")):
        return False
    if not family.granted(gh, "cirun", CIRUN_RESOURCE, repo):
        return False
    if not send_pr:
        return True
    pulls = [p for p in gh.pulls(repo) if p.state == "open"]
    return len(pulls) == 1


def soak_request(world: World, rng: random.Random, n: int) -> WorldRequest:
    gh, cirun = world.gh, world.cirun
    assert cirun is not None, "the cirun kind's soak needs a FakeCirun: build_world(cirun=...)"
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
        world.checks[f"cirun:{name}"] = lambda r=repo: _cirun_done(gh, cirun, r, send_pr)
        if send_pr:
            world.pulls.append(repo)
    world.effects["installation_add"] += len(names)
    # Cirun on for each feedstock, and its policy given the resource (FakeCirun's effects).
    world.effects["set_repo"] += len(names)
    world.effects["access_add"] += len(names)
    # The record; with the pull request, its branch and two files.
    world.effects["put_file"] += len(names) * (3 if send_pr else 1)
    if send_pr:
        world.effects["create_ref"] += len(names)
        world.effects["create_pull"] += len(names)
    text = (
        "action: cirun\n"
        + block_list("feedstocks", names)
        + block_list("resources", [CIRUN_RESOURCE])
        + f"send_pr: {'true' if send_pr else 'false'}\n"
    )
    return WorldRequest(f"requests/cirun-{n}.yml", text)
