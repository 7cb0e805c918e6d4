"""FakeGitHub answers as GitHub does where the project's handling depends on the shape:
422 details, large files, hidden bypass actors, installation removals, label renames and
duplicate deployment branch policies (issue 15)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests

from tests.fakes import FakeGitHub, sha
from tests.fakes.github import CONTENTS_API_LIMIT, blob_sha

REPO = "/repos/conda-forge/foo-feedstock"


def call(
    gh: FakeGitHub, method: str, path: str, token: str = "admin", body: Any = None
) -> requests.Response:
    return requests.request(
        method,
        gh.url + path,
        json=body,
        headers={"Authorization": f"token {token}"},
        timeout=5,
        allow_redirects=False,
    )


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_token("admin")
    fake_github.add_repo("foo-feedstock", branches={"main": sha("m"), "feature": sha("f")})
    return fake_github


def test_an_existing_pull_request_is_a_validation_failure_with_the_detail_in_errors(
    gh: FakeGitHub,
) -> None:
    pull = {"title": "t", "head": "feature", "base": "main"}
    assert call(gh, "POST", REPO + "/pulls", body=pull).status_code == 201
    again = call(gh, "POST", REPO + "/pulls", body=pull)
    assert again.status_code == 422
    assert again.json()["message"] == "Validation Failed"
    assert again.json()["errors"] == [
        {
            "resource": "PullRequest",
            "code": "custom",
            "message": "A pull request already exists for conda-forge:feature.",
        }
    ]
    # A reference that exists is the other shape: the message says it.
    ref = {"ref": "refs/heads/feature", "sha": sha("m")}
    exists = call(gh, "POST", REPO + "/git/refs", body=ref)
    assert (exists.status_code, exists.json()["message"]) == (422, "Reference already exists")


def test_files_over_1_mb_come_without_content_and_the_blob_has_it(gh: FakeGitHub) -> None:
    big = b"0123456789" * (CONTENTS_API_LIMIT // 10 + 1)
    gh.repo("foo-feedstock").files.update({"big.bin": big, "small.txt": b"hi"})
    answer = call(gh, "GET", REPO + "/contents/big.bin").json()
    assert (answer["encoding"], answer["content"], answer["size"]) == ("none", "", len(big))
    small = call(gh, "GET", REPO + "/contents/small.txt").json()
    assert (small["encoding"], base64.b64decode(small["content"])) == ("base64", b"hi")
    blob = call(gh, "GET", REPO + f"/git/blobs/{answer['sha']}").json()
    assert (blob["encoding"], blob["size"]) == ("base64", len(big))
    assert base64.b64decode(blob["content"]) == big
    assert blob["sha"] == blob_sha(big)
    assert call(gh, "GET", REPO + f"/git/blobs/{sha('nothing')}").status_code == 404


def test_bypass_actors_are_shown_only_to_callers_who_can_write_the_ruleset(
    gh: FakeGitHub,
) -> None:
    gh.add_token("reader", permissions={"administration": "read", "metadata": "read"})
    ruleset = {
        "name": "protect",
        "enforcement": "active",
        "bypass_actors": [{"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"}],
    }
    number = call(gh, "POST", REPO + "/rulesets", body=ruleset).json()["id"]
    assert call(gh, "GET", REPO + f"/rulesets/{number}").json()["bypass_actors"] == [
        ruleset["bypass_actors"][0]
    ]
    seen = call(gh, "GET", REPO + f"/rulesets/{number}", token="reader").json()
    assert "bypass_actors" not in seen
    assert seen["name"] == "protect"


def test_removing_from_an_installation_on_all_repositories_or_its_last_one_is_refused(
    gh: FakeGitHub,
) -> None:
    bar = gh.add_repo("bar-feedstock")
    foo = gh.repo("foo-feedstock")
    gh.add_user_token("ghp_admin")
    gh.add_installation(1, "everywhere", all_repositories=True)
    gh.add_installation(2, "two", ("foo-feedstock", "bar-feedstock"))
    listing = call(gh, "GET", "/user/installations/1/repositories", token="ghp_admin").json()
    assert (listing["repository_selection"], listing["total_count"]) == ("all", 2)
    path = "/user/installations/{}/repositories/{}"
    assert call(gh, "DELETE", path.format(1, foo.id), token="ghp_admin").status_code == 422
    assert gh.installation_repositories(1) == {"foo-feedstock", "bar-feedstock"}
    assert call(gh, "DELETE", path.format(2, foo.id), token="ghp_admin").status_code == 204
    assert call(gh, "DELETE", path.format(2, bar.id), token="ghp_admin").status_code == 422
    assert gh.installation_repositories(2) == {"bar-feedstock"}


def test_a_label_is_renamed_with_new_name(gh: FakeGitHub) -> None:
    call(gh, "POST", REPO + "/labels", body={"name": "bug", "color": "ff0000"})
    call(gh, "POST", REPO + "/labels", body={"name": "other"})
    renamed = call(gh, "PATCH", REPO + "/labels/BUG", body={"new_name": "Bug", "color": "00ff00"})
    assert (renamed.status_code, renamed.json()["name"], renamed.json()["color"]) == (
        200,
        "Bug",
        "00ff00",
    )
    assert call(gh, "GET", REPO + "/labels/bug").json()["name"] == "Bug"
    clash = call(gh, "PATCH", REPO + "/labels/bug", body={"new_name": "other"})
    assert clash.status_code == 422


def test_a_duplicate_deployment_branch_policy_answers_303(gh: FakeGitHub) -> None:
    env = REPO + "/environments/production"
    policy = {"protected_branches": False, "custom_branch_policies": True}
    call(gh, "PUT", env, body={"deployment_branch_policy": policy})
    first = call(gh, "POST", env + "/deployment-branch-policies", body={"name": "main"})
    assert first.status_code == 200
    again = call(gh, "POST", env + "/deployment-branch-policies", body={"name": "main"})
    assert again.status_code == 303
    listed = call(gh, "GET", env + "/deployment-branch-policies").json()
    assert listed["total_count"] == 1
