from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fakes.fixtures import fake_anaconda, fake_github

__all__ = ["fake_anaconda", "fake_github"]

REPO_ROOT = Path(__file__).resolve().parents[1]
# CI clones the repository next to the organisation's shared/ folder (real request corpus).
SHARED = Path(os.environ.get("ADMIN_REQUESTS_SHARED", REPO_ROOT.parent / "shared"))


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def corpus_dir() -> Path:
    corpus = SHARED / "corpus" / "real-requests"
    if not corpus.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"the real-request corpus is missing at {corpus}")
        pytest.skip(f"no corpus at {corpus}")
    return corpus


def _start_rank(item: pytest.Item) -> int:
    if item.get_closest_marker("act"):
        return 0
    if item.get_closest_marker("soak"):
        return 1
    return 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slowest groups first: whole workflows under act, then the soak tests.

    ``python3 dev.py test`` runs the suite on several pytest-xdist workers, which take
    tests in this order; started first, the long runs (a from-scratch install, real retry
    delays, injected timeouts) overlap the quick tests instead of trailing after them.
    The sort is stable, so the order within each group stays the collection order.
    """
    items.sort(key=_start_rank)
