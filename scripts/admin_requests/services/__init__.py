"""The clients one run uses, built once from Settings and credentials and passed in.

Request kinds get a ``Services`` and never build clients or read the environment.
``memo`` caches per-run lookups (the feedstock-outputs ``config.json``) so items do
not repeat them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..config import Settings
from .anaconda import AnacondaClient
from .github import GitHubClient
from .http import Retrier, RetryPolicy

T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    github: GitHubClient
    anaconda: AnacondaClient
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
            AnacondaClient(settings, anaconda_token, retrier=retrier),
        )

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()`` once per run for ``key``; later calls reuse the value."""
        with self._memo_lock:  # items may run in threads; compute once all the same
            if key not in self._memo:
                self._memo[key] = compute()
            value: T = self._memo[key]
        return value


__all__ = ["AnacondaClient", "GitHubClient", "Retrier", "RetryPolicy", "Services"]
