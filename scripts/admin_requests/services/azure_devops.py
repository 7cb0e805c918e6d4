"""Azure Pipelines build definitions: where feedstocks that build on Azure keep secrets.

One call matters: set a secret variable (``FEEDSTOCK_TOKEN``) on a feedstock's pipeline.
Azure DevOps has no "set one variable" call, so the definition is read, the variable
set, and the definition written back with the revision it had: Azure refuses a stale
revision, and the write is then redone on a fresh read, so nobody's change is lost.
Secret values are never returned by Azure and never logged here.

The bearer token is an Entra ID access token obtained through OIDC federation
(``credentials/azure.py``), never a stored personal access token.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from admin_requests.config import Settings
from admin_requests.errors import ConflictError, NotFoundError, PermanentError, TransientError
from admin_requests.services.http import HttpClient, Retrier

if TYPE_CHECKING:
    from admin_requests.credentials.redact import Secret

log = logging.getLogger(__name__)

API_VERSION = "7.1"


class AzureDevOpsClient:
    def __init__(self, settings: Settings, token: str, *, retrier: Retrier | None = None) -> None:
        self.organisation = settings.azure_devops_organisation
        self.project = settings.azure_devops_project
        self.http = HttpClient(
            settings.azure_devops_url,
            token=token,
            auth_scheme="Bearer",
            timeout=settings.http_timeout_seconds,
            retrier=retrier,
        )
        self._base = f"/{quote(self.organisation)}/{quote(self.project)}/_apis/build/definitions"

    def __repr__(self) -> str:
        return f"AzureDevOpsClient({self.http.base_url!r}, {self.organisation}/{self.project})"

    def definition_id(self, pipeline: str) -> int:
        """The id of the pipeline named ``pipeline``; NotFoundError when there is none."""
        found = self.http.json(
            "GET", self._base, params={"name": pipeline, "api-version": API_VERSION}
        )
        matches = [d for d in (found or {}).get("value", []) if d.get("name") == pipeline]
        if not matches:
            raise NotFoundError(
                f"Azure Pipelines has no pipeline {pipeline!r} in "
                f"{self.organisation}/{self.project}",
                status=404,
            )
        return int(matches[0]["id"])

    def set_secret_variable(
        self, pipeline: str, name: str, value: Secret, *, attempts: int = 5
    ) -> None:
        """Set ``name`` as a secret variable of ``pipeline`` (not overridable at queue time)."""
        definition_id = self.definition_id(pipeline)
        path = f"{self._base}/{definition_id}"
        params = {"api-version": API_VERSION}
        for _ in range(attempts):
            definition: dict[str, Any] = self.http.json("GET", path, params=params)
            variables = definition.get("variables") or {}
            # Other secret variables come back without their values; Azure keeps a
            # secret's stored value when it is written back without one.
            variables[name] = {"value": value.reveal(), "isSecret": True, "allowOverride": False}
            definition["variables"] = variables
            try:
                self.http.json("PUT", path, params=params, json=definition)
                return
            except ConflictError:
                log.info("pipeline %s changed while we wrote it; reading it again", pipeline)
            except PermanentError as error:
                if error.status == 400 and "revision" in str(error).lower():
                    log.info("pipeline %s has a newer revision; reading it again", pipeline)
                    continue
                raise
        raise TransientError(
            f"the Azure pipeline {pipeline!r} kept changing while we wrote it ({attempts} "
            "tries); it is retried in a later run."
        )


# -- feedstock creation: a new feedstock's pipeline ------------------------------------
# conda-smithy's ``register-ci --azure`` (``azure_ci_utils.register_repo`` and
# ``get_default_build_definition``, conda-forge/conda-smithy 081ec6b, August 2026) makes
# a YAML pipeline named after the repository, on the GitHub service connection named
# after the organisation, the "Default" queue, the "anaconda-org" variable group, with
# pull-request (forks without secrets) and continuous-integration triggers.

VARIABLE_GROUP = "anaconda-org"
DEFAULT_QUEUE = "Default"


def _pipeline_body(
    repository: str,
    github_org: str,
    endpoint: dict[str, Any],
    queues: list[dict[str, Any]],
    groups: list[dict[str, Any]],
    git_base_url: str,
) -> dict[str, Any]:
    full_name = f"{github_org}/{repository}"
    default = next(q for q in queues if q.get("name") == DEFAULT_QUEUE)
    return {
        "name": repository,
        "type": "build",
        "queue": {"id": default["id"], "name": default["name"]},
        "process": {
            "type": 2,
            "yamlFilename": "/azure-pipelines.yml",
            "resources": {
                "queues": [{"id": q["id"], "alias": q["name"]} for q in queues],
                "endpoints": [{"id": endpoint["id"], "alias": endpoint["name"]}],
            },
        },
        "repository": {
            "type": "GitHub",
            "id": full_name,
            "name": full_name,
            "url": f"{git_base_url}/{full_name}.git",
            "defaultBranch": "refs/heads/main",
            "clean": "false",
            "properties": {
                "connectedServiceId": endpoint["id"],
                "cloneUrl": f"{git_base_url}/{full_name}.git",
                "fullName": full_name,
                "cleanOptions": "0",
                "skipSyncSource": "false",
                "gitLfsSupport": "false",
                "checkoutNestedSubmodules": "false",
                "labelSources": "0",
                "fetchDepth": "0",
                "labelSourcesFormat": "$(build.buildNumber)",
                "reportBuildStatus": "true",
            },
        },
        "triggers": [
            {
                "branchFilters": ["+*"],
                "forks": {"enabled": True, "allowSecrets": False},
                "pathFilters": [],
                "isCommentRequiredForPullRequest": False,
                "triggerType": "pullRequest",
            },
            {
                "branchFilters": ["+*"],
                "pathFilters": [],
                "batchChanges": False,
                "maxConcurrentBuildsPerBranch": 1,
                "pollingInterval": 0,
                "triggerType": "continuousIntegration",
            },
        ],
        "variableGroups": [{"id": g["id"], "name": g["name"]} for g in groups],
    }


def ensure_pipeline(
    client: AzureDevOpsClient, repository: str, github_org: str, git_base_url: str
) -> str:
    """The feedstock's pipeline, created unless it exists; plain words of what was done.

    A create whose answer was lost is looked up by name before anything is repeated.
    """
    try:
        return f"pipeline {client.definition_id(repository)} exists"
    except NotFoundError:
        pass
    project = f"/{quote(client.organisation)}/{quote(client.project)}/_apis"
    params = {"api-version": API_VERSION}
    endpoints = client.http.json(
        "GET", f"{project}/serviceendpoint/endpoints", params={**params, "type": "GitHub"}
    ).get("value", [])
    endpoint = next((e for e in endpoints if e.get("name") == github_org), None)
    if endpoint is None:
        raise PermanentError(
            f"Azure DevOps {client.organisation}/{client.project} has no GitHub service "
            f"connection named {github_org!r}; core: create it (Project settings, Service "
            "connections) and retry the recipe"
        )
    queues = client.http.json("GET", f"{project}/distributedtask/queues", params=params)
    queues = queues.get("value", [])
    if not any(q.get("name") == DEFAULT_QUEUE for q in queues):
        raise PermanentError(
            f"Azure DevOps {client.organisation}/{client.project} has no agent queue "
            f"{DEFAULT_QUEUE!r}; core: check the project's agent pools"
        )
    groups = client.http.json(
        "GET",
        f"{project}/distributedtask/variablegroups",
        params={**params, "groupName": VARIABLE_GROUP},
    ).get("value", [])
    body = _pipeline_body(repository, github_org, endpoint, queues, groups, git_base_url)
    try:
        created = client.http.json("POST", client._base, params=params, json=body)
    except TransientError:
        # The create may have happened: look before trying again in a later run.
        return f"pipeline {client.definition_id(repository)} exists"
    return f"pipeline {created['id']} created"
