"""The OpenBao dev server of the credential tests, for pages whose commands use a vault."""

from __future__ import annotations

from tests.credentials.conftest import bao_server

__all__ = ["bao_server"]
