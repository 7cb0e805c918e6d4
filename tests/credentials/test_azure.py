"""Azure DevOps tokens through OIDC federation (credentials/azure.py), against FakeAzure and
the fake OIDC issuer (its fixture, azure, is in conftest.py; the broker's use of it for
token_reset is in test_broker.py)."""

from __future__ import annotations

import pytest
import requests

from admin_requests.config import Settings
from admin_requests.credentials.azure import AzureFederatedTokens
from admin_requests.credentials.ledger import CredentialLedger
from admin_requests.credentials.oidc import OidcRequester
from admin_requests.credentials.redact import Masker, Secret
from admin_requests.errors import AzureTokenError
from admin_requests.services import AzureDevOpsClient
from admin_requests.services.http import Retrier, RetryPolicy
from tests.fakes.azure import FakeAzure
from tests.fakes.oidc import FakeOidcIssuer, process_claims

SUBJECT = process_claims()["sub"]  # the subject the azure fixture trusts

NO_WAIT = Retrier(RetryPolicy(base_delay=0.01), sleep=lambda _: None)


@pytest.fixture
def issuer(oidc_issuer: FakeOidcIssuer) -> FakeOidcIssuer:
    return oidc_issuer


def federation(issuer: FakeOidcIssuer, azure: FakeAzure, masker: Masker) -> AzureFederatedTokens:
    session = requests.Session()
    oidc = OidcRequester(
        issuer.actions_environ()["ACTIONS_ID_TOKEN_REQUEST_URL"],
        masker.register(issuer.request_token),
        session,
        masker,
    )
    return AzureFederatedTokens(
        oidc=oidc,
        authority_url=azure.url,
        tenant_id=azure.tenant,
        client_id=azure.client_id,
        session=session,
        masker=masker,
        ledger=CredentialLedger(),
        retrier=NO_WAIT,
    )


def test_the_job_token_is_exchanged_for_an_azure_devops_token(
    issuer: FakeOidcIssuer, azure: FakeAzure
) -> None:
    masker = Masker(in_actions=False)
    tokens = federation(issuer, azure, masker)
    token, record = tokens.mint("requests/reset.yml")
    assert issuer.requests[-1] == {"audience": "api://AzureADTokenExchange"}
    assert (record.kind, record.revocable, record.max_lifetime_seconds) == (
        "azure-access-token",
        False,
        3599,
    )
    settings = Settings(azure_devops_url=azure.url)
    AzureDevOpsClient(settings, token.reveal()).set_secret_variable(
        "foo-feedstock", "FEEDSTOCK_TOKEN", Secret("x" * 64)
    )
    assert azure.pipeline("foo-feedstock").variables["FEEDSTOCK_TOKEN"]["value"] == "x" * 64
    assert masker.redact(token.reveal()) == "***"


@pytest.mark.parametrize(
    "overrides",
    [
        {"sub": "repo:conda-forge/admin-requests:pull_request"},
        {"sub": "repo:someone/fork:environment:production"},
    ],
)
def test_a_token_from_another_workflow_is_refused_by_entra(
    issuer: FakeOidcIssuer, azure: FakeAzure, overrides: dict[str, str]
) -> None:
    issuer.claim_overrides = overrides
    with pytest.raises(AzureTokenError, match="AADSTS700213") as refused:
        federation(issuer, azure, Masker(in_actions=False)).mint("r.yml")
    assert "federated credential" in str(refused.value)
    assert issuer.issued[-1] not in str(refused.value)
    assert azure.effects["mint_token"] == 0


def test_a_token_for_another_audience_is_refused(issuer: FakeOidcIssuer, azure: FakeAzure) -> None:
    azure.federated.clear()
    azure.trust(issuer, subject=SUBJECT, audience="api://SomethingElse")
    with pytest.raises(AzureTokenError):
        federation(issuer, azure, Masker(in_actions=False)).mint("r.yml")
