"""What the shared tests know of ``not_broken`` (see tests/kinds/kind_hooks.py)."""

from __future__ import annotations

import random

from hypothesis import strategies as st

from admin_requests.kinds.broken import LabelParams
from tests.kinds.broken.hooks import check_item, request_files_of
from tests.soak.world import CHANNEL, World, WorldRequest, block_list, package_file

__all__ = ["EXAMPLE_PARAMS", "EXAMPLE_REQUEST", "check_item", "request_files", "soak_request"]

EXAMPLE_REQUEST = "action: not_broken\npackages:\n  - noarch/six-1.16.0-pyh6c4a22f_0.tar.bz2\n"
EXAMPLE_PARAMS = LabelParams("six", "1.16.0", "noarch/six-1.16.0-pyh6c4a22f_0.tar.bz2")


def request_files() -> st.SearchStrategy[str]:
    return request_files_of("not_broken")


def soak_request(world: World, rng: random.Random, n: int) -> WorldRequest:
    assert world.ac is not None
    ac = world.ac
    packages = [package_file(rng, "soak-fix", n, k) for k in range(rng.randint(1, 4))]
    for package in packages:
        ac.add_file(CHANNEL, package, labels=["main", "broken"])
        world.effects["remove_label"] += 1
        world.checks[f"not_broken:{package}"] = lambda p=package: (
            "broken" not in ac.file(CHANNEL, p).labels
        )
    return WorldRequest(
        f"requests/not-broken-{n}.yml", "action: not_broken\n" + block_list("packages", packages)
    )
