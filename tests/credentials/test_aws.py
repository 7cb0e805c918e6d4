"""The aws backend against moto's server: STS, Secrets Manager and KMS as AWS answers them.

moto does not enforce trust: the trust policy in deploy/aws/ is checked against claims
in tests/deploy/test_aws_trust.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from moto.server import ThreadedMotoServer

from admin_requests.access import Access
from admin_requests.config import Settings
from admin_requests.credentials.factories import open_broker
from admin_requests.credentials.settings import CredentialSettings
from admin_requests.errors import AwsCredentialError
from tests.fakes.anaconda import FakeAnaconda
from tests.fakes.github import FakeGitHub
from tests.fakes.oidc import FakeOidcIssuer

ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/admin-requests-process"
ORG_USERNAME = "aws-held-machine-account"
ORG_PASSWORD = "aws-held-org-password-" + "Zq8" * 8


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def aws_client(service: str, url: str) -> Any:
    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="operator",
        aws_secret_access_key="operator",
    )


@pytest.fixture
def issuer() -> Iterator[FakeOidcIssuer]:
    with FakeOidcIssuer() as fake:
        yield fake


# -- the backend against moto -----------------------------------------------------------


def test_aws_backend_run_uses_a_900_second_session(
    moto_url: str, issuer: FakeOidcIssuer, fake_github: FakeGitHub, fake_anaconda: FakeAnaconda
) -> None:
    kms = aws_client("kms", moto_url)
    key_id = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    public_der = kms.get_public_key(KeyId=key_id)["PublicKey"]
    public_pem = serialization.load_der_public_key(public_der).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    aws_client("secretsmanager", moto_url).create_secret(
        Name="admin-requests/process",
        SecretString=json.dumps(
            {
                "anaconda_org_username": ORG_USERNAME,
                "anaconda_org_password": ORG_PASSWORD,
                "github_app_id": "4242",
                "github_installation_id": "77",
            }
        ),
    )
    fake_github.configure_app(4242, public_key_pem=public_pem, installation_id=77)
    fake_github.add_repo("foo-feedstock")
    fake_anaconda.add_account(ORG_USERNAME, ORG_PASSWORD, organisations=["conda-forge"])
    settings = CredentialSettings(
        backend="aws",
        oidc_request_url=issuer.actions_environ()["ACTIONS_ID_TOKEN_REQUEST_URL"],
        oidc_request_token=issuer.request_token,
        aws_role_arn=ROLE_ARN,
        aws_secret_id="admin-requests/process",
        aws_kms_key_id=key_id,
        aws_sts_endpoint_url=moto_url,
        aws_secretsmanager_endpoint_url=moto_url,
        aws_kms_endpoint_url=moto_url,
    )
    access = Access(
        github_repositories=("foo-feedstock",),
        github_permissions={"administration": "write"},
        anaconda_scopes=("api:write",),
    )
    broker = open_broker(
        Settings(github_api_url=fake_github.url, anaconda_api_url=fake_anaconda.url), settings
    )
    with broker, broker.request_credentials(access, label="r.yml") as creds:
        assert creds.github_token is not None
        assert creds.anaconda_token is not None
    assert issuer.requests[-1]["audience"] == "sts.amazonaws.com"
    session = next(r for r in broker.ledger.records if r.kind == "aws-session")
    assert session.max_lifetime_seconds == 900
    assert not session.revocable
    assert broker.ledger.outstanding() == []
    assert fake_github.effects["revoke_token"] == 1
    assert fake_anaconda.effects["remove_token"] == 1


def test_aws_errors_name_the_secret_not_the_service_message(
    moto_url: str, issuer: FakeOidcIssuer
) -> None:
    settings = CredentialSettings(
        backend="aws",
        oidc_request_url=issuer.actions_environ()["ACTIONS_ID_TOKEN_REQUEST_URL"],
        oidc_request_token=issuer.request_token,
        aws_role_arn=ROLE_ARN,
        aws_secret_id="does-not-exist",
        aws_sts_endpoint_url=moto_url,
        aws_secretsmanager_endpoint_url=moto_url,
    )
    broker = open_broker(Settings(), settings)
    with pytest.raises(AwsCredentialError, match=r"'does-not-exist' \(ResourceNotFound"):
        broker.start()
    broker.close()
