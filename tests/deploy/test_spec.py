"""The deployment files: read, merged per backend, filled with values, checked in place."""

from __future__ import annotations

from pathlib import Path

import pytest

from admin_requests.deploy.spec import load_spec, merge
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
