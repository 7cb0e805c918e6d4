"""What the shared tests know of ``unarchive_branch`` (see tests/kinds/kind_hooks.py)."""

from __future__ import annotations

import random

from hypothesis import strategies as st

from admin_requests.kinds.archive_branch import BranchParams
from tests.fakes import sha
from tests.kinds.archive_branch.hooks import branches_request, check_item, request_files_of
from tests.soak.world import World, WorldRequest

__all__ = ["EXAMPLE_PARAMS", "EXAMPLE_REQUEST", "check_item", "request_files", "soak_request"]

EXAMPLE_REQUEST = "action: unarchive_branch\nfeedstocks:\n  numpy:\n    - 1.26.x\n"
EXAMPLE_PARAMS = BranchParams("numpy-feedstock", "1.26.x", "1.26.x_archived")


def request_files() -> st.SearchStrategy[str]:
    return request_files_of("unarchive_branch")


def soak_request(world: World, rng: random.Random, n: int) -> WorldRequest:
    name, gh = f"soak-c{n}", world.gh
    listed = [f"{v}.x" for v in range(1, rng.randint(2, 4))]
    repo = f"{name}-feedstock"
    gh.add_repo(repo, tags={f"{b}_archived": sha(f"{repo}@{b}") for b in listed})
    for b in listed:
        commit = sha(f"{repo}@{b}")
        world.checks[f"unarchive_branch:{name}@{b}"] = lambda b=b, c=commit: (
            gh.repo(repo).branch(b) == c and gh.repo(repo).tag(f"{b}_archived") is None
        )
    world.effects["create_ref"] += len(listed)
    world.effects["delete_ref"] += len(listed)
    return WorldRequest(
        f"requests/unarchive-branch-{n}.yml", branches_request("unarchive_branch", {name: listed})
    )
