"""pytest fixtures for the fakes; ``tests/conftest.py`` imports them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .anaconda import FakeAnaconda
from .cirun import FakeCirun
from .github import FakeGitHub


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    """A started FakeGitHub for the organisation 'conda-forge', no repos or tokens yet."""
    with FakeGitHub(org="conda-forge") as fake:
        yield fake


@pytest.fixture
def fake_anaconda() -> Iterator[FakeAnaconda]:
    """A started FakeAnaconda with no files or tokens yet."""
    with FakeAnaconda() as fake:
        yield fake


@pytest.fixture
def fake_cirun() -> Iterator[FakeCirun]:
    """A started FakeCirun for 'conda-forge': no keys, repositories or access control yet."""
    with FakeCirun(org="conda-forge") as fake:
        yield fake
