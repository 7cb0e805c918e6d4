"""The IAM trust and permissions policies in deploy/aws/ (deploy/aws_trust.py), checked with
aws_trust.trust_allows on the claims the fake issuer mints, including the claims GitHub
would put in a customised sub (moto does not enforce trust; the aws backend against moto is
tests/credentials/test_aws.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from admin_requests.deploy.aws_trust import github_subject, render_policy, trust_allows
from tests.fakes.oidc import REFUSED, REPOSITORY, REPOSITORY_ID, REPOSITORY_OWNER_ID, FakeOidcIssuer

ACCOUNT = "123456789012"


DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "aws"


@pytest.fixture
def issuer() -> Iterator[FakeOidcIssuer]:
    with FakeOidcIssuer() as fake:
        yield fake


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
