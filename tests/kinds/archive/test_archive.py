"""archive against FakeGitHub (unarchive is in tests/kinds/unarchive/)."""

from __future__ import annotations

import pytest

from tests.fakes import FakeGitHub, Fault
from tests.fakes.wiring import services_for
from tests.kinds.helpers import load, run, statuses

ARCHIVE = "action: archive\nfeedstocks:\n  - foo\n  - bar\n"


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_token("gh-admin")
    fake_github.add_repo("foo-feedstock")
    fake_github.add_repo("bar-feedstock", archived=True)
    return fake_github


def test_archive_then_rerun_changes_nothing(gh: FakeGitHub) -> None:
    request = load(ARCHIVE)
    services = services_for(gh, None)
    assert statuses(run(request, services)) == [("done", True), ("done", False)]
    assert gh.repo("foo-feedstock").archived
    assert gh.effects["archive"] == 1
    assert statuses(run(request, services)) == [("done", False), ("done", False)]
    assert gh.effects["archive"] == 1


def test_missing_repository_fails_without_retry(gh: FakeGitHub) -> None:
    request = load("action: archive\nfeedstocks: [nope]\n")
    (outcome,) = run(request, services_for(gh, None))
    assert outcome.status.value == "failed"
    assert "no repository 'nope-feedstock'" in outcome.detail
    problems = request.kind.preflight(request.model, services_for(gh, None))
    assert [(p.code, p.line) for p in problems] == [("no-such-feedstock", 2)]


def test_server_trouble_is_retried_later(gh: FakeGitHub) -> None:
    gh.faults.at_rate(1.0, Fault.server_error(502), method="PATCH")
    outcomes = run(load(ARCHIVE), services_for(gh, None))
    assert statuses(outcomes) == [("retry", False), ("done", False)]
    assert not gh.repo("foo-feedstock").archived


def test_access_names_exactly_the_repositories(gh: FakeGitHub) -> None:
    request = load(ARCHIVE)
    access = request.kind.access(request.model, services_for(gh, None))
    assert access.github_repositories == ("foo-feedstock", "bar-feedstock")
    assert access.github_permissions == {"administration": "write"}


def test_a_token_scoped_to_other_repositories_is_refused(gh: FakeGitHub) -> None:
    gh.add_repo("other-feedstock")
    gh.add_token("other", repositories=["other-feedstock"], permissions={"administration": "write"})
    (outcome, _) = run(load(ARCHIVE), services_for(gh, None, github_token="other"))
    assert outcome.status.value == "failed"
    assert not gh.repo("foo-feedstock").archived
    assert gh.effects["archive"] == 0


def test_a_token_without_administration_is_refused(gh: FakeGitHub) -> None:
    gh.add_token("contents", permissions={"contents": "write"})
    (outcome, _) = run(load(ARCHIVE), services_for(gh, None, github_token="contents"))
    assert outcome.status.value == "failed"
    assert "credentials" in outcome.detail
    assert gh.effects["archive"] == 0
