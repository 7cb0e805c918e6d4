"""Minted anaconda.org tokens (credentials/anaconda_token.py): minted as anaconda-client
mints them, with the machine account's username and password, for the organisation."""

from __future__ import annotations

import pytest

from admin_requests.access import Access
from admin_requests.config import Settings
from admin_requests.credentials.anaconda_token import AnacondaTokens
from admin_requests.credentials.factories import open_broker
from admin_requests.credentials.ledger import CredentialLedger
from admin_requests.credentials.redact import Masker, Secret
from admin_requests.credentials.settings import CredentialSettings
from admin_requests.errors import AnacondaTokenError, CredentialConfigError
from admin_requests.services.http import Retrier, RetryPolicy
from tests.credentials.broker_world import MARK_BROKEN, Run, label
from tests.fakes.anaconda import MINT_KEYS, FakeAnaconda
from tests.fakes.faults import Fault
from tests.vault_trust import ANACONDA_ORG_PASSWORD, ANACONDA_ORG_USERNAME

NO_WAIT = Retrier(RetryPolicy(base_delay=0.01), sleep=lambda _: None)
SCOPES = ("api:read", "api:write")


@pytest.fixture
def tokens(fake_anaconda: FakeAnaconda) -> AnacondaTokens:
    fake_anaconda.add_account(
        ANACONDA_ORG_USERNAME, ANACONDA_ORG_PASSWORD, organisations=["conda-forge"]
    )
    return AnacondaTokens(
        api_url=fake_anaconda.url,
        organisation="conda-forge",
        masker=Masker(in_actions=False),
        ledger=CredentialLedger(),
        max_age_seconds=900,
        timeout=5,
        retrier=NO_WAIT,
    )


def _account() -> tuple[Secret, Secret]:
    return Secret(ANACONDA_ORG_USERNAME), Secret(ANACONDA_ORG_PASSWORD)


@pytest.mark.vault
def test_minted_anaconda_token_expires_by_itself(run: Run) -> None:
    with run.broker() as broker, broker.request_credentials(MARK_BROKEN, label="r.yml") as creds:
        assert creds.anaconda_token is not None
        raw = creds.anaconda_token.reveal()
        assert run.anaconda.is_token_valid(raw)
        run.anaconda.advance(broker.settings.anaconda_token_max_age + 1)
        assert not run.anaconda.is_token_valid(raw)
        assert label(run, creds.anaconda_token) == 401


@pytest.mark.vault
def test_tokens_are_minted_as_anaconda_client_mints_them(run: Run) -> None:
    """Basic auth with the vault's username and password, for the organisation, 900 s."""
    with run.broker() as broker, broker.request_credentials(MARK_BROKEN, label="r.yml"):
        [minted] = run.anaconda.minted()
        assert minted.minted_by == ANACONDA_ORG_USERNAME  # the fake takes basic auth only
        assert set(minted.minted_with) == MINT_KEYS  # binstar_client's fields, hyphens too
        assert minted.minted_with["user"] == "conda-forge"
        assert minted.minted_with["fail-if-exists"] is False
        assert minted.minted_with["max-age"] == 900
        assert minted.minted_with["scopes"] == ["api:write"]
        assert minted.minted_with["note"] == "admin-requests r.yml"
        assert minted.owners == {"conda-forge"}
    assert minted.removed


def test_a_token_cannot_stand_in_for_the_password(
    tokens: AnacondaTokens, fake_anaconda: FakeAnaconda
) -> None:
    fake_anaconda.add_token("org-token-" + "q" * 20, scopes=["all"], owners=["conda-forge"])
    username, token = Secret(ANACONDA_ORG_USERNAME), Secret("org-token-" + "q" * 20)
    with pytest.raises(AnacondaTokenError, match=r"username and\s+password in the vault"):
        tokens.mint(username, token, SCOPES, "r.yml")
    assert username.cleared
    assert token.cleared
    assert fake_anaconda.minted() == []


def test_the_token_acts_for_the_organisation_only(
    tokens: AnacondaTokens, fake_anaconda: FakeAnaconda
) -> None:
    other = AnacondaTokens(
        api_url=fake_anaconda.url,
        organisation="some-other-org",
        masker=tokens.masker,
        ledger=tokens.ledger,
        max_age_seconds=900,
        retrier=NO_WAIT,
    )
    with pytest.raises(AnacondaTokenError, match="some-other-org"):
        other.mint(*_account(), SCOPES, "r.yml")
    with tokens.mint(*_account(), SCOPES, "r.yml") as token:
        assert fake_anaconda.tokens[token.secret.reveal()].owners == {"conda-forge"}
    assert fake_anaconda.effects["remove_token"] == 1
    assert tokens.ledger.outstanding() == []


def test_minting_is_retried_only_when_it_cannot_have_happened(
    tokens: AnacondaTokens, fake_anaconda: FakeAnaconda
) -> None:
    fake_anaconda.faults.on_call(1, fault=Fault.too_many_requests("0"), method="POST")
    with tokens.mint(*_account(), SCOPES, "r.yml"):
        pass  # 429: anaconda.org did nothing, asking again is safe
    assert fake_anaconda.count("POST", "/authentications") == 2
    fake_anaconda.faults.on_call(1, fault=Fault.server_error(), method="POST")
    with pytest.raises(AnacondaTokenError, match="503"):
        tokens.mint(*_account(), SCOPES, "r.yml")
    # A 5xx may have minted a token nobody saw: one attempt only, no pile-up.
    assert fake_anaconda.count("POST", "/authentications") == 3


def test_the_basic_auth_header_is_masked(tokens: AnacondaTokens) -> None:
    import base64

    with tokens.mint(*_account(), SCOPES, "r.yml"):
        pair = f"{ANACONDA_ORG_USERNAME}:{ANACONDA_ORG_PASSWORD}".encode()
        header = "Basic " + base64.b64encode(pair).decode()
        assert tokens.masker.redact(header) == "Basic ***"


def test_the_job_secret_must_hold_username_and_password(fake_anaconda: FakeAnaconda) -> None:
    settings = CredentialSettings(
        backend="env", dev_values={"anaconda_org_token": "an-old-style-token-value"}
    )
    broker = open_broker(Settings(anaconda_api_url=fake_anaconda.url), settings)
    access = Access(anaconda_scopes=("api:write",))
    with (
        broker,
        pytest.raises(CredentialConfigError, match="'anaconda_org_username' and"),
        broker.request_credentials(access, label="r.yml"),
    ):
        pass
    assert fake_anaconda.call_count == 0
