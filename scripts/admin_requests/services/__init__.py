"""The clients one run uses, built once from Settings and credentials and passed in.

Request kinds get a ``Services`` and never build clients or read the environment.
``memo`` caches per-run lookups (the feedstock-outputs ``config.json``) so items do
not repeat them. ``channel_files`` keeps each package's file list on anaconda.org (its
labels) for the whole run: public data, so the request scopes of one run share it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from admin_requests.config import Settings
from admin_requests.services.anaconda import AnacondaClient
from admin_requests.services.azure_devops import AzureDevOpsClient
from admin_requests.services.channel_files import ChannelFiles
from admin_requests.services.cirun import CirunClient
from admin_requests.services.github import GitHubClient
from admin_requests.services.http import Retrier, RetryPolicy
from admin_requests.services.installations import AppInstallationsClient
from admin_requests.services.smithy import Rerenderer

T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    github: GitHubClient
    anaconda: AnacondaClient
    # Clients with a token of their own for some repositories (Access.github_extra).
    github_by_repository: dict[str, GitHubClient] = field(default_factory=dict)
    # Present only for requests whose Access asked for them (see admin_requests/access.py).
    azure_devops: AzureDevOpsClient | None = None
    app_installations: AppInstallationsClient | None = None
    cirun: CirunClient | None = None
    rerenderer: Rerenderer | None = None
    # Seconds since the epoch; tests move it (token expiry).
    clock: Callable[[], float] = time.time
    # Whether the credentials these clients hold are near their end (the broker sets it):
    # the queue then starts no more items with them and asks for a fresh set.
    credentials_expiring: Callable[[], bool] = field(default=lambda: False, repr=False)
    # Each package's files on anaconda.org, read once per run (broken, not_broken); the
    # scopes of one run are given the same one (CredentialBroker.request_services).
    channel_files: ChannelFiles = field(default_factory=ChannelFiles, repr=False)
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)
    _memo_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        github_token: str,
        anaconda_token: str | None,
        retrier: Retrier | None = None,
    ) -> Services:
        retrier = retrier or Retrier(RetryPolicy())
        return cls(
            settings,
            GitHubClient.build(settings, github_token, retrier=retrier),
            # Its own rate-limit state and pacing: another service than GitHub.
            AnacondaClient(settings, anaconda_token, retrier=retrier.sibling()),
        )

    def github_for(self, repository: str) -> GitHubClient:
        """The client whose token covers ``repository`` (its own grant, else the main one)."""
        return self.github_by_repository.get(repository, self.github)

    def add_github_grant(self, repositories: tuple[str, ...], token: str) -> None:
        """Reach ``repositories`` with ``token`` (one client shared by them)."""
        client = GitHubClient.build(self.settings, token, retrier=self.github.retrier)
        for repository in repositories:
            self.github_by_repository[repository] = client

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` once per run for ``key``; later calls reuse the value."""
        with self._memo_lock:  # items may run in threads; compute once all the same
            if key not in self._memo:
                self._memo[key] = compute()
            value: T = self._memo[key]
        return value


__all__ = [
    "AnacondaClient",
    "AppInstallationsClient",
    "AzureDevOpsClient",
    "ChannelFiles",
    "CirunClient",
    "GitHubClient",
    "Rerenderer",
    "Retrier",
    "RetryPolicy",
    "Services",
]
