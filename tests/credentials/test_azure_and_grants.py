"""Azure through OIDC federation, and the broker's other per-request credentials for
token_reset and the CI-resource kinds: one installation token per grant, the borrowed
installations credential, all gone when the request ends.

The broker runs with the env backend (App JWT signed with a local key) against
FakeGitHub, FakeAzure and the fake OIDC issuer; the vault path is the same code below
the backend and is covered by test_broker_vault.py.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from admin_requests.config import Settings
from admin_requests.credentials.azure import AzureFederatedTokens
from admin_requests.credentials.factories import open_broker
from admin_requests.credentials.ledger import CredentialLedger
from admin_requests.credentials.oidc import OidcRequester
from admin_requests.credentials.redact import Masker, Secret
from admin_requests.credentials.settings import CredentialSettings
from admin_requests.errors import AzureTokenError
from admin_requests.kinds.contract import OutcomeStatus
from admin_requests.services import AzureDevOpsClient
from admin_requests.services.http import Retrier, RetryPolicy
from tests.fakes import FakeGitHub
from tests.fakes.azure import FakeAzure
from tests.fakes.oidc import FakeOidcIssuer, process_claims
from tests.kinds.helpers import load

SUBJECT = process_claims()["sub"]
NO_WAIT = Retrier(RetryPolicy(base_delay=0.01), sleep=lambda _: None)


@pytest.fixture
def issuer(oidc_issuer: FakeOidcIssuer) -> FakeOidcIssuer:
    return oidc_issuer


@pytest.fixture
def azure(issuer: FakeOidcIssuer) -> Iterator[FakeAzure]:
    with FakeAzure() as fake:
        fake.trust(issuer, subject=SUBJECT)
        fake.add_pipeline("foo-feedstock")
        yield fake


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


@dataclass
class World:
    github: FakeGitHub
    azure: FakeAzure
    settings: Settings
    credentials: CredentialSettings


@pytest.fixture
def world(
    fake_github: FakeGitHub, azure: FakeAzure, issuer: FakeOidcIssuer, tmp_path: Path
) -> World:
    # The App needs 'secrets' (token_reset) on top of what the other kinds use.
    app = fake_github.configure_app(
        4242,
        installation_id=77,
        permissions={
            "administration": "write",
            "contents": "write",
            "issues": "write",
            "pull_requests": "write",
            "actions": "write",
            "secrets": "write",
            "metadata": "read",
        },
    )
    key = tmp_path / "app.pem"  # the env backend's local key (development only)
    assert app.private_key_pem is not None
    key.write_bytes(app.private_key_pem)
    fake_github.add_repo("foo-feedstock", files={"recipe/meta.yaml": "package:\n  name: foo\n"})
    fake_github.add_repo("feedstock-tokens")
    fake_github.add_repo(
        "feedstock-outputs",
        files={
            "config.json": json.dumps({"outputs_path": "o", "shard_level": 0, "shard_fill": "z"}),
            "o/foo.json": json.dumps({"feedstocks": ["foo"]}),
        },
    )
    fake_github.add_repo("ci-access-control")
    fake_github.add_installation(900, "blacksmith")
    fake_github.add_user_token("ghp_org_admin_for_installations")
    environ = issuer.actions_environ()
    return World(
        fake_github,
        azure,
        Settings(
            github_api_url=fake_github.url,
            azure_devops_url=azure.url,
            ci_app_installations=(("blacksmith", 900),),
        ),
        CredentialSettings(
            backend="env",
            dev_values={"github_installations_token": "ghp_org_admin_for_installations"},
            dev_github_app_key_file=str(key),
            github_app_id="4242",
            github_installation_id="77",
            oidc_request_url=environ["ACTIONS_ID_TOKEN_REQUEST_URL"],
            oidc_request_token=environ["ACTIONS_ID_TOKEN_REQUEST_TOKEN"],
            azure_tenant_id=azure.tenant,
            azure_client_id=azure.client_id,
            azure_authority_url=azure.url,
        ),
    )


def test_a_token_reset_request_gets_three_scoped_tokens_and_azure_then_loses_them_all(
    world: World,
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger().addHandler(handler)
    loaded = load("action: token_reset\nfeedstocks: [foo]\n")
    try:
        with open_broker(world.settings, world.credentials, retrier=NO_WAIT) as broker:
            reader = None
            access = loaded.kind.access(loaded.model, _settings_only(world.settings))
            with broker.request_services(access, world.settings, label="reset.yml") as services:
                reader = services
                assert services.github_for("feedstock-tokens") is not services.github
                assert services.azure_devops is not None
                [outcome] = [loaded.kind.execute(i, services) for i in loaded.items]
            assert outcome.status is OutcomeStatus.DONE, outcome.detail
            ledger = broker.ledger
    finally:
        logging.getLogger().removeHandler(handler)
    gh = world.github
    assert gh.effects["mint_token"] == 3
    assert gh.effects["revoke_token"] == 3
    kinds = [r.kind for r in ledger.records]
    assert kinds.count("github-installation-token") == 3
    assert kinds.count("azure-access-token") == 1
    assert ledger.outstanding() == []
    scopes = sorted(r.scope for r in ledger.records if r.kind == "github-installation-token")
    assert scopes == [
        "repositories=[feedstock-outputs]; contents:read",
        "repositories=[feedstock-tokens]; contents:write",
        "repositories=[foo-feedstock]; contents:read, secrets:write",
    ]
    for token in (
        gh.actions_secret("foo-feedstock", "FEEDSTOCK_TOKEN"),
        world.azure.pipeline("foo-feedstock").variables["FEEDSTOCK_TOKEN"]["value"],
    ):
        assert token not in stream.getvalue()
    assert reader is not None
    # Every GitHub token of the request is dead once it ended.
    for client in [reader.github, *reader.github_by_repository.values()]:
        with pytest.raises(Exception, match="401"):
            client.repository("foo-feedstock")


def test_a_ci_resource_request_borrows_the_installations_credential_for_its_duration(
    world: World,
) -> None:
    loaded = load("action: blacksmith\nfeedstocks: [foo]\n")
    with open_broker(world.settings, world.credentials, retrier=NO_WAIT) as broker:
        access = loaded.kind.access(loaded.model, _settings_only(world.settings))
        with broker.request_credentials(access, label="blacksmith.yml") as creds:
            borrowed = creds.installations_token
            assert borrowed is not None
            assert creds.azure_token is None
        assert borrowed.cleared
        with broker.request_services(access, world.settings, label="blacksmith.yml") as services:
            [outcome] = [loaded.kind.execute(i, services) for i in loaded.items]
    assert outcome.status is OutcomeStatus.DONE, outcome.detail
    assert world.github.installation_repositories(900) == {"foo-feedstock"}
    assert "blacksmith" in world.github.repo("ci-access-control").file_text(".access_control.yml")


def _settings_only(settings: Settings) -> object:
    @dataclass
    class Only:
        settings: Settings

    return Only(settings)
