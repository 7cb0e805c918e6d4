"""``deploy check`` works out the OIDC subject the repository gives its jobs and compares
it with what the vault role binds (vault/roles/*.json)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from admin_requests.deploy.cli import main
from admin_requests.deploy.oidc_subject import bound_roles, produced_subjects
from admin_requests.deploy.vault import DEFAULT_TRUST_DIR
from tests.fakes.github import ORG_ID, FakeGitHub

REPOSITORY = "acme/admin-requests"
VAULT = [
    "--set",
    "vault_addr=https://vault.acme.org",
    "--set",
    "vault_audience=acme-vault",
    "--set",
    "github_app_id=4242",
    "--set",
    "github_installation_id=77",
]
READ_ONLY = {
    "administration": "read",
    "actions": "read",
    "secrets": "read",
    "environments": "read",
    "metadata": "read",
}
# What the process role admits (vault/roles/admin-requests-process.json), shortened.
CLAIMS = {
    "environment": ("production",),
    "repository_owner_id": ("3000",),
    "event_name": ("push", "schedule", "workflow_dispatch"),
}


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub(org="acme") as gh:
        gh.add_repo("admin-requests")
        gh.add_token("admin", permissions=None)
        gh.add_token("reader", repositories=["admin-requests"], permissions=READ_ONLY)
        yield gh


def deploy(
    gh: FakeGitHub, command: str, *extra: str, token: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    environ = {"GITHUB_TOKEN": token, "GITHUB_API_URL": gh.url}
    code = main([command, "--repository", REPOSITORY, *VAULT, *extra], environ)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_the_role_binds_the_default_subject_of_the_production_environment() -> None:
    roles = {r.name: r for r in bound_roles(DEFAULT_TRUST_DIR, REPOSITORY, {"repository_id": "7"})}
    assert sorted(roles) == [
        "admin-requests-create-feedstocks",
        "admin-requests-process",
        "admin-requests-resync",
    ]
    # Every job runs in the production environment: one subject for all roles.
    assert {r.subject for r in roles.values()} == {
        "repo:acme/admin-requests:environment:production"
    }
    role = roles["admin-requests-process"]
    assert role.subject == "repo:acme/admin-requests:environment:production"
    assert role.claims["repository_id"] == ("7",)
    assert role.claims["event_name"] == ("push", "schedule", "workflow_dispatch")


def test_an_organisation_opting_in_to_immutable_subjects_fails_the_check(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deploy(github, "apply", token="admin", capsys=capsys)[0] == 0
    assert deploy(github, "check", token="reader", capsys=capsys)[0] == 0
    # Nothing in the repository changes: the organisation flips its setting, and every
    # token the repository's jobs get from then on carries the ids in its subject.
    github.org_immutable_oidc_subject = True
    code, out = deploy(github, "check", token="reader", capsys=capsys)
    repo_id = github.repo("admin-requests").id
    assert code == 1
    assert (
        f"the repository gives its jobs the subject 'repo:acme@{ORG_ID}/admin-requests@"
        f"{repo_id}:environment:production', but vault role 'admin-requests-process' binds "
        "'repo:acme/admin-requests:environment:production', so every vault login fails"
    ) in out
    assert "[by hand]" in out  # apply does not pick for the operator
    assert deploy(github, "apply", token="admin", capsys=capsys)[0] == 1
    assert github.repo("admin-requests").admin.oidc_subject == {"use_default": True}


def test_the_repository_opting_out_keeps_the_name_based_subject(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy(github, "apply", token="admin", capsys=capsys)
    github.org_immutable_oidc_subject = True
    github.repo("admin-requests").admin.oidc_subject["use_immutable_subject"] = False
    code, out = deploy(github, "check", token="reader", capsys=capsys)
    assert (code, out.splitlines()[-1]) == (
        0,
        "acme/admin-requests matches github/ (backend vault).",
    )
    assert "oidc subject" not in out


def test_a_role_that_binds_the_immutable_subject_passes_once_it_is_used(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    trust = tmp_path / "vault"
    shutil.copytree(DEFAULT_TRUST_DIR, trust)
    repo_id = github.repo("admin-requests").id
    for role_file in (trust / "roles").glob("*.json"):
        role = json.loads(role_file.read_text())
        role["role"]["bound_subject"] = (
            f"repo:acme@{ORG_ID}/admin-requests@{repo_id}:environment:production"
        )
        role_file.write_text(json.dumps(role))
    deploy(github, "apply", token="admin", capsys=capsys)
    args = ("--trust-dir", str(trust))
    assert deploy(github, "check", *args, token="reader", capsys=capsys)[0] == 1
    github.org_immutable_oidc_subject = True
    assert deploy(github, "check", *args, token="reader", capsys=capsys)[0] == 0


def test_a_custom_template_gives_one_subject_per_admitted_value() -> None:
    answer = {"use_default": False, "include_claim_keys": ["repo", "context"]}
    assert produced_subjects(answer, REPOSITORY, CLAIMS) == (
        ["repo:acme/admin-requests:environment:production"],
        None,
    )
    answer = {
        "use_default": False,
        "include_claim_keys": ["repository_owner_id", "event_name"],
        "sub_claim_prefix": "repo:acme/admin-requests",
    }
    assert produced_subjects(answer, REPOSITORY, CLAIMS) == (
        [
            "repository_owner_id:3000:event_name:push",
            "repository_owner_id:3000:event_name:schedule",
            "repository_owner_id:3000:event_name:workflow_dispatch",
        ],
        None,
    )


def test_a_context_with_a_colon_is_escaped_as_github_does() -> None:
    answer = {"use_default": True, "sub_claim_prefix": "repo:acme/x"}
    assert produced_subjects(answer, "acme/x", {"environment": ("prod:eu",)}) == (
        ["repo:acme/x:environment:prod%3Aeu"],
        None,
    )


@pytest.mark.parametrize(
    ("answer", "claims", "why"),
    [
        ({"use_default": False, "include_claim_keys": ["repo", "actor"]}, CLAIMS, "'actor'"),
        ({"use_default": True, "use_immutable_subject": True}, CLAIMS, "sub_claim_prefix"),
        ({"use_default": True}, {}, "binds no environment"),
    ],
)
def test_a_subject_that_cannot_be_told_is_said_so(
    answer: dict[str, object], claims: dict[str, tuple[str, ...]], why: str
) -> None:
    subjects, unknown = produced_subjects(answer, REPOSITORY, claims)
    assert subjects == []
    assert unknown is not None
    assert why in unknown


def test_a_subject_that_cannot_be_told_fails_the_check(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    deploy(github, "apply", token="admin", capsys=capsys)
    admin = github.repo("admin-requests").admin
    admin.oidc_subject = {"use_default": False, "include_claim_keys": ["repo", "actor"]}
    code, out = deploy(github, "check", token="reader", capsys=capsys)
    assert code == 1
    assert (
        "cannot tell the subject of the jobs vault role 'admin-requests-process' admits (the "
        "template has 'actor', a claim the vault role does not bind" in " ".join(out.split())
    )
    # apply puts the template back (the files say use_default), and the subject follows.
    assert deploy(github, "apply", token="admin", capsys=capsys)[0] == 0
    assert deploy(github, "check", token="reader", capsys=capsys)[0] == 0
