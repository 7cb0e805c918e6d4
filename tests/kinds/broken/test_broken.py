"""broken against FakeAnaconda (labels) and FakeGitHub (one rebuild per run); not_broken
is in tests/kinds/not_broken/."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from admin_requests.errors import NotFoundError, TransientError
from admin_requests.kinds.broken import rebuild_message
from admin_requests.services.github import GitCommit
from tests.fakes import FakeAnaconda, FakeGitHub, Fault
from tests.fakes.wiring import services_for
from tests.kinds.broken.world import PATCHES, A, B, label_anaconda, label_github, rebuilds
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
    head = gh.repo(PATCHES).branch("main")
    assert statuses(run(request, services)) == [("done", True), ("done", False)]
    assert ac.file("conda-forge", A).labels == {"main", "broken"}
    assert ac.effects == {"add_label": 1}
    # The rebuild, as upstream makes it: an empty commit on main, whose push starts
    # conda-build.yml.
    (push,) = rebuilds(gh)
    assert push.ref == "refs/heads/main"
    assert push.before == head
    assert push.message == f"resync repo data for broken/not-broken packages {A} {B}"
    commit = gh.repo(PATCHES).git_commits[push.after]
    assert commit.parents == (head,)
    assert commit.tree == gh.repo(PATCHES).git_commits[head].tree  # nothing else changes
    assert gh.repo(PATCHES).files.keys() == {".github/workflows/conda-build.yml"}
    assert statuses(run(request, services)) == [("done", False), ("done", False)]
    assert ac.effects == {"add_label": 1}


def test_one_rebuild_per_run_not_per_item(gh: FakeGitHub, ac: FakeAnaconda) -> None:
    for n in range(5):
        ac.add_file("conda-forge", f"linux-64/pkg{n}-1.0-h0_0.conda")
    packages = "".join(f"  - linux-64/pkg{n}-1.0-h0_0.conda\n" for n in range(5))
    run(load(f"action: broken\npackages:\n{packages}"), services_for(gh, ac))
    assert gh.effects == {"create_commit": 1, "update_ref": 1}
    assert len(rebuilds(gh)) == 1
    assert gh.count("POST", r"/dispatches$") == 0


def test_a_push_in_between_is_built_on_not_undone(
    gh: FakeGitHub, ac: FakeAnaconda, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = services_for(gh, ac)
    client = services.github_for(PATCHES)
    create_commit = client.create_commit
    theirs: list[str] = []

    def racing(repo: str, message: str, tree: str, parents: Sequence[str]) -> GitCommit:
        # A maintainer's patch lands between our read of main and our ref update.
        if not theirs:
            theirs.append(gh.push_commit(PATCHES, "main", "a patch", {"recipe/x.yaml": "x"}))
        return create_commit(repo, message, tree, parents)

    monkeypatch.setattr(client, "create_commit", racing)
    run(load(BROKEN), services)
    their_push, ours = rebuilds(gh)
    assert their_push.message == "a patch"
    assert ours.message.startswith("resync repo data for broken/not-broken packages")
    assert gh.repo(PATCHES).git_commits[ours.after].parents == (theirs[0],)
    assert gh.repo(PATCHES).file_text("recipe/x.yaml") == "x"  # their push stays
    # The first ref update was refused in GitHub's words, the second built on theirs.
    assert [c.status for c in gh.calls if c.method == "PATCH"] == [422, 200]


def test_a_branch_that_keeps_moving_fails_the_follow_up(
    gh: FakeGitHub, ac: FakeAnaconda, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = services_for(gh, ac)
    client = services.github_for(PATCHES)
    create_commit = client.create_commit

    def always_racing(repo: str, message: str, tree: str, parents: Sequence[str]) -> GitCommit:
        gh.push_commit(PATCHES, "main", "busy")
        return create_commit(repo, message, tree, parents)

    monkeypatch.setattr(client, "create_commit", always_racing)
    with pytest.raises(TransientError, match="kept moving"):
        run(load(BROKEN), services)
    assert [p.message for p in rebuilds(gh)] == ["busy"] * 5  # bounded: 5 tries


def test_long_package_lists_are_counted_in_the_first_line() -> None:
    prefix = "resync repo data for broken/not-broken packages "
    few = [f"linux-64/p{n}-1-0.conda" for n in range(30)]
    assert rebuild_message(few) == prefix + " ".join(few)  # upstream's one line
    many = [f"linux-64/p{n}-1-0.conda" for n in range(600)]
    subject, blank, *body = rebuild_message(many).splitlines()
    assert subject == prefix + " ".join(many[:30]) + " and 570 more"
    assert blank == ""
    assert body == [*many[30:530], "... and 70 more"]


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
    gh.add_token("other", repositories=["foo-feedstock"], permissions={"contents": "write"})
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
    # One commit to that repository: contents, not actions (there is nothing to dispatch).
    assert dict(follow_up.github_permissions) == {"contents": "write"}
    assert follow_up.anaconda_scopes == ()
