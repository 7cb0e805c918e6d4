"""Azure Pipelines for a new feedstock, through the federated Azure DevOps token.

conda-forge's script ran ``conda-smithy register-ci`` with an Azure personal access
token written to ``~/.conda-smithy/azure.token``. Here the pipeline is made through
``services.azure_devops`` (its token obtained through OIDC federation, never stored),
with conda-smithy's own definition (services/azure_devops.py ``ensure_pipeline``).
"""

from __future__ import annotations

from dataclasses import dataclass

from admin_requests.access import Access
from admin_requests.config import Settings
from admin_requests.creation.credentials import CreationCredentials
from admin_requests.errors import PermanentError
from admin_requests.services.azure_devops import ensure_pipeline


@dataclass
class AzurePipelines:
    credentials: CreationCredentials
    settings: Settings

    def ensure_pipeline(self, repository: str) -> str:
        # The GitHub part is the least a request can hold (the broker always builds a
        # GitHub client); the Azure DevOps token is what this step needs.
        access = Access((repository,), {"metadata": "read"}, azure_devops=True)
        with self.credentials.services(access, label=f"create {repository}: Azure") as services:
            if services.azure_devops is None:
                raise PermanentError(
                    "Azure Pipelines is not configured for admin-requests (no Azure "
                    "federation: AZURE_TENANT_ID/AZURE_CLIENT_ID); core: configure it, or "
                    "register the pipeline by hand, then retry the recipe"
                )
            return ensure_pipeline(
                services.azure_devops,
                repository,
                self.settings.organisation,
                self.settings.git_base_url,
            )
