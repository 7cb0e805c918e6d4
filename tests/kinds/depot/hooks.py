"""What the shared tests know of ``depot`` (see tests/kinds/kind_hooks.py); the
CI-resource family's hooks are in tests/kinds/ci_resources_hooks.py."""

from __future__ import annotations

import random

from hypothesis import strategies as st

from tests.kinds import ci_resources_hooks as family
from tests.kinds.ci_resources_hooks import check_item
from tests.soak.world import World, WorldRequest

__all__ = ["EXAMPLE_PARAMS", "EXAMPLE_REQUEST", "check_item", "request_files", "soak_request"]

EXAMPLE_REQUEST = family.example_request("depot")
EXAMPLE_PARAMS = family.example_params("depot")


def request_files() -> st.SearchStrategy[str]:
    return family.request_files("depot")


def soak_request(world: World, rng: random.Random, n: int) -> WorldRequest:
    return family.soak_request("depot", world, rng, n)
