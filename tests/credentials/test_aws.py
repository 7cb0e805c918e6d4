"""The aws backend against moto's server, and the IAM trust policy against claims.

moto answers STS, Secrets Manager and KMS like AWS but does not enforce trust, so the
trust policy in deploy/aws/ is checked with ``aws_trust.trust_allows`` on the claims
the fake issuer mints, including the claims GitHub would put in a customised ``sub``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from moto.server import ThreadedMotoServer

from admin_requests.access import Access
from admin_requests.config import Settings
from admin_requests.credentials.factories import open_broker
from admin_requests.credentials.settings import CredentialSettings
from admin_requests.deploy.aws_trust import github_subject, render_policy, trust_allows
from admin_requests.errors import AwsCredentialError
from tests.fakes.anaconda import FakeAnaconda
from tests.fakes.github import FakeGitHub
from tests.fakes.oidc import REPOSITORY, REPOSITORY_ID, REPOSITORY_OWNER_ID, FakeOidcIssuer

from .test_vault_trust import REFUSED

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "aws"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/admin-requests-process"
ORG_CREDENTIAL = "aws-held-org-credential-" + "Zq8" * 8


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


# -- trust policy -----------------------------------------------------------------------


def trust_policy() -> dict[str, Any]:
    return render_policy(
        DEPLOY / "trust-policy.json",
        {
            "AWS_ACCOUNT_ID": ACCOUNT,
            "REPOSITORY": REPOSITORY,
            "REPOSITORY_ID": REPOSITORY_ID,
            "REPOSITORY_OWNER_ID": REPOSITORY_OWNER_ID,
        },
    )


def aws_claims(issuer: FakeOidcIssuer, **overrides: Any) -> dict[str, Any]:
    """What the token would say with the customised sub template applied."""
    claims = jwt.decode(
        issuer.mint("sts.amazonaws.com", **overrides), options={"verify_signature": False}
    )
    template = json.loads((DEPLOY / "oidc-subject-claim.json").read_text())
    claims["sub"] = github_subject(claims, template["include_claim_keys"])
    return claims


@pytest.fixture
def issuer() -> Iterator[FakeOidcIssuer]:
    with FakeOidcIssuer() as fake:
        yield fake


@pytest.mark.parametrize("event", ["push", "schedule", "workflow_dispatch"])
def test_trust_policy_admits_the_processing_workflow(issuer: FakeOidcIssuer, event: str) -> None:
    assert trust_allows(trust_policy(), aws_claims(issuer, event_name=event))


AWS_REFUSED = {
    key: value
    for key, value in REFUSED.items()
    # The sub template has no 'ref' (the workflow ref pins the branch), and GitHub
    # builds sub from the template, so a test that only rewrites sub means nothing here.
    if key not in ("another branch, same workflow ref", "a fork's subject")
}


@pytest.mark.parametrize("overrides", AWS_REFUSED.values(), ids=AWS_REFUSED.keys())
def test_trust_policy_refuses_other_tokens(
    issuer: FakeOidcIssuer, overrides: dict[str, Any]
) -> None:
    assert not trust_allows(trust_policy(), aws_claims(issuer, **overrides))


def test_trust_policy_refuses_the_default_subject_and_other_audiences(
    issuer: FakeOidcIssuer,
) -> None:
    claims = aws_claims(issuer)
    default_sub = {**claims, "sub": f"repo:{REPOSITORY}:environment:production"}
    assert not trust_allows(trust_policy(), default_sub)
    claims["aud"] = "https://github.com/conda-forge"
    assert not trust_allows(trust_policy(), claims)


def test_conditions_on_custom_claims_never_match_on_aws(issuer: FakeOidcIssuer) -> None:
    """Why the policy pins repository_id through sub: IAM has no key for the claim."""
    naive = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {
                    "Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/"
                    "token.actions.githubusercontent.com"
                },
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                        "token.actions.githubusercontent.com:repository_id": REPOSITORY_ID,
                    }
                },
            }
        ]
    }
    assert not trust_allows(naive, aws_claims(issuer))


def test_permissions_policy_grants_only_the_secret_and_signing() -> None:
    policy = render_policy(
        DEPLOY / "permissions-policy.json",
        {"AWS_REGION": "us-east-1", "AWS_ACCOUNT_ID": ACCOUNT, "KMS_KEY_ID": "k"},
    )
    actions = sorted(a for s in policy["Statement"] for a in [s["Action"]])
    assert actions == ["kms:Sign", "secretsmanager:GetSecretValue"]
    assert all("*" not in s["Resource"] for s in policy["Statement"])


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
                "anaconda_org_token": ORG_CREDENTIAL,
                "github_app_id": "4242",
                "github_installation_id": "77",
            }
        ),
    )
    fake_github.configure_app(4242, public_key_pem=public_pem, installation_id=77)
    fake_github.add_repo("foo-feedstock")
    fake_anaconda.add_token(ORG_CREDENTIAL, scopes=["all"])
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
