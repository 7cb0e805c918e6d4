"""Real servers for the credential tests: OpenBao's dev server and a fake OIDC issuer.

The trust policy is applied with the project's own ``deploy.vault.apply``, so the tests
prove the files in ``vault/`` do what docs/security.md says, not a copy of them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sandbox.vault import VaultDevServer

from admin_requests.deploy.vault import TrustParameters, apply
from tests.fakes.oidc import REPOSITORY, REPOSITORY_ID, REPOSITORY_OWNER_ID, FakeOidcIssuer

AUDIENCE = "https://vault.admin-requests.test"


# The dev server as the sandbox runs it (sandbox/vault.py): same binary, same flags.
# Its session fixture, bao_server, is in tests/conftest.py (the docs tests use it too).
BaoServer = VaultDevServer


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
