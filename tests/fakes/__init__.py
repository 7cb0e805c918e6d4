"""Stateful fake services on 127.0.0.1 (see each module) and their pytest fixtures."""

from __future__ import annotations

from .anaconda import FakeAnaconda
from .cirun import FakeCirun
from .faults import Fault, Faults
from .github import FakeGitHub, blob_sha, sha

__all__ = ["FakeAnaconda", "FakeCirun", "FakeGitHub", "Fault", "Faults", "blob_sha", "sha"]
