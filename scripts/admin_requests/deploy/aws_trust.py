"""Evaluate the IAM role trust policy in deploy/aws/ against GitHub OIDC claims.

moto does not enforce trust policies, so this is how the tests (and anyone reviewing a
change to deploy/aws/) check which tokens could assume the role. It models the parts of
IAM that matter here: Allow statements for ``sts:AssumeRoleWithWebIdentity`` from the
GitHub OIDC provider, ``StringEquals``/``StringLike`` conditions, and AWS's rule that
only some claims of a federated token become condition keys (``aud``, ``sub``...), so a
condition on any other claim (``repository_id``, ``job_workflow_ref``) can never match.
That is why the trust policy pins those claims through GitHub's customised ``sub``
(deploy/aws/oidc-subject-claim.json) instead.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from string import Template
from typing import Any

PROVIDER = "token.actions.githubusercontent.com"
ACTION = "sts:AssumeRoleWithWebIdentity"
# The claims of a web-identity token that IAM exposes as condition keys.
AWS_CONDITION_CLAIMS = frozenset({"aud", "sub", "amr", "azp", "oaud", "email"})


def github_subject(claims: Mapping[str, Any], include_claim_keys: Sequence[str]) -> str:
    """The ``sub`` GitHub issues under a customised template (``key:value`` pairs)."""
    # A claim the token lacks (no environment) is modelled as empty: it matches nothing.
    parts = [f"{key}:{claims.get(key, '')}" for key in include_claim_keys]
    return ":".join(parts)


def render_policy(path: Path, values: Mapping[str, str]) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads(
        Template(path.read_text(encoding="utf-8")).substitute(values)
    )
    return policy


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _condition_holds(operator: str, key: str, expected: Any, claims: Mapping[str, Any]) -> bool:
    provider, _, claim = key.partition(":")
    if provider != PROVIDER or claim not in AWS_CONDITION_CLAIMS or claim not in claims:
        return False  # IAM has no such key in the request context: the test fails
    actual = str(claims[claim])
    if operator == "StringEquals":
        return actual in _as_list(expected)
    if operator == "StringLike":
        return any(fnmatch.fnmatchcase(actual, pattern) for pattern in _as_list(expected))
    raise ValueError(f"condition operator {operator!r} is not modelled; use StringEquals")


def _statement_allows(statement: Mapping[str, Any], claims: Mapping[str, Any]) -> bool:
    if statement.get("Effect") != "Allow" or ACTION not in _as_list(statement.get("Action")):
        return False
    federated = _as_list((statement.get("Principal") or {}).get("Federated", []))
    if not any(arn.endswith(f":oidc-provider/{PROVIDER}") for arn in federated):
        return False
    conditions: Mapping[str, Mapping[str, Any]] = statement.get("Condition") or {}
    if not conditions:
        return False  # refuse to call a policy with no conditions "allowed": it trusts all
    return all(
        _condition_holds(operator, key, expected, claims)
        for operator, pairs in conditions.items()
        for key, expected in pairs.items()
    )


def trust_allows(policy: Mapping[str, Any], claims: Mapping[str, Any]) -> bool:
    """Would IAM let a token with ``claims`` assume a role with this trust policy?"""
    statements = policy.get("Statement") or []
    if any(s.get("Effect") == "Deny" and ACTION in _as_list(s.get("Action")) for s in statements):
        raise ValueError("Deny statements are not modelled; express trust as Allow conditions")
    return any(_statement_allows(statement, claims) for statement in statements)
