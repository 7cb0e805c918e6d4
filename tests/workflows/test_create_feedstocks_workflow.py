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
    (step,) = [s for s in create["steps"] if "create-feedstocks run" in str(s.get("run", ""))]
    env = step["env"]
    # Its own vault role, named here and nowhere else (no vars.VAULT_ROLE to point it at
    # the processing role), which may only sign: the App's ids come from variables.
    assert env["VAULT_ROLE"] == "admin-requests-create-feedstocks"
    assert env["ADMIN_REQUESTS_CREDENTIALS"] == "${{ !inputs.dry_run && 'vault' || '' }}"
    assert env["GITHUB_APP_ID"] == "${{ vars.ADMIN_REQUESTS_GITHUB_APP_ID }}"
    assert env["GITHUB_APP_INSTALLATION_ID"] == (
        "${{ vars.ADMIN_REQUESTS_GITHUB_APP_INSTALLATION_ID }}"
    )
    # Not the action: its login check reads the job secret, which this role may not.
    assert "./actions/vault-credentials" not in uses(create)
    assert "--push" in runs(create)  # so the run takes the creation lease
    assert "conda-smithy" not in runs(create)
    assert not any("CONDA_SMITHY" in step.get("env", {}) for step in create["steps"])


def test_every_checkout_keeps_no_credential() -> None:
    for job in workflow()["jobs"].values():
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_the_renderings_always_reach_the_create_job() -> None:
    """render always writes rendered/renderings.json, so a missing artifact is an error
    of the render job, not a quiet run; the create job downloads what it uploaded."""
    jobs = workflow()["jobs"]
    (upload,) = [s for s in jobs["render"]["steps"] if "upload-artifact" in str(s.get("uses"))]
    (download,) = [s for s in jobs["create"]["steps"] if "download-artifact" in str(s.get("uses"))]
    assert upload["with"]["if-no-files-found"] == "error"
    assert upload["with"]["path"] == "rendered"
    assert download["with"] == {"name": upload["with"]["name"], "path": "rendered"}
    assert "--output rendered" in runs(jobs["render"])
    assert "--rendered rendered" in runs(jobs["create"])
