"""archive_branch against FakeGitHub (unarchive_branch is in tests/kinds/unarchive_branch/)."""

from __future__ import annotations

import pytest

from tests.fakes import FakeGitHub, Fault, sha
from tests.fakes.wiring import services_for
from tests.kinds.archive_branch.world import ARCHIVE, branch_github
from tests.kinds.helpers import load, run, statuses


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:
    return branch_github(fake_github)


def test_branches_become_tags_at_the_same_commit(gh: FakeGitHub) -> None:
    request = load(ARCHIVE)
    services = services_for(gh, None)
    assert statuses(run(request, services)) == [("done", True), ("done", True)]
    repo = gh.repo("foo-feedstock")
    assert repo.tag("1.x_archived") == sha("one")
    assert repo.tag("2.x_archived") == sha("two")
    assert repo.branch("1.x") is None
    assert repo.branch("2.x") is None
    assert gh.effects == {"create_ref": 2, "delete_ref": 2}
    assert statuses(run(request, services)) == [("done", False), ("done", False)]
    assert gh.effects == {"create_ref": 2, "delete_ref": 2}


def test_a_run_that_stopped_half_way_is_finished(gh: FakeGitHub) -> None:
    # The tag was created, then the job died before deleting the branch.
    gh.repo("foo-feedstock").refs["refs/tags/1.x_archived"] = sha("one")
    outcomes = run(
        load("action: archive_branch\nfeedstocks:\n  foo: [1.x]\n"), services_for(gh, None)
    )
    assert statuses(outcomes) == [("done", True)]
    assert gh.effects == {"delete_ref": 1}
    assert gh.repo("foo-feedstock").branch("1.x") is None


def test_the_target_is_created_before_the_source_is_deleted(gh: FakeGitHub) -> None:
    gh.faults.at_rate(1.0, Fault.server_error(503), method="DELETE")
    outcomes = run(
        load("action: archive_branch\nfeedstocks:\n  foo: [1.x]\n"), services_for(gh, None)
    )
    assert statuses(outcomes) == [("retry", False)]
    repo = gh.repo("foo-feedstock")
    assert repo.tag("1.x_archived") == sha("one")
    assert repo.branch("1.x") == sha("one")  # nothing lost
    gh.faults.clear()
    outcomes = run(
        load("action: archive_branch\nfeedstocks:\n  foo: [1.x]\n"), services_for(gh, None)
    )
    assert statuses(outcomes) == [("done", True)]
    assert gh.effects == {"create_ref": 1, "delete_ref": 1}


def test_a_tag_at_another_commit_fails_and_deletes_nothing(gh: FakeGitHub) -> None:
    gh.repo("foo-feedstock").refs["refs/tags/1.x_archived"] = sha("main")
    (outcome,) = run(
        load("action: archive_branch\nfeedstocks:\n  foo: [1.x]\n"), services_for(gh, None)
    )
    assert outcome.status.value == "failed"
    assert "nothing was deleted" in outcome.detail
    assert gh.repo("foo-feedstock").branch("1.x") == sha("one")
    assert gh.effects == {}


def test_missing_branch_and_missing_repository_fail(gh: FakeGitHub) -> None:
    request = load("action: archive_branch\nfeedstocks:\n  foo: [9.x]\n  nope: [1.x]\n")
    outcomes = run(request, services_for(gh, None))
    assert statuses(outcomes) == [("failed", False), ("failed", False)]
    assert "neither" in outcomes[0].detail
    assert "no repository 'nope-feedstock'" in outcomes[1].detail
    problems = request.kind.preflight(request.model, services_for(gh, None))
    assert [p.code for p in problems] == ["no-such-branch", "no-such-branch"]


def test_a_token_scoped_to_other_repositories_is_refused(gh: FakeGitHub) -> None:
    gh.add_repo("other-feedstock")
    gh.add_token("other", repositories=["other-feedstock"], permissions={"contents": "write"})
    request = load(ARCHIVE)
    assert request.kind.access(request.model, services_for(gh, None)).github_repositories == (
        "foo-feedstock",
    )
    outcomes = run(request, services_for(gh, None, github_token="other"))
    assert statuses(outcomes) == [("failed", False), ("failed", False)]
    assert gh.effects == {}
