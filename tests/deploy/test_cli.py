"""``python -m admin_requests.deploy`` against FakeGitHub: plan, apply, check, drift, scopes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from admin_requests.deploy.cli import main
from tests.fakes.github import FakeGitHub

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "github"
REPOSITORY = "acme/admin-requests"
APP_ID = 4242  # the organisation's App: the ruleset's only bypass actor
APP = ["--set", f"github_app_id={APP_ID}"]
VAULT = [
    *APP,
    "--set",
    "vault_addr=https://vault.acme.org",
    "--set",
    "vault_audience=acme-vault",
    "--set",
    "github_installation_id=77",
]
THE_APP = {"actor_id": APP_ID, "actor_type": "Integration", "bypass_mode": "always"}
# What `check` needs, and nothing that writes: a scheduled drift check can use this.
READ_ONLY = {
    "administration": "read",
    "actions": "read",
    "secrets": "read",
    "environments": "read",
    "metadata": "read",
}


def protect_main(rulesets: dict[int, dict[str, Any]]) -> dict[str, Any]:
    return next(r for r in rulesets.values() if r["name"] == "protect main")


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(org="acme") as gh:
        gh.add_repo("admin-requests")
        gh.add_token("admin", permissions=None)
        gh.add_token("reader", repositories=["admin-requests"], permissions=READ_ONLY)
        yield gh


def deploy(
    gh: FakeGitHub,
    command: str,
    *extra: str,
    token: str = "admin",
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str]:
    environ = {"GITHUB_TOKEN": token, "GITHUB_API_URL": gh.url}
    code = main([command, "--repository", REPOSITORY, *VAULT, *extra], environ)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_apply_makes_a_new_repository_match_and_check_then_passes(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = deploy(github, "plan", capsys=capsys)
    assert code == 0
    assert "allow_merge_commit: true -> false" in out
    assert "ruleset 'protect main': create" in out
    assert "environment 'production': create" in out
    assert "variable VAULT_ADDR: create = 'https://vault.acme.org'" in out
    assert github.effects.total() == 0, "plan must not change anything"

    assert deploy(github, "apply", capsys=capsys)[0] == 0
    admin = github.repo("admin-requests").admin
    assert admin.settings["allow_merge_commit"] is False
    assert admin.actions_permissions == {"enabled": True, "allowed_actions": "selected"}
    assert admin.workflow_permissions["default_workflow_permissions"] == "read"
    assert admin.oidc_subject == {"use_default": True}
    ruleset, lease = sorted(admin.rulesets.values(), key=lambda r: r["name"] != "protect main")
    assert ruleset["conditions"]["ref_name"]["include"] == ["refs/heads/main"]
    assert {r["type"] for r in ruleset["rules"]} == {"deletion", "non_fast_forward", "pull_request"}
    assert ruleset["bypass_actors"] == [THE_APP]
    # The run lease's branch: only the App creates, moves or deletes it (W13).
    assert lease["name"] == "the run lease"
    assert lease["conditions"]["ref_name"]["include"] == ["refs/heads/admin-requests/**"]
    assert {r["type"] for r in lease["rules"]} == {"creation", "update", "deletion"}
    assert lease["bypass_actors"] == [THE_APP]
    production = admin.environments["production"]
    assert production["deployment_branch_policy"] == {
        "protected_branches": False,
        "custom_branch_policies": True,
    }
    assert list(production["branch_policies"].values()) == [{"name": "main", "type": "branch"}]
    assert production["variables"] == {
        "ADMIN_REQUESTS_CREDENTIALS": "vault",
        "ADMIN_REQUESTS_OIDC_AUDIENCE": "acme-vault",
        "VAULT_ADDR": "https://vault.acme.org",
        # The creation and resync roles read no job secret: the App's ids come from here.
        "ADMIN_REQUESTS_GITHUB_APP_ID": str(APP_ID),
        "ADMIN_REQUESTS_GITHUB_APP_INSTALLATION_ID": "77",
    }
    assert "admin-request-failure" in admin.labels

    github.reset_counters()
    code, out = deploy(github, "check", token="reader", capsys=capsys)
    assert (code, github.effects.total()) == (0, 0), out
    assert "matches" in out
    # ... except what a read-only token is not shown, which it says it did not compare.
    assert "2 thing(s) this token cannot see, so not compared:" in out
    assert "ruleset 'protect main': bypass_actors not compared" in out
    assert "ruleset 'the run lease': bypass_actors not compared" in out
    code, out = deploy(github, "check", capsys=capsys)
    assert (code, "cannot see" in out) == (0, False), out
    assert deploy(github, "apply", capsys=capsys)[0] == 0
    assert github.effects.total() == 0, "a second apply changes nothing"


def test_check_finds_drift_that_widens_access_and_apply_removes_it(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy(github, "apply", capsys=capsys)
    admin = github.repo("admin-requests").admin
    production = admin.environments["production"]
    # Someone lets another branch into production, adds a variable, opens a bypass and
    # gives workflows write tokens by default.
    production["branch_policies"][999] = {"name": "release/*", "type": "branch"}
    production["variables"]["VAULT_ROLE"] = "admin"
    ruleset = protect_main(admin.rulesets)
    ruleset["bypass_actors"].append(
        {"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"}
    )
    admin.workflow_permissions["default_workflow_permissions"] = "write"

    code, out = deploy(github, "check", token="reader", capsys=capsys)
    assert code == 1
    assert "deployment branch policy 'release/*' (branch) is not declared: delete" in out
    assert "variable VAULT_ROLE is not declared: delete" in out
    assert 'default_workflow_permissions: "write" -> "read"' in out
    # GitHub shows bypass actors only to a token that can write the ruleset: the
    # read-only check says it could not compare them, rather than "none".
    assert "ruleset 'protect main': bypass_actors not compared" in out
    assert "[not visible to this token]" in out
    assert "RepositoryRole" not in out
    code, out = deploy(github, "check", capsys=capsys)
    assert code == 1
    assert '"bypass_mode": "always"}, {"actor_id": 5, "actor_type": "RepositoryRole"' in out

    assert deploy(github, "apply", capsys=capsys)[0] == 0
    assert list(production["branch_policies"].values()) == [{"name": "main", "type": "branch"}]
    assert "VAULT_ROLE" not in production["variables"]
    assert admin.rulesets[ruleset["id"]]["bypass_actors"] == [THE_APP]
    assert deploy(github, "check", capsys=capsys)[0] == 0


def test_stored_secrets_are_reported_for_a_person_and_never_deleted(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    github.add_actions_secret("admin-requests", "ADMIN_PAT")
    deploy(github, "apply", capsys=capsys)
    github.add_actions_secret("admin-requests", "ANACONDA_TOKEN", environment="production")
    code, out = deploy(github, "apply", capsys=capsys)
    assert code == 1
    assert "gh secret delete ADMIN_PAT --repo acme/admin-requests" in out
    assert "gh secret delete ANACONDA_TOKEN --env production --repo acme/admin-requests" in out
    assert "[by hand]" in out
    assert github.repo("admin-requests").admin.secrets == {"ADMIN_PAT"}


def test_a_read_only_token_can_check_but_not_apply(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = deploy(github, "apply", token="reader", capsys=capsys)
    assert code == 1
    assert "access denied (403)" in out
    assert github.effects.total() == 0


def test_aws_backend_customises_the_oidc_subject_as_deploy_aws_says(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = {"GITHUB_TOKEN": "admin", "GITHUB_API_URL": github.url}
    values = [
        *APP,
        "--set",
        "aws_region=eu-west-1",
        "--set",
        "aws_role_arn=arn:aws:iam::123456789012:role/admin-requests-process",
        "--set",
        "aws_secret_id=admin-requests/process",
        "--set",
        "aws_kms_key_id=1234abcd-12ab-34cd-56ef-1234567890ab",
    ]
    args = ["--repository", REPOSITORY, "--backend", "aws", *values]
    assert main(["apply", *args], environ) == 0
    admin = github.repo("admin-requests").admin
    expected = json.loads((ROOT / "deploy" / "aws" / "oidc-subject-claim.json").read_text())
    assert admin.oidc_subject == expected
    assert admin.environments["production"]["variables"]["AWS_REGION"] == "eu-west-1"
    assert "VAULT_ADDR" not in admin.environments["production"]["variables"]
    assert main(["check", *args], environ) == 0


def test_missing_values_and_bad_arguments_are_usage_errors(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = {"GITHUB_TOKEN": "admin", "GITHUB_API_URL": github.url}
    assert main(["plan", "--repository", REPOSITORY], environ) == 2
    err = capsys.readouterr().err
    assert "--set vault_addr=... --set vault_audience=..." in err
    assert main(["plan", "--repository", "no-owner", *VAULT], environ) == 2
    assert "must be OWNER/NAME" in capsys.readouterr().err
    assert main(["plan", "--repository", REPOSITORY, *VAULT], {"GITHUB_API_URL": github.url}) == 2
    assert "GITHUB_TOKEN" in capsys.readouterr().err
    assert main(["plan", "--repository", REPOSITORY, *VAULT, "--set", "novalue"], environ) == 2
    assert "--set name=value" in capsys.readouterr().err


def test_ids_prints_what_the_trust_policies_pin(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = {"GITHUB_TOKEN": "reader", "GITHUB_API_URL": github.url}
    assert main(["ids", "--repository", REPOSITORY], environ) == 0
    repo_id = github.repo("admin-requests").id
    assert capsys.readouterr().out == f"--repository-id {repo_id} --repository-owner-id 3000\n"


def test_check_reports_a_ruleset_without_review_or_with_another_bypass_actor(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy(github, "apply", capsys=capsys)[0] == 0
    ruleset = protect_main(github.repo("admin-requests").admin.rulesets)
    review = next(r for r in ruleset["rules"] if r["type"] == "pull_request")
    assert review["parameters"]["required_approving_review_count"] == 1
    assert review["parameters"]["require_code_owner_review"] is True

    # Someone drops the review rule: direct pushes to main would be allowed again.
    ruleset["rules"].remove(review)
    code, out = deploy(github, "check", token="reader", capsys=capsys)
    assert code == 1
    assert (
        'rules: ["deletion", "non_fast_forward"] -> '
        '["deletion", "non_fast_forward", "pull_request"]' in out
    )
    # ... or keeps it but lets changes to .github/ pass without a code owner.
    ruleset["rules"].append(
        {
            "type": "pull_request",
            "parameters": {**review["parameters"], "require_code_owner_review": False},
        }
    )
    code, out = deploy(github, "check", token="reader", capsys=capsys)
    assert code == 1
    assert "rules.pull_request.require_code_owner_review: false -> true" in out
    assert deploy(github, "apply", capsys=capsys)[0] == 0

    # Another actor past the rules (a team, or the App replaced by another one).
    ruleset = github.repo("admin-requests").admin.rulesets[ruleset["id"]]
    ruleset["bypass_actors"] = [
        {"actor_id": 9999, "actor_type": "Integration", "bypass_mode": "always"}
    ]
    code, out = deploy(github, "check", token="reader", capsys=capsys)
    assert code == 0  # a read-only token is not shown bypass actors, and says so
    assert "ruleset 'protect main': bypass_actors not compared" in out
    code, out = deploy(github, "check", capsys=capsys)
    assert code == 1
    assert (
        'bypass_actors: [{"actor_id": 9999, "actor_type": "Integration", "bypass_mode": '
        '"always"}] -> [{"actor_id": 4242, "actor_type": "Integration", "bypass_mode": '
        '"always"}]' in out
    )
    assert deploy(github, "apply", capsys=capsys)[0] == 0
    assert github.repo("admin-requests").admin.rulesets[ruleset["id"]]["bypass_actors"] == [THE_APP]


def test_the_app_id_is_required_and_must_be_a_number(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = {"GITHUB_TOKEN": "admin", "GITHUB_API_URL": github.url}
    assert main(["plan", "--repository", REPOSITORY, *VAULT[2:]], environ) == 2
    assert "--set github_app_id=..." in capsys.readouterr().err
    bad = ["--set", "github_app_id=my-app", *VAULT[2:]]
    assert main(["plan", "--repository", REPOSITORY, *bad], environ) == 2
    assert "actor_id must be a number" in capsys.readouterr().err
