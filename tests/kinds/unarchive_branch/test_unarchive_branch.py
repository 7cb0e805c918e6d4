"""unarchive_branch against FakeGitHub (its twin, archive_branch, is in
tests/kinds/archive_branch/)."""

from __future__ import annotations

import pytest

from tests.fakes import FakeGitHub, sha
from tests.fakes.wiring import services_for
from tests.kinds.archive_branch.world import ARCHIVE, branch_github
from tests.kinds.helpers import load, run, statuses


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:
    return branch_github(fake_github)


def test_unarchive_brings_the_branch_back(gh: FakeGitHub) -> None:
    services = services_for(gh, None)
    run(load(ARCHIVE), services)
    outcomes = run(load("action: unarchive_branch\nfeedstocks:\n  foo: [1.x]\n"), services)
    assert statuses(outcomes) == [("done", True)]
    repo = gh.repo("foo-feedstock")
    assert repo.branch("1.x") == sha("one")
    assert repo.tag("1.x_archived") is None
