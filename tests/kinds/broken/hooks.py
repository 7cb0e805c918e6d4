"""What the shared tests know of ``broken`` (see tests/kinds/kind_hooks.py)."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import strategies as st

from admin_requests.kinds.broken import LabelParams
from admin_requests.kinds.contract import Item
from admin_requests.validation.names import parse_package_file
from tests.fuzz.strategies import list_file, mostly_plausible_files
from tests.soak.world import CHANNEL, World, WorldRequest, block_list, package_file

EXAMPLE_REQUEST = "action: broken\npackages:\n  - linux-64/numpy-2.0.0-py312h0_0.conda\n"
EXAMPLE_PARAMS = LabelParams("numpy", "2.0.0", "linux-64/numpy-2.0.0-py312h0_0.conda")


def check_item(item: Item[Any]) -> None:
    package, _ = parse_package_file(item.target)
    assert package is not None
    assert item.params == LabelParams(package.name, package.version, package.basename)


def request_files_of(action: str) -> st.SearchStrategy[str]:
    return list_file(action, "packages", mostly_plausible_files)


def request_files() -> st.SearchStrategy[str]:
    return request_files_of("broken")


def soak_request(world: World, rng: random.Random, n: int) -> WorldRequest:
    assert world.ac is not None
    ac = world.ac
    packages = [package_file(rng, "soak-brk", n, k) for k in range(rng.randint(1, 4))]
    for k, package in enumerate(packages):
        already = k == 0 and rng.random() < 0.3  # already broken: done without a change
        ac.add_file(CHANNEL, package, labels=["main", "broken"] if already else ["main"])
        world.effects["add_label"] += not already
        world.checks[f"broken:{package}"] = lambda p=package: "broken" in ac.file(CHANNEL, p).labels
    return WorldRequest(
        f"requests/broken-{n}.yml", "action: broken\n" + block_list("packages", packages)
    )
