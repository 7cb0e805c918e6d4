"""The deployment files: read, merged per backend, filled with values, checked in place."""

from __future__ import annotations

from pathlib import Path

import pytest

from admin_requests.deploy.spec import DEFAULT_CONFIG_DIR, load_spec, merge
from admin_requests.errors import DeployConfigError


def test_the_files_are_validated_with_the_place_of_the_mistake(tmp_path: Path) -> None:
    (tmp_path / "repository.yml").write_text("repository: {}\nbranch_protection: {}\n")
    (tmp_path / "backend-vault.yml").write_text("")
    with pytest.raises(DeployConfigError, match="unknown sections \\['branch_protection'\\]"):
        load_spec(tmp_path, "vault", {})
    (tmp_path / "repository.yml").write_text("environments:\n  production:\n    wait: 5\n")
    with pytest.raises(DeployConfigError, match=r"environments\.production: unknown keys"):
        load_spec(tmp_path, "vault", {})
    with pytest.raises(DeployConfigError, match="use one of vault, aws"):
        load_spec(tmp_path, "azure", {})


def test_an_overlay_merges_mappings_and_replaces_everything_else() -> None:
    base = {"a": {"x": 1, "y": [1, 2]}, "b": "base"}
    overlay = {"a": {"y": [3]}, "c": None}
    assert merge(base, overlay) == {"a": {"x": 1, "y": [3]}, "b": "base", "c": None}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": "base"}  # not changed in place


def test_values_fill_the_placeholders_and_missing_ones_are_named(tmp_path: Path) -> None:
    (tmp_path / "repository.yml").write_text(
        "environments:\n  production:\n    variables: {vault_addr: '${addr}/v1', role: x}\n"
    )
    (tmp_path / "backend-vault.yml").write_text("")
    spec = load_spec(tmp_path, "vault", {"addr": "https://vault.acme.org"})
    assert spec.environments[0].variables == {
        "VAULT_ADDR": "https://vault.acme.org/v1",
        "ROLE": "x",
    }
    with pytest.raises(DeployConfigError, match=r"needs values for \['addr'\]: --set addr=\.\.\."):
        load_spec(tmp_path, "vault", {})
    (tmp_path / "backend-vault.yml").write_text(
        "environments:\n  production:\n    variables: {role: ''}\n"
    )
    with pytest.raises(DeployConfigError, match=r"\['role'\] must not be empty"):
        load_spec(tmp_path, "vault", {"addr": "a"})


def test_an_optional_variable_is_set_only_when_it_has_a_value(tmp_path: Path) -> None:
    (tmp_path / "repository.yml").write_text(
        "environments:\n  production:\n    variables: {VAULT_ADDR: '${addr}'}\n"
        "    optional_variables: {VAULT_NAMESPACE: '${vault_namespace}', FIXED: ''}\n"
    )
    (tmp_path / "backend-vault.yml").write_text("")
    # No --set for it: not a missing value, and not set (apply removes it if present).
    spec = load_spec(tmp_path, "vault", {"addr": "https://v"})
    assert spec.environments[0].variables == {"VAULT_ADDR": "https://v"}
    spec = load_spec(tmp_path, "vault", {"addr": "https://v", "vault_namespace": "admin/cf"})
    assert spec.environments[0].variables == {
        "VAULT_ADDR": "https://v",
        "VAULT_NAMESPACE": "admin/cf",
    }
    (tmp_path / "backend-vault.yml").write_text(
        "environments:\n  production:\n    optional_variables: {VAULT_ADDR: x}\n"
    )
    with pytest.raises(DeployConfigError, match=r"\['VAULT_ADDR'\] are in both"):
        load_spec(tmp_path, "vault", {"addr": "a"})


def test_the_vault_backend_declares_the_namespace_as_optional() -> None:
    values = {
        "github_app_id": "1",
        "github_installation_id": "2",
        "vault_addr": "https://v",
        "vault_audience": "v",
    }
    (production,) = load_spec(DEFAULT_CONFIG_DIR, "vault", values).environments
    assert "VAULT_NAMESPACE" not in production.variables
    assert "VAULT_ROLE" not in production.variables  # each workflow names its own role
    assert production.variables["ADMIN_REQUESTS_GITHUB_APP_INSTALLATION_ID"] == "2"
    with_namespace = {**values, "vault_namespace": "cf"}
    (production,) = load_spec(DEFAULT_CONFIG_DIR, "vault", with_namespace).environments
    assert production.variables["VAULT_NAMESPACE"] == "cf"


def test_main_requires_reviewed_pull_requests_and_only_the_app_bypasses() -> None:
    # W1 (docs/security.md): no direct push to main, code owners review the code, and
    # the one actor past the rules is the organisation's App, which pushes processing's
    # results; never github-actions[bot], a role or a team.
    values = {
        "github_app_id": "123456",
        "github_installation_id": "77",
        "vault_addr": "https://v",
        "vault_audience": "v",
    }
    for backend in ("vault", "aws"):
        aws = {"aws_region": "r", "aws_role_arn": "a", "aws_secret_id": "s", "aws_kms_key_id": "k"}
        spec = load_spec(DEFAULT_CONFIG_DIR, backend, {**values, **aws})
        (main,) = [r for r in spec.rulesets if r["name"] == "protect main"]
        assert main["enforcement"] == "active"
        assert main["conditions"]["ref_name"]["include"] == ["refs/heads/main"]
        rules = {r["type"]: r.get("parameters", {}) for r in main["rules"]}
        assert {"pull_request", "deletion", "non_fast_forward"} <= set(rules)
        review = rules["pull_request"]
        assert review["required_approving_review_count"] >= 1
        assert review["require_code_owner_review"] is True
        assert review["require_last_push_approval"] is True
        assert main["bypass_actors"] == [
            {"actor_type": "Integration", "actor_id": 123456, "bypass_mode": "always"}
        ]
