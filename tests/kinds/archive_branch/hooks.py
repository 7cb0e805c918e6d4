"""What the shared tests know of ``archive_branch`` (see tests/kinds/kind_hooks.py)."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import strategies as st

from admin_requests.kinds.archive_branch import ARCHIVED_TAG_SUFFIX, BranchParams
from admin_requests.kinds.contract import Item
from admin_requests.validation.names import check_branch_name, check_feedstock_name
from tests.fakes import sha
from tests.fuzz.strategies import mapping_of_lists_file, names
from tests.soak.world import World, WorldRequest

EXAMPLE_REQUEST = "action: archive_branch\nfeedstocks:\n  numpy:\n    - 1.26.x\n    - '2.0'\n"
EXAMPLE_PARAMS = BranchParams("numpy-feedstock", "1.26.x", "1.26.x_archived")

branches = st.one_of(
    st.from_regex(r"[0-9]{1,2}\.[0-9x]{1,2}(\.x)?", fullmatch=True),
    st.from_regex(r"[0-9]{1,2}\.[0-9x]{1,2}(\.x)?", fullmatch=True),
    names,
)


def check_item(item: Item[Any]) -> None:
    params = item.params
    assert params.repository == item.target
    assert check_feedstock_name(item.target.removesuffix("-feedstock")) is None
    assert check_branch_name(params.branch) is None
    assert params.tag == params.branch + ARCHIVED_TAG_SUFFIX


def request_files_of(action: str) -> st.SearchStrategy[str]:
    return mapping_of_lists_file(action, "feedstocks", branches)


def request_files() -> st.SearchStrategy[str]:
    return request_files_of("archive_branch")


def branches_request(action: str, feedstocks: dict[str, list[str]]) -> str:
    text = f"action: {action}\nfeedstocks:\n"
    for name, listed in feedstocks.items():
        text += f"  {name}:\n" + "".join(f"    - {b}\n" for b in listed)
    return text


def soak_request(world: World, rng: random.Random, n: int) -> WorldRequest:
    name, gh = f"soak-b{n}", world.gh
    listed = [f"{v}.x" for v in range(1, rng.randint(2, 4))]
    repo = f"{name}-feedstock"
    gh.add_repo(
        repo, branches={"main": sha(f"{repo}@main"), **{b: sha(f"{repo}@{b}") for b in listed}}
    )
    for b in listed:
        commit = sha(f"{repo}@{b}")
        world.checks[f"archive_branch:{name}@{b}"] = lambda b=b, c=commit: (
            gh.repo(repo).tag(f"{b}_archived") == c and gh.repo(repo).branch(b) is None
        )
    world.effects["create_ref"] += len(listed)
    world.effects["delete_ref"] += len(listed)
    return WorldRequest(
        f"requests/archive-branch-{n}.yml", branches_request("archive_branch", {name: listed})
    )
