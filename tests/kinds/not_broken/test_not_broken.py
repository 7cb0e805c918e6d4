"""not_broken against FakeAnaconda (labels); its twin, broken, and the one repodata rebuild per
run they share are in tests/kinds/broken/."""

from __future__ import annotations

import pytest

from tests.fakes import FakeAnaconda, FakeGitHub
from tests.fakes.wiring import services_for
from tests.kinds.broken.world import A, B, label_anaconda, label_github
from tests.kinds.helpers import load, run, statuses


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:
    return label_github(fake_github)


@pytest.fixture
def ac(fake_anaconda: FakeAnaconda) -> FakeAnaconda:
    return label_anaconda(fake_anaconda)


def test_not_broken_removes_the_label(gh: FakeGitHub, ac: FakeAnaconda) -> None:
    request = load(f"action: not_broken\npackages:\n  - {A}\n  - {B}\n")
    assert statuses(run(request, services_for(gh, ac))) == [("done", False), ("done", True)]
    assert ac.file("conda-forge", B).labels == {"main"}
    assert ac.effects == {"remove_label": 1}
