"""unarchive against FakeGitHub (its twin, archive, is in tests/kinds/archive/)."""

from __future__ import annotations

import pytest

from tests.fakes import FakeGitHub
from tests.fakes.wiring import services_for
from tests.kinds.helpers import load, run, statuses


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_token("gh-admin")
    fake_github.add_repo("foo-feedstock")
    fake_github.add_repo("bar-feedstock", archived=True)
    return fake_github


def test_unarchive(gh: FakeGitHub) -> None:
    request = load("action: unarchive\nfeedstocks: [foo, bar]\n")
    assert statuses(run(request, services_for(gh, None))) == [("done", False), ("done", True)]
    assert not gh.repo("bar-feedstock").archived
    assert gh.effects == {"unarchive": 1}
