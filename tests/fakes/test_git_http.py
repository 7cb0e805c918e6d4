"""FakeGitServer: git over HTTP with GitHub's token checks and ruleset bypass."""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from admin_requests.git_auth import token_environment
from admin_requests.queue.lease import LEASE_REF
from tests.fakes.git_http import FakeGitServer, deployed_rulesets
from tests.fakes.github import FakeGitHub
from tests.queue.support import Repo

HOME = "admin-requests"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[FakeGitHub, FakeGitServer, Repo]]:
    with FakeGitHub() as gh:
        gh.configure_app(4242, installation_id=77)
        gh.add_repo(HOME)
        gh.repo(HOME).admin.rulesets.update(deployed_rulesets(4242))
        repo = Repo(tmp_path / "work")
        with FakeGitServer(gh, tmp_path / "served") as server:
            url = server.add_repository(HOME, repo.root)
            repo.git("remote", "add", "origin", url)
            yield gh, server, repo


def git(repo: Repo, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args],
        cwd=repo.root,
        capture_output=True,
        text=True,
        env={**os.environ, **token_environment(token)},
        check=False,
    )


_numbers = itertools.count()


def app_token(gh: FakeGitHub, permissions: dict[str, str]) -> str:
    """An installation token of the App (installation 77), as the broker would mint."""
    token = gh.add_token(f"ghs_app{next(_numbers)}", repositories=[HOME], permissions=permissions)
    gh.tokens[token].installation_id = 77
    return token


def test_the_job_token_reads_but_a_pull_request_rule_refuses_its_push(
    served: tuple[FakeGitHub, FakeGitServer, Repo],
) -> None:
    gh, server, repo = served
    job = gh.add_token("ghs_job", repositories=[HOME], permissions={"contents": "write"})
    assert git(repo, job, "fetch", "origin", "main").returncode == 0
    repo.commit("direct")
    pushed = git(repo, job, "push", "origin", "HEAD:refs/heads/main")
    assert pushed.returncode != 0
    assert "403" in pushed.stderr
    assert [p.reason.split(":")[0] for p in server.refused] == ["GH013"]
    assert "through a pull request" in server.refused[0].reason
    # Outside the rulesets' refs the same token may push.
    assert git(repo, job, "push", "origin", "HEAD:refs/heads/topic").returncode == 0


def test_only_the_app_may_write_the_run_lease(
    served: tuple[FakeGitHub, FakeGitServer, Repo],
) -> None:
    # Issue 16 finding 8: anyone with write access pushed a lease that stopped
    # processing. The lease is now the branch admin-requests/lease, which the ruleset
    # "the run lease" (deploy/github/) lets only the App create, move or delete.
    gh, server, repo = served
    lease = f"HEAD:{LEASE_REF}"
    writer = gh.add_token("ghs_writer", repositories=[HOME], permissions={"contents": "write"})
    repo.commit("a forged lease")
    refused = git(repo, writer, "push", "origin", lease)
    assert refused.returncode != 0
    assert "Cannot create ref due to creations being restricted" in server.refused[-1].reason

    app = app_token(gh, {"contents": "write"})
    assert git(repo, app, "push", "origin", lease).returncode == 0
    repo.commit("the lease renewed")
    assert git(repo, writer, "push", "--force", "origin", lease).returncode != 0
    assert "Cannot update this protected ref" in server.refused[-1].reason
    assert git(repo, writer, "push", "origin", f":{LEASE_REF}").returncode != 0
    assert "Cannot delete this protected ref" in server.refused[-1].reason
    assert git(repo, app, "push", "--force", "origin", lease).returncode == 0
    assert git(repo, app, "push", "origin", f":{LEASE_REF}").returncode == 0


def test_the_apps_token_bypasses_the_rule_and_each_check_answers_like_github(
    served: tuple[FakeGitHub, FakeGitServer, Repo],
) -> None:
    gh, server, repo = served
    repo.commit("results")
    token = app_token(gh, {"contents": "write"})
    assert git(repo, token, "push", "origin", "HEAD:refs/heads/main").returncode == 0
    assert [(p.token, p.repository) for p in server.pushes] == [(token, HOME)]
    assert server.pushes[0].updates[0].ref == "refs/heads/main"
    served_head = subprocess.run(
        ["git", "rev-parse", "main"], cwd=server.bare(HOME), capture_output=True, text=True
    ).stdout.strip()
    assert served_head == repo.head()

    reader = app_token(gh, {"contents": "read"})
    assert "403" in git(repo, reader, "push", "origin", "HEAD:refs/heads/x").stderr
    gh.add_token("ghs_other", repositories=["elsewhere"], permissions={"contents": "write"})
    assert "not found" in git(repo, "ghs_other", "fetch", "origin").stderr
    gh.revoke_token(token)
    assert "could not read Username" in git(repo, token, "fetch", "origin").stderr  # 401
    # An App that is not the bypass actor is refused like any other token.
    gh.repo(HOME).admin.rulesets[1]["bypass_actors"] = []
    again = app_token(gh, {"contents": "write"})
    repo.commit("more")
    assert git(repo, again, "push", "origin", "HEAD:refs/heads/main").returncode != 0


def test_a_public_repository_clones_without_a_token_but_never_takes_a_push(
    served: tuple[FakeGitHub, FakeGitServer, Repo], tmp_path: Path
) -> None:
    gh, server, _ = served
    url = server.repository_url(HOME)
    anonymous = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}

    def clone(target: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "clone", "-q", url, str(tmp_path / target)],
            capture_output=True,
            text=True,
            env=anonymous,
            check=False,
        )

    assert clone("strict").returncode != 0  # public reads off: a token is needed
    gh.public_reads = True
    assert clone("public").returncode == 0, clone("again").stderr
    subprocess.run(
        [
            "git",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "anonymous",
        ],
        cwd=tmp_path / "public",
        check=True,
    )
    pushed = subprocess.run(
        ["git", "push", "-q", url, "HEAD:refs/heads/anonymous"],
        cwd=tmp_path / "public",
        capture_output=True,
        text=True,
        env=anonymous,
        check=False,
    )
    assert pushed.returncode != 0
    assert "Authentication required" in pushed.stderr or "could not read" in pushed.stderr
    assert server.pushes == []


def test_a_push_from_a_shallow_clone_is_served(
    served: tuple[FakeGitHub, FakeGitServer, Repo], tmp_path: Path
) -> None:
    # conda-smithy's register_feedstock_token clones with --depth 1 and pushes from
    # that clone: its receive-pack request names the shallow commit before the update.
    gh, server, repo = served
    repo.commit("one")
    repo.commit("two")
    writer = gh.add_token("ghs_shallow", repositories=[HOME], permissions={"contents": "write"})
    assert git(repo, writer, "push", "origin", "HEAD:refs/heads/topic").returncode == 0
    url = server.repository_url(HOME)
    clone = Repo.__new__(Repo)
    clone.root = tmp_path / "shallow"
    cloned = git(repo, writer, "clone", "-q", "--depth", "1", "-b", "topic", url, str(clone.root))
    assert cloned.returncode == 0, cloned.stderr
    clone.commit("three")
    pushed = git(clone, writer, "push", "origin", "HEAD:refs/heads/topic")
    assert pushed.returncode == 0, pushed.stderr
    assert [u.ref for u in server.pushes[-1].updates] == ["refs/heads/topic"]
