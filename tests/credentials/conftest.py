"""The credential tests' worlds: the simulated processing run of the broker's tests (see
broker_world.py) and FakeAzure. The vault and OIDC issuer they log in to are
tests/conftest.py's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from admin_requests.config import Settings
from admin_requests.credentials.settings import CredentialSettings
from tests.credentials.broker_world import Run
from tests.fakes.anaconda import FakeAnaconda
from tests.fakes.azure import FakeAzure
from tests.fakes.github import FakeGitHub
from tests.fakes.oidc import FakeOidcIssuer, process_claims
from tests.vault_trust import (
    ANACONDA_ORG_PASSWORD,
    ANACONDA_ORG_USERNAME,
    AUDIENCE,
    BaoServer,
    trust_parameters,
)


@pytest.fixture
def run(
    trusted_vault: BaoServer,
    oidc_issuer: FakeOidcIssuer,
    fake_github: FakeGitHub,
    fake_anaconda: FakeAnaconda,
) -> Iterator[Run]:
    params = trust_parameters()
    public = trusted_vault.admin().transit_public_key(params.transit_mount, params.transit_key)
    fake_github.configure_app(4242, public_key_pem=public.encode(), installation_id=77)
    for name in ("foo-feedstock", "bar-feedstock", "baz-feedstock"):
        fake_github.add_repo(name)
    fake_anaconda.add_account(
        ANACONDA_ORG_USERNAME, ANACONDA_ORG_PASSWORD, organisations=["conda-forge"]
    )
    fake_anaconda.add_file("conda-forge", "linux-64/bar-1.0-h0_0.conda", labels=["main"])
    return Run(
        fake_github,
        fake_anaconda,
        oidc_issuer,
        trusted_vault,
        Settings(github_api_url=fake_github.url, anaconda_api_url=fake_anaconda.url),
        CredentialSettings(
            backend="vault",
            vault_addr=trusted_vault.addr,
            audience=AUDIENCE,
            oidc_request_url=oidc_issuer.actions_environ()["ACTIONS_ID_TOKEN_REQUEST_URL"],
            oidc_request_token=oidc_issuer.request_token,
        ),
    )


# -- FakeAzure, trusting the fake OIDC issuer (test_azure.py, test_broker.py) ----------

SUBJECT = process_claims()["sub"]


@pytest.fixture
def azure(oidc_issuer: FakeOidcIssuer) -> Iterator[FakeAzure]:
    with FakeAzure() as fake:
        fake.trust(oidc_issuer, subject=SUBJECT)
        fake.add_pipeline("foo-feedstock")
        yield fake
