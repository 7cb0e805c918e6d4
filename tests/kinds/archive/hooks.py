"""What the shared tests know of ``archive`` (see tests/kinds/kind_hooks.py)."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import strategies as st

from admin_requests.kinds.archive import RepositoryParams
from admin_requests.kinds.contract import Item
from admin_requests.validation.names import check_feedstock_name
from tests.fuzz.strategies import list_file
from tests.soak.world import World, WorldRequest, block_list

EXAMPLE_REQUEST = "action: archive\nfeedstocks:\n  - python-wget\n  - coreapi\n"
EXAMPLE_PARAMS = RepositoryParams("python-wget-feedstock")


def check_item(item: Item[Any]) -> None:
    assert item.params.repository == item.target
    assert check_feedstock_name(item.target.removesuffix("-feedstock")) is None


def request_files() -> st.SearchStrategy[str]:
    return list_file("archive")


def soak_archive(world: World, rng: random.Random, n: int, *, archived: bool) -> WorldRequest:
    """``archive`` (or, not ``archived``, ``unarchive``) of 1-3 feedstocks."""
    action = "archive" if archived else "unarchive"
    names = [f"soak-{action[0]}{n}x{k}" for k in range(rng.randint(1, 3))]
    for name in names:
        repo = f"{name}-feedstock"
        world.gh.add_repo(repo, archived=not archived)
        world.checks[f"{action}:{name}"] = lambda r=repo: world.gh.repo(r).archived == archived
    world.effects["archive" if archived else "unarchive"] += len(names)
    return WorldRequest(
        f"requests/{action}-{n}.yml", f"action: {action}\n" + block_list("feedstocks", names)
    )


def soak_request(world: World, rng: random.Random, n: int) -> WorldRequest:
    return soak_archive(world, rng, n, archived=True)


def typo_request(world: World, rng: random.Random, n: int) -> WorldRequest:
    """An archive request with a misspelt feedstock: it parks, gets an issue, is fixed."""
    good, typo, meant = f"soak-t{n}", f"soak-t{n}-tpyo", f"soak-t{n}-typo"
    for name in (good, meant):
        world.gh.add_repo(f"{name}-feedstock")
        world.checks[f"archive:{name}"] = lambda r=f"{name}-feedstock": world.gh.repo(r).archived
    # No check for the misspelt item: it never completes, the maintainer replaces it.
    world.effects["archive"] += 2
    return WorldRequest(
        f"requests/typo-{n}.yml",
        "action: archive\n" + block_list("feedstocks", [good, typo]),
        fix=(typo, meant),
    )
