"""Unit tests: the Secret wrapper, masking, App JWTs, scope checks, settings, env backend."""

from __future__ import annotations

import base64
import io
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from admin_requests.access import Access
from admin_requests.credentials.env import EnvBackend
from admin_requests.credentials.factories import build_backend
from admin_requests.credentials.github_app import app_jwt, b64url, check_granted, check_requestable
from admin_requests.credentials.ledger import CredentialLedger
from admin_requests.credentials.oidc import OidcRequester
from admin_requests.credentials.redact import Masker, Secret, install_redaction
from admin_requests.credentials.settings import CredentialSettings
from admin_requests.credentials.tokens import MintedToken
from admin_requests.credentials.vault import decode_transit_signature
from admin_requests.errors import (
    CredentialConfigError,
    CredentialError,
    CredentialScopeError,
    EnvBackendRefused,
    OidcTokenError,
    VaultError,
)
from tests.fakes.oidc import FakeOidcIssuer

TOKEN = "ghs_" + "A1b2" * 9


# -- Secret and Masker ------------------------------------------------------------------


def test_secret_never_shows_its_value() -> None:
    secret = Secret(TOKEN)
    for text in (
        str(secret),
        repr(secret),
        f"{secret}",
        f"{secret!r}",
        f"{secret:>50}",
        repr({"token": secret}),
        repr([secret]),
    ):
        assert TOKEN not in text
    assert secret.reveal() == TOKEN
    secret.clear()
    assert secret.cleared
    with pytest.raises(ValueError, match="cleared"):
        secret.reveal()


def test_secret_cannot_be_pickled_or_compared_by_value() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(Secret(TOKEN))
    assert Secret(TOKEN) != Secret(TOKEN)


def test_masker_prints_add_mask_only_in_actions() -> None:
    stream = io.StringIO()
    Masker(in_actions=False, stream=stream).register(TOKEN)
    assert stream.getvalue() == ""
    Masker(in_actions=True, stream=stream).register(TOKEN)
    assert stream.getvalue() == f"::add-mask::{TOKEN}\n"


def test_masker_masks_each_line_of_a_multi_line_value() -> None:
    stream = io.StringIO()
    Masker(in_actions=True, stream=stream).register("first-line-secret\nsecond-line-secret")
    lines = stream.getvalue().splitlines()
    assert "::add-mask::first-line-secret" in lines
    assert "::add-mask::second-line-secret" in lines
    assert "::add-mask::first-line-secret%0Asecond-line-secret" in lines


def test_logging_filter_redacts_messages_args_and_tracebacks() -> None:
    masker = Masker(in_actions=False)
    masker.register(TOKEN)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    install_redaction(masker, logger)
    try:
        logger.warning("token is %s", TOKEN)
        logger.warning(f"inline {TOKEN}")
        try:
            raise RuntimeError(f"boom {TOKEN}")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert TOKEN not in text
    assert text.count("***") == 3


def test_handlers_added_later_get_redacted_records_too() -> None:
    masker = Masker(in_actions=False)
    install_redaction(masker)
    masker.register(TOKEN)
    stream = io.StringIO()
    logger = logging.getLogger("test.redaction.later")
    logger.addHandler(logging.StreamHandler(stream))  # after install_redaction
    logger.propagate = False
    logger.error("leaked %s", TOKEN)
    logger.error("bad format %d", "not a number")  # must not raise into the caller
    assert TOKEN not in stream.getvalue()
    assert "leaked ***" in stream.getvalue()


# -- GitHub App JWTs --------------------------------------------------------------------


def test_app_jwt_is_rs256_with_short_life() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def sign(message: bytes) -> bytes:
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256())

    token = app_jwt("4242", sign, now)
    claims = jwt.decode(
        token, key.public_key(), algorithms=["RS256"], options={"verify_exp": False}
    )
    assert claims["iss"] == "4242"
    assert claims["iat"] == int(now.timestamp()) - 60
    assert 0 < claims["exp"] - int(now.timestamp()) <= 600
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT"}
    assert "=" not in token


def test_transit_signature_becomes_base64url() -> None:
    raw = bytes(range(256))
    signature = decode_transit_signature("vault:v1:" + base64.b64encode(raw).decode())
    assert signature == raw
    assert "+" not in b64url(raw)
    assert "/" not in b64url(raw)
    with pytest.raises(VaultError, match="vault:v<N>"):
        decode_transit_signature("v1:abc")


@pytest.mark.parametrize(
    "access",
    [
        Access(github_permissions={"contents": "write"}),  # every repository
        Access(github_repositories=("a",), github_permissions={"contents": "owner"}),
        Access(
            github_repositories=tuple(f"r{i}" for i in range(501)),
            github_permissions={"contents": "read"},
        ),
    ],
)
def test_requests_broader_than_allowed_are_refused(access: Access) -> None:
    with pytest.raises(CredentialScopeError):
        check_requestable(access)


def test_organisation_permissions_need_no_repository() -> None:
    check_requestable(Access(github_permissions={"members": "read"}))


def test_granted_more_than_asked_is_refused() -> None:
    access = Access(github_repositories=("a",), github_permissions={"contents": "read"})
    check_granted(access, {"contents": "read", "metadata": "read"}, [{"name": "a"}])
    with pytest.raises(CredentialScopeError):
        check_granted(access, {"contents": "write"}, [{"name": "a"}])
    with pytest.raises(CredentialScopeError):
        check_granted(access, {"contents": "read", "administration": "write"}, [{"name": "a"}])
    with pytest.raises(CredentialScopeError):
        check_granted(access, {"contents": "read"}, None)  # every repository


