"""GitHub App tokens (credentials/github_app.py): the App's JWT, and the scope checks before
and after minting."""

from __future__ import annotations

from datetime import UTC, datetime

import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from admin_requests.access import Access
from admin_requests.credentials.github_app import app_jwt, check_granted, check_requestable
from admin_requests.errors import (
    CredentialScopeError,
)


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
