"""not_broken against FakeAnaconda (labels); its twin, broken, and the one repodata rebuild per
run they share are in tests/kinds/broken/."""

from __future__ import annotations

import pytest

from tests.fakes import FakeAnaconda, FakeGitHub
from tests.fakes.wiring import services_for
from tests.kinds.helpers import load, run, statuses

A = "linux-64/foo-1.0-h0_0.conda"


B = "noarch/bar-2.0-pyh0_0.tar.bz2"


PATCHES = "conda-forge-repodata-patches-feedstock"


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_token("gh-admin")
    fake_github.add_repo(PATCHES, workflows=("rebuild.yml",))
    return fake_github


@pytest.fixture
def ac(fake_anaconda: FakeAnaconda) -> FakeAnaconda:
    fake_anaconda.add_token("ac-admin", scopes=["api:read", "api:write"], owners=["conda-forge"])
    fake_anaconda.add_file("conda-forge", A)
    fake_anaconda.add_file("conda-forge", B, labels=["main", "broken"])
    return fake_anaconda


def test_not_broken_removes_the_label(gh: FakeGitHub, ac: FakeAnaconda) -> None:
    request = load(f"action: not_broken\npackages:\n  - {A}\n  - {B}\n")
    assert statuses(run(request, services_for(gh, ac))) == [("done", False), ("done", True)]
    assert ac.file("conda-forge", B).labels == {"main"}
    assert ac.effects == {"remove_label": 1}
