"""Credential configuration, read once from the environment at the edge.

None of these values is a secret except the Actions ID-token request token, which the
runner already gives every step of a job with ``id-token: write``. The vault address,
role and audience are public configuration (repository variables or workflow env).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

from admin_requests.errors import CredentialConfigError

Backend = Literal["vault", "aws", "env"]
BACKENDS: tuple[Backend, ...] = ("vault", "aws", "env")

# anaconda.org tokens never live longer than this; also the STS minimum session.
MAX_TOKEN_SECONDS = 900

# Keys of the job's secret (a KV v2 entry, a Secrets Manager JSON secret, or ADMIN_DEV_*
# variables for the env backend).
# anaconda.org creates tokens only for a username and password (basic auth), so the
# job's secret holds the machine account's, never a token (docs/security.md).
ANACONDA_USERNAME_KEY = "anaconda_org_username"
ANACONDA_PASSWORD_KEY = "anaconda_org_password"  # noqa: S105 (a key name)
GITHUB_APP_ID_KEY = "github_app_id"
GITHUB_INSTALLATION_ID_KEY = "github_installation_id"
# The credential that may add repositories to CI providers' App installations (a classic
# token: GitHub offers these calls to no App token); read only for CI-resource requests.
GITHUB_INSTALLATIONS_TOKEN_KEY = "github_installations_token"  # noqa: S105 (a key name)
# The organisation's Cirun API key (what conda-forge keeps as CIRUN_API_KEY): Cirun has no
# federation, so it is long-lived and lives in the vault only; read only for cirun requests.
CIRUN_API_KEY_KEY = "cirun_api_key"


@dataclass(frozen=True)
class CredentialSettings:
    backend: Backend = "vault"
    running_in_actions: bool = False
    # Only tests set this: lets the env backend run where GITHUB_ACTIONS=true (act).
    allow_env_backend_in_actions: bool = False
    # The Actions ID-token endpoint (vault and aws backends).
    oidc_request_url: str = ""
    oidc_request_token: str = field(default="", repr=False)
    audience: str = ""
    # vault
    vault_addr: str = ""
    vault_namespace: str = ""
    vault_auth_mount: str = "jwt"
    vault_role: str = "admin-requests-process"
    vault_kv_mount: str = "admin-requests"
    vault_secret_path: str = "process"  # noqa: S105 (a path, not a value)
    vault_transit_mount: str = "transit"
    vault_transit_key: str = "admin-requests-github-app"
    # aws
    aws_region: str = "us-east-1"
    aws_role_arn: str = ""
    aws_secret_id: str = ""
    aws_kms_key_id: str = ""
    aws_sts_endpoint_url: str = ""
    aws_secretsmanager_endpoint_url: str = ""
    aws_kms_endpoint_url: str = ""
    # env (local development only)
    dev_values: Mapping[str, str] = field(default_factory=dict, repr=False)
    dev_github_app_key_file: str = ""
    # Non-secret identifiers; when empty they are read from the job's secret.
    github_app_id: str = ""
    github_installation_id: str = ""
    anaconda_token_max_age: int = MAX_TOKEN_SECONDS
    http_timeout_seconds: float = 30.0
    # Azure (OIDC federation to Entra ID; identifiers, not secrets). Empty: no Azure.
    azure_tenant_id: str = ""
    azure_client_id: str = ""
    azure_authority_url: str = "https://login.microsoftonline.com"

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise CredentialConfigError(
                f"ADMIN_REQUESTS_CREDENTIALS={self.backend!r} is not a credential backend; "
                f"use one of {', '.join(BACKENDS)}"
            )
        if not 60 <= self.anaconda_token_max_age <= MAX_TOKEN_SECONDS:
            raise CredentialConfigError(
                f"ANACONDA_TOKEN_MAX_AGE={self.anaconda_token_max_age!r} is outside 60..."
                f"{MAX_TOKEN_SECONDS} seconds; minted anaconda.org tokens must expire "
                "within the job"
            )

    def default_audience(self) -> str:
        return self.audience or ("sts.amazonaws.com" if self.backend == "aws" else "")

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> CredentialSettings:
        defaults = cls()

        def get(name: str, default: str) -> str:
            return environ.get(name, "") or default

        backend = get("ADMIN_REQUESTS_CREDENTIALS", defaults.backend)
        return cls(
            backend=cast(Backend, backend),
            running_in_actions=environ.get("GITHUB_ACTIONS") == "true",
            allow_env_backend_in_actions=environ.get("ADMIN_REQUESTS_ALLOW_ENV_BACKEND")
            == "test-only",
            oidc_request_url=get("ACTIONS_ID_TOKEN_REQUEST_URL", ""),
            oidc_request_token=get("ACTIONS_ID_TOKEN_REQUEST_TOKEN", ""),
            audience=get("ADMIN_REQUESTS_OIDC_AUDIENCE", ""),
            vault_addr=get("VAULT_ADDR", "").rstrip("/"),
            vault_namespace=get("VAULT_NAMESPACE", ""),
            vault_auth_mount=get("VAULT_AUTH_MOUNT", defaults.vault_auth_mount),
            vault_role=get("VAULT_ROLE", defaults.vault_role),
            vault_kv_mount=get("VAULT_KV_MOUNT", defaults.vault_kv_mount),
            vault_secret_path=get("VAULT_SECRET_PATH", defaults.vault_secret_path),
            vault_transit_mount=get("VAULT_TRANSIT_MOUNT", defaults.vault_transit_mount),
            vault_transit_key=get("VAULT_TRANSIT_KEY", defaults.vault_transit_key),
            aws_region=get("AWS_REGION", defaults.aws_region),
            aws_role_arn=get("ADMIN_REQUESTS_AWS_ROLE_ARN", ""),
            aws_secret_id=get("ADMIN_REQUESTS_AWS_SECRET_ID", ""),
            aws_kms_key_id=get("ADMIN_REQUESTS_AWS_KMS_KEY_ID", ""),
            aws_sts_endpoint_url=get("AWS_ENDPOINT_URL_STS", ""),
            aws_secretsmanager_endpoint_url=get("AWS_ENDPOINT_URL_SECRETS_MANAGER", ""),
            aws_kms_endpoint_url=get("AWS_ENDPOINT_URL_KMS", ""),
            dev_values={
                key.removeprefix("ADMIN_DEV_").lower(): value
                for key, value in environ.items()
                if key.startswith("ADMIN_DEV_")
            },
            dev_github_app_key_file=get("ADMIN_DEV_GITHUB_APP_KEY_FILE", ""),
            github_app_id=get("GITHUB_APP_ID", ""),
            github_installation_id=get("GITHUB_APP_INSTALLATION_ID", ""),
            anaconda_token_max_age=int(
                get("ANACONDA_TOKEN_MAX_AGE", str(defaults.anaconda_token_max_age))
            ),
            http_timeout_seconds=float(
                get("ADMIN_REQUESTS_HTTP_TIMEOUT", str(defaults.http_timeout_seconds))
            ),
            azure_tenant_id=get("AZURE_TENANT_ID", ""),
            azure_client_id=get("AZURE_CLIENT_ID", ""),
            azure_authority_url=get("AZURE_AUTHORITY_HOST", defaults.azure_authority_url).rstrip(
                "/"
            ),
        )
