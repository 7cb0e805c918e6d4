"""process.yml hands processing every setting a deployment makes (read statically).

A setting that config.py reads but process.yml never passes is silently empty in
production: ADMIN_REQUESTS_CI_APPS was missing, so every CI-resource grant failed with
"not configured" although the deployment had set the variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from admin_requests.config import DEPLOYMENT_VARIABLES, Settings
from admin_requests.credentials.settings import CredentialSettings

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "process.yml"

# A value for each variable that differs from Settings' default.
EXAMPLES = {
    "ADMIN_REQUESTS_CI_APPS": "cirun=18453316",
    "ADMIN_REQUESTS_PROTECTED_REPOSITORIES": "core-feedstock",
    "ADMIN_REQUESTS_RUN_BUDGET": "240",
}


def process_step() -> dict[str, Any]:
    workflow = YAML(typ="safe", pure=True).load(WORKFLOW.read_text())
    steps = [
        step
        for job in workflow["jobs"].values()
        for step in job.get("steps", [])
        if step.get("name") == "process the queue"
    ]
    assert len(steps) == 1, "process.yml has one 'process the queue' step"
    return steps[0]


@pytest.mark.parametrize("name", DEPLOYMENT_VARIABLES)
def test_the_queue_step_passes_each_deployment_variable_on(name: str) -> None:
    env = process_step()["env"]
    assert name in env, f"process.yml's 'process the queue' step does not pass {name}"
    assert f"vars.{name}" in str(env[name])


@pytest.mark.parametrize("name", DEPLOYMENT_VARIABLES)
def test_each_deployment_variable_is_one_settings_reads(name: str) -> None:
    assert Settings.from_environ({name: EXAMPLES[name]}) != Settings.from_environ({})


def test_the_deployment_guide_lists_each_as_a_repository_variable() -> None:
    guide = (WORKFLOW.parents[2] / "docs" / "deployment.md").read_text()
    for name in DEPLOYMENT_VARIABLES:
        assert f"`{name}`" in guide, f"docs/deployment.md does not mention {name}"


AZURE_FEDERATION = ("AZURE_TENANT_ID", "AZURE_CLIENT_ID")


def named_step(workflow: str, name: str) -> dict[str, Any]:
    document = YAML(typ="safe", pure=True).load((WORKFLOW.parent / workflow).read_text())
    steps = [
        step
        for job in document["jobs"].values()
        for step in job.get("steps", [])
        if step.get("name") == name
    ]
    assert len(steps) == 1, f"{workflow} has one {name!r} step"
    return steps[0]


@pytest.mark.parametrize(
    ("workflow", "step"),
    [("process.yml", "process the queue"), ("create-feedstocks.yml", "create the feedstocks")],
)
def test_the_azure_federation_ids_reach_the_steps_that_use_azure(workflow: str, step: str) -> None:
    """token_reset stores FEEDSTOCK_TOKEN on Azure, creation registers the Azure build:
    both through Entra ID's federation, configured by these two ids alone. No workflow
    passed them, so in production every Azure step was skipped ("not configured") and
    every new feedstock that builds on Azure (conda-smithy's default) was parked."""
    env = named_step(workflow, step).get("env") or {}
    for name in AZURE_FEDERATION:
        assert name in env, f"{workflow}'s {step!r} step does not pass {name}"
        assert f"vars.{name}" in str(env[name])
    settings = CredentialSettings.from_environ(
        {"AZURE_TENANT_ID": "tenant", "AZURE_CLIENT_ID": "client"}
    )
    assert (settings.azure_tenant_id, settings.azure_client_id) == ("tenant", "client")
