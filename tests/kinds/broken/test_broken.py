"""broken against FakeAnaconda (labels) and FakeGitHub (one rebuild per run); not_broken
is in tests/kinds/not_broken/."""

from __future__ import annotations

import pytest

from admin_requests.errors import NotFoundError
from tests.fakes import FakeAnaconda, FakeGitHub, Fault
from tests.fakes.wiring import services_for
from tests.kinds.broken.world import PATCHES, A, B, label_anaconda, label_github
from tests.kinds.helpers import load, run, statuses

BROKEN = f"action: broken\npackages:\n  - {A}\n  - {B}\n"


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:
    return label_github(fake_github)


@pytest.fixture
def ac(fake_anaconda: FakeAnaconda) -> FakeAnaconda:
    return label_anaconda(fake_anaconda)


def test_broken_then_rerun_changes_nothing(gh: FakeGitHub, ac: FakeAnaconda) -> None:
    request = load(BROKEN)
    services = services_for(gh, ac)
    assert statuses(run(request, services)) == [("done", True), ("done", False)]
    assert ac.file("conda-forge", A).labels == {"main", "broken"}
    assert ac.effects == {"add_label": 1}
    assert gh.repo(PATCHES).workflow_dispatches == [
        {"workflow": "rebuild.yml", "ref": "main", "inputs": {}}
    ]
    assert statuses(run(request, services)) == [("done", False), ("done", False)]
    assert ac.effects == {"add_label": 1}


def test_one_rebuild_per_run_not_per_item(gh: FakeGitHub, ac: FakeAnaconda) -> None:
    for n in range(5):
        ac.add_file("conda-forge", f"linux-64/pkg{n}-1.0-h0_0.conda")
    packages = "".join(f"  - linux-64/pkg{n}-1.0-h0_0.conda\n" for n in range(5))
    run(load(f"action: broken\npackages:\n{packages}"), services_for(gh, ac))
    assert gh.effects == {"workflow_dispatch": 1}


def test_repository_dispatch_when_no_workflow_is_configured(
    gh: FakeGitHub, ac: FakeAnaconda
) -> None:
    request = load(BROKEN)
    services = services_for(gh, ac, repodata_patches_workflow="")
    run(request, services)
    assert gh.effects == {"repository_dispatch": 1}
    follow_up = request.kind.follow_up_access([], services)
    assert follow_up.github_permissions == {"contents": "write"}


def test_missing_package_fails_and_preflight_says_so(gh: FakeGitHub, ac: FakeAnaconda) -> None:
    request = load("action: broken\npackages:\n  - linux-64/foo-9.9-h0_0.conda\n")
    (outcome,) = run(request, services_for(gh, ac))
    assert outcome.status.value == "failed"
    assert "is not on the 'conda-forge' channel" in outcome.detail
    problems = request.kind.preflight(request.model, services_for(gh, ac))
    assert [(p.code, p.line, p.column) for p in problems] == [("no-such-package", 3, 5)]
    assert gh.effects == {}  # nothing done: no rebuild


def test_transient_failures_are_retried_later(gh: FakeGitHub, ac: FakeAnaconda) -> None:
    ac.faults.at_rate(1.0, Fault.server_error(503), method="POST")
    outcomes = run(load(BROKEN), services_for(gh, ac))
    assert statuses(outcomes) == [("retry", False), ("done", False)]
    assert ac.file("conda-forge", A).labels == {"main"}


def test_a_token_for_another_channel_is_refused(gh: FakeGitHub, ac: FakeAnaconda) -> None:
    ac.add_token("elsewhere", scopes=["api:write"], owners=["other-channel"])
    outcomes = run(load(BROKEN), services_for(gh, ac, anaconda_token="elsewhere"))
    assert [o.status.value for o in outcomes] == ["failed", "done"]
    assert ac.effects == {}


def test_a_rebuild_token_for_other_repositories_is_refused(
    gh: FakeGitHub, ac: FakeAnaconda
) -> None:
    gh.add_token("other", repositories=["foo-feedstock"], permissions={"actions": "write"})
    request = load(BROKEN)
    with pytest.raises(NotFoundError):  # GitHub hides what a token may not see
        run(request, services_for(gh, ac, github_token="other"))
    assert gh.effects == {}
    # Each request gets only its anaconda.org scopes; the rebuild is the run's follow-up,
    # with its own token for the one repository and the one permission it needs.
    access = request.kind.access(request.model, services_for(gh, ac))
    assert access.github_repositories == ()
    assert dict(access.github_permissions) == {}
    assert access.anaconda_scopes == ("api:read", "api:write")
    follow_up = request.kind.follow_up_access([], services_for(gh, ac))
    assert follow_up.github_repositories == (PATCHES,)
    assert dict(follow_up.github_permissions) == {"actions": "write"}
    assert follow_up.anaconda_scopes == ()
