"""Planning changes against FakeGitHub: only declared values are compared."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from admin_requests.deploy.plan import Change, RepositoryApi, differences, plan_changes
from admin_requests.deploy.spec import load_spec
from admin_requests.services.http import HttpClient, Retrier
from tests.fakes import Fault
from tests.fakes.github import FakeGitHub

REPOSITORY = "acme/admin-requests"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(org="acme") as gh:
        gh.add_repo("admin-requests")
        gh.add_token("admin", permissions=None)
        yield gh


def test_backend_files_override_the_base_and_pull_request_rule_defaults_are_tolerated(
    github: FakeGitHub, tmp_path: Path
) -> None:
    """GitHub returns rule parameters nobody sent; only declared ones are compared."""
    (tmp_path / "repository.yml").write_text(
        "rulesets:\n"
        "  - name: reviews\n"
        "    enforcement: active\n"
        "    rules:\n"
        "      - type: pull_request\n"
        # GitHub's description requires these five; allowed_merge_methods it fills in.
        "        parameters: {required_approving_review_count: 1, dismiss_stale_reviews_on_push:"
        " false,\n          require_code_owner_review: false, require_last_push_approval: false,"
        "\n          required_review_thread_resolution: false}\n"
        "    bypass_actors:\n"
        "      - {actor_id: 4242, actor_type: Integration, bypass_mode: always}\n"
        "environments:\n  production:\n    variables: {A: base, B: base}\n"
    )
    (tmp_path / "backend-vault.yml").write_text(
        "environments:\n  production:\n    variables: {B: vault}\n"
    )
    spec = load_spec(tmp_path, "vault", {})
    assert spec.environments[0].variables == {"A": "base", "B": "vault"}
    github.faults.on_call(1, fault=Fault.server_error(503), method="GET", path="/rulesets$")
    http = HttpClient(github.url, token="admin", retrier=Retrier(sleep=lambda _: None))
    api = RepositoryApi(http, REPOSITORY)
    for change in plan_changes(api, spec):
        assert change.apply is not None
        change.apply()
    (ruleset,) = github.repo("admin-requests").admin.rulesets.values()
    assert ruleset["rules"][0]["parameters"]["allowed_merge_methods"]  # GitHub's default
    assert plan_changes(api, spec) == []
    assert github.faults.injected == 1


def test_differences_name_each_declared_value_that_differs() -> None:
    desired = {"a": 1, "nested": {"b": True, "c": "x"}}
    actual = {"a": 1, "nested": {"b": False}, "undeclared": "left alone"}
    assert differences(desired, actual) == ["nested.b: false -> true", 'nested.c: (unset) -> "x"']
    assert differences(desired, {**actual, "nested": {"b": True, "c": "x"}}) == []
    assert differences([1, 2], [2, 1]) == ["value: [2, 1] -> [1, 2]"]


def test_a_change_a_person_must_make_says_so() -> None:
    assert Change("secret X", "delete it", None).describe() == "secret X: delete it [by hand]"
    assert Change("label y", "create", lambda: None).describe() == "label y: create"


def _api(github: FakeGitHub) -> RepositoryApi:
    http = HttpClient(github.url, token="admin", retrier=Retrier(sleep=lambda _: None))
    return RepositoryApi(http, REPOSITORY)


def test_a_label_spelt_otherwise_is_renamed_with_new_name(
    github: FakeGitHub, tmp_path: Path
) -> None:
    """GitHub finds a label whatever its case; renaming it takes `new_name`."""
    labels = github.repo("admin-requests").admin.labels
    labels["admin-request-failure"] = {
        "name": "Admin-Request-Failure",
        "color": "d73a4a",
        "description": "old",
    }
    (tmp_path / "repository.yml").write_text(
        "labels:\n  - {name: admin-request-failure, color: d73a4a, description: new}\n"
    )
    (tmp_path / "backend-vault.yml").write_text("{}\n")
    spec = load_spec(tmp_path, "vault", {})
    [change] = plan_changes(_api(github), spec)
    assert change.summary == (
        'name: "Admin-Request-Failure" -> "admin-request-failure"; description: "old" -> "new"'
    )
    assert change.apply is not None
    change.apply()
    assert labels == {
        "admin-request-failure": {
            "name": "admin-request-failure",
            "color": "d73a4a",
            "description": "new",
        }
    }
    assert plan_changes(_api(github), spec) == []


def test_a_branch_policy_that_appeared_meanwhile_is_taken_as_there(
    github: FakeGitHub, tmp_path: Path
) -> None:
    """GitHub answers a duplicate deployment branch policy with 303: already there."""
    (tmp_path / "repository.yml").write_text(
        "environments:\n  production:\n"
        "    deployment_branch_policy: {protected_branches: false, custom_branch_policies: true}\n"
        "    branch_policies: [{name: main}]\n"
    )
    (tmp_path / "backend-vault.yml").write_text("{}\n")
    spec = load_spec(tmp_path, "vault", {})
    api = _api(github)
    environment = plan_changes(api, spec)[0]
    assert environment.resource == "environment 'production'"
    assert environment.apply is not None
    environment.apply()
    [policy] = plan_changes(api, spec)
    assert "deployment branch policy 'main' (branch): create" in policy.summary
    other = _api(github)  # another run creates the same policy first
    [racing] = plan_changes(other, spec)
    assert racing.apply is not None
    racing.apply()
    assert policy.apply is not None
    policy.apply()  # 303: no error
    env = github.repo("admin-requests").admin.environments["production"]
    assert list(env["branch_policies"].values()) == [{"name": "main", "type": "branch"}]
    assert plan_changes(api, spec) == []
