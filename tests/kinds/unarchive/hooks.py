"""What the shared tests know of ``unarchive`` (see tests/kinds/kind_hooks.py)."""

from __future__ import annotations

import random

from hypothesis import strategies as st

from admin_requests.kinds.archive import RepositoryParams
from tests.fuzz.strategies import list_file
from tests.kinds.archive.hooks import check_item, soak_archive
from tests.soak.world import World, WorldRequest

__all__ = ["EXAMPLE_PARAMS", "EXAMPLE_REQUEST", "check_item", "request_files", "soak_request"]

EXAMPLE_REQUEST = "action: unarchive\nfeedstocks:\n  - python-wget\n"
EXAMPLE_PARAMS = RepositoryParams("python-wget-feedstock")


def request_files() -> st.SearchStrategy[str]:
    return list_file("unarchive")


def soak_request(world: World, rng: random.Random, n: int) -> WorldRequest:
    return soak_archive(world, rng, n, archived=False)
