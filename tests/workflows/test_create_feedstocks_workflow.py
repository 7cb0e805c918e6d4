"""create-feedstocks.yml: the render job holds nothing, the create job is the privileged
one (read statically; the generic rules in test_secrets.py apply to it too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "create-feedstocks.yml"


def workflow() -> Any:
    return YAML(typ="safe", pure=True).load(WORKFLOW.read_text())


def runs(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) for step in job["steps"])


def uses(job: dict[str, Any]) -> list[str]:
    return [str(step.get("uses", "")) for step in job["steps"]]


def test_it_runs_on_a_schedule_and_by_hand_with_retry_and_dry_run() -> None:
    data = workflow()
    on = data["on"]  # YAML 1.2: 'on' stays a string key
    assert on["schedule"] == [{"cron": "*/10 * * * *"}]
    assert set(on["workflow_dispatch"]["inputs"]) == {"retry", "dry_run"}
    assert data["permissions"] == {}
    assert data["concurrency"] == {"group": "create-feedstocks", "cancel-in-progress": False}


def test_the_render_job_has_no_credential_and_runs_only_the_render_command() -> None:
    render = workflow()["jobs"]["render"]
    assert render["permissions"] == {"contents": "read"}
    assert "environment" not in render
    assert not any("vault-credentials" in u for u in uses(render))
    assert "create-feedstocks render" in runs(render)
    assert "create-feedstocks run" not in runs(render)
    env = {k for step in render["steps"] for k in step.get("env", {})}
    assert env == {"CONDA_SMITHY"}  # not even GITHUB_TOKEN


def test_the_create_job_gets_its_credentials_from_the_vault_and_never_runs_conda_smithy() -> None:
    create = workflow()["jobs"]["create"]
    assert create["needs"] == "render"
    assert create["environment"] == "production"
    assert create["permissions"] == {"contents": "read", "issues": "write", "id-token": "write"}
    assert "./actions/vault-credentials" in uses(create)
    assert "create-feedstocks run" in runs(create)
    assert "conda-smithy" not in runs(create)
    assert not any("CONDA_SMITHY" in step.get("env", {}) for step in create["steps"])


def test_every_checkout_keeps_no_credential() -> None:
    for job in workflow()["jobs"].values():
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