# -- settings and backends --------------------------------------------------------------


def test_settings_come_from_the_environment_once() -> None:
    settings = CredentialSettings.from_environ(
        {
            "ADMIN_REQUESTS_CREDENTIALS": "vault",
            "VAULT_ADDR": "https://vault.example/",
            "GITHUB_ACTIONS": "true",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": TOKEN,
            "ADMIN_DEV_ANACONDA_ORG_TOKEN": "x",
        }
    )
    assert settings.vault_addr == "https://vault.example"
    assert settings.running_in_actions
    assert settings.dev_values == {"anaconda_org_token": "x"}
    assert TOKEN not in repr(settings)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"ADMIN_REQUESTS_CREDENTIALS": "keychain"}, "not a credential backend"),
        ({"ANACONDA_TOKEN_MAX_AGE": "3600"}, "outside 60"),
    ],
)
def test_bad_settings_say_what_to_fix(values: dict[str, str], message: str) -> None:
    with pytest.raises(CredentialConfigError, match=message):
        CredentialSettings.from_environ(values)


def test_vault_and_aws_need_the_oidc_variables() -> None:
    for backend in ("vault", "aws"):
        settings = CredentialSettings(backend=backend)  # type: ignore[arg-type]
        with pytest.raises(CredentialConfigError, match="id-token: write"):
            build_backend(settings, Masker(in_actions=False), requests.Session())


def test_env_backend_refuses_to_run_in_actions() -> None:
    settings = CredentialSettings(backend="env", running_in_actions=True)
    with pytest.raises(EnvBackendRefused, match="GITHUB_ACTIONS='true'"):
        EnvBackend(settings, Masker(in_actions=True))


def test_env_backend_warns_loudly_and_signs_locally(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "app.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    settings = CredentialSettings(
        backend="env",
        dev_values={"anaconda_org_token": "dev-credential"},
        dev_github_app_key_file=str(pem),
    )
    backend = EnvBackend(settings, Masker(in_actions=False))
    backend.start(CredentialLedger())
    assert "for local development against fakes ONLY" in caplog.text
    assert backend.read_job_secret()["anaconda_org_token"].reveal() == "dev-credential"
    key.public_key().verify(backend.sign_rs256(b"m"), b"m", padding.PKCS1v15(), hashes.SHA256())


def test_env_backend_is_allowed_in_actions_only_for_tests() -> None:
    settings = CredentialSettings.from_environ(
        {
            "ADMIN_REQUESTS_CREDENTIALS": "env",
            "GITHUB_ACTIONS": "true",
            "ADMIN_REQUESTS_ALLOW_ENV_BACKEND": "test-only",
        }
    )
    EnvBackend(settings, Masker(in_actions=True))


# -- OIDC -------------------------------------------------------------------------------


def test_oidc_token_request_uses_audience_and_bearer() -> None:
    with FakeOidcIssuer() as issuer:
        url = issuer.actions_environ()["ACTIONS_ID_TOKEN_REQUEST_URL"]
        masker = Masker(in_actions=False)
        good = OidcRequester(url, Secret(issuer.request_token), requests.Session(), masker)
        token = good.id_token("https://vault.example")
        assert jwt.decode(token.reveal(), options={"verify_signature": False})["aud"] == (
            "https://vault.example"
        )
        assert masker.redact(token.reveal()) == "***"
        bad = OidcRequester(url, Secret("wrong-request-token"), requests.Session(), masker)
        with pytest.raises(OidcTokenError, match="id-token: write") as caught:
            bad.id_token("https://vault.example")
        assert "wrong-request-token" not in str(caught.value)
        assert "api-version" not in str(caught.value)  # no query string in errors


# -- minted tokens ----------------------------------------------------------------------


class CountedToken(MintedToken):
    """A token whose issuer is a counter: refuses while ``refuse`` is set."""

    ENDED = "ended the counted token for {label}"

    def __init__(self, ledger: CredentialLedger, masker: Masker) -> None:
        record = ledger.created("counted", "nothing", "r.yml", lifetime=timedelta(seconds=60))
        super().__init__(masker.register(TOKEN), record, ledger, masker)
        self.ends = 0
        self.refuse = False

    def _end(self) -> None:
        self.ends += 1
        if self.refuse:
            raise CredentialError(f"the issuer kept {TOKEN} for {self.record.label!r}")


def test_a_minted_token_revokes_itself_once_at_the_end_of_its_with() -> None:
    ledger = CredentialLedger()
    with CountedToken(ledger, Masker(in_actions=False)) as token:
        assert token.secret.reveal() == TOKEN
        assert ledger.outstanding() == [token.record]
    assert token.ends == 1
    assert token.revoked
    assert token.secret.cleared
    token.revoke()  # already revoked: the issuer is not asked again
    assert token.ends == 1
    assert ledger.outstanding() == []


def test_a_refused_revocation_raises_from_revoke_and_is_logged_redacted_by_close(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ledger = CredentialLedger()
    token = CountedToken(ledger, Masker(in_actions=False))
    token.refuse = True
    with pytest.raises(CredentialError, match="kept"):
        token.revoke()
    with token:
        pass  # close(): logged, not raised
    assert "the issuer kept *** for 'r.yml'" in caplog.text
    assert TOKEN not in caplog.text
    assert ledger.outstanding() == [token.record]
    assert not token.secret.cleared
