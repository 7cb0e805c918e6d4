"""Run configuration, read once from the environment at the edge (the CLI).

Nothing below the CLI reads ``os.environ``: it gets a Settings object. Every base URL is
configurable so tests and the local sandbox point the clients at fakes on 127.0.0.1.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    organisation: str = "conda-forge"
    # The repository this automation runs in (owner/name), as Actions sets it.
    repository: str = "conda-forge/admin-requests"
    github_api_url: str = "https://api.github.com"
    anaconda_api_url: str = "https://api.anaconda.org"
    # Where package files are served from (conda.anaconda.org in production).
    channel_url: str = "https://conda.anaconda.org"
    # The channel that request kinds act on (labels, copies).
    channel: str = "conda-forge"
    feedstock_outputs_repository: str = "feedstock-outputs"
    feedstock_tokens_repository: str = "feedstock-tokens"
    repodata_patches_repository: str = "conda-forge-repodata-patches-feedstock"
    # The workflow (file name) that rebuilds the repodata patches, started once per run
    # after labels change; empty: send a repository_dispatch event instead.
    repodata_patches_workflow: str = "rebuild.yml"
    repodata_patches_ref: str = "main"
    http_timeout_seconds: float = 30.0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        defaults = cls()
        return cls(
            organisation=environ.get("ADMIN_REQUESTS_ORG", defaults.organisation),
            repository=environ.get("GITHUB_REPOSITORY", defaults.repository),
            github_api_url=environ.get("GITHUB_API_URL", defaults.github_api_url).rstrip("/"),
            anaconda_api_url=environ.get("ANACONDA_API_URL", defaults.anaconda_api_url).rstrip("/"),
            channel_url=environ.get("ANACONDA_CHANNEL_URL", defaults.channel_url).rstrip("/"),
            channel=environ.get("ADMIN_REQUESTS_CHANNEL", defaults.channel),
            feedstock_outputs_repository=environ.get(
                "FEEDSTOCK_OUTPUTS_REPOSITORY", defaults.feedstock_outputs_repository
            ),
            feedstock_tokens_repository=environ.get(
                "FEEDSTOCK_TOKENS_REPOSITORY", defaults.feedstock_tokens_repository
            ),
            repodata_patches_repository=environ.get(
                "REPODATA_PATCHES_REPOSITORY", defaults.repodata_patches_repository
            ),
            repodata_patches_workflow=environ.get(
                "REPODATA_PATCHES_WORKFLOW", defaults.repodata_patches_workflow
            ),
            repodata_patches_ref=environ.get("REPODATA_PATCHES_REF", defaults.repodata_patches_ref),
            http_timeout_seconds=float(
                environ.get("ADMIN_REQUESTS_HTTP_TIMEOUT", defaults.http_timeout_seconds)
            ),
        )
