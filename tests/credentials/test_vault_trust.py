"""The trust policy in vault/, applied to a real OpenBao dev server, against real JWTs.

Only the processing workflow of this repository, on main, in the production
environment, for push/schedule/workflow_dispatch, with our audience and a token signed
by the issuer's published key, may log in; and what it gets reads one secret and signs
with one key.
"""

from __future__ import annotations

import base64
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from admin_requests.credentials.redact import Masker, Secret
from admin_requests.credentials.vault import VaultClient, decode_transit_signature
from admin_requests.deploy.vault import (
    DEFAULT_TRUST_DIR,
    TrustParameters,
    VaultAdmin,
    apply,
    import_app_key,
    render_roles,
)
from admin_requests.errors import VaultError
from tests.fakes.oidc import PROCESS_WORKFLOW_REF, REPOSITORY, FakeOidcIssuer
from tests.vault_trust import ANACONDA_ORG_CREDENTIAL, AUDIENCE, BaoServer, trust_parameters

pytestmark = pytest.mark.vault

ROLE = "admin-requests-process"


def login(vault: BaoServer, token: str, role: str = ROLE) -> requests.Response:
    return requests.post(
        f"{vault.addr}/v1/auth/jwt/login", json={"role": role, "jwt": token}, timeout=10
    )


def call(vault: BaoServer, token: str, method: str, path: str, body: Any = None) -> int:
    response = requests.request(
        method,
        f"{vault.addr}/v1/{path}",
        headers={"X-Vault-Token": token},
        json=body,
        timeout=10,
    )
    return response.status_code


def process_token(vault: BaoServer, issuer: FakeOidcIssuer) -> dict[str, Any]:
    response = login(vault, issuer.mint(AUDIENCE))
    assert response.status_code == 200, response.text
    auth: dict[str, Any] = response.json()["auth"]
    return auth


def test_processing_workflow_logs_in_with_a_short_narrow_token(
    trusted_vault: BaoServer, oidc_issuer: FakeOidcIssuer
) -> None:
    auth = process_token(trusted_vault, oidc_issuer)
    assert auth["token_policies"] == [ROLE]  # and not 'default'
    assert 0 < auth["lease_duration"] <= 600
    assert auth["metadata"]["repository"] == REPOSITORY


@pytest.mark.parametrize("event", ["push", "schedule", "workflow_dispatch"])
def test_each_processing_trigger_is_accepted(
    trusted_vault: BaoServer, oidc_issuer: FakeOidcIssuer, event: str
) -> None:
    assert login(trusted_vault, oidc_issuer.mint(AUDIENCE, event_name=event)).status_code == 200


OTHER_WORKFLOW = PROCESS_WORKFLOW_REF.replace("process.yml", "check.yml")
OTHER_BRANCH = PROCESS_WORKFLOW_REF.replace("refs/heads/main", "refs/heads/evil")

REFUSED: dict[str, dict[str, Any]] = {
    "pull_request event": {"event_name": "pull_request"},
    "pull_request_target event": {"event_name": "pull_request_target"},
    "another workflow": {"job_workflow_ref": OTHER_WORKFLOW, "workflow_ref": OTHER_WORKFLOW},
    "another branch": {
        "job_workflow_ref": OTHER_BRANCH,
        "workflow_ref": OTHER_BRANCH,
        "ref": "refs/heads/evil",
    },
    "another branch, same workflow ref": {"ref": "refs/heads/evil"},
    "a pull request merge ref": {"ref": "refs/pull/1/merge", "event_name": "pull_request"},
    "another repository id (renamed/recreated repo)": {"repository_id": "999"},
    "another owner id": {"repository_owner_id": "999"},
    "a fork's subject": {"sub": "repo:attacker/admin-requests:environment:production"},
    "no environment": {"environment": None, "sub": f"repo:{REPOSITORY}:ref:refs/heads/main"},
    "another environment": {
        "environment": "staging",
        "sub": f"repo:{REPOSITORY}:environment:staging",
    },
    "a reusable workflow calling from elsewhere": {
        "job_workflow_ref": "attacker/tools/.github/workflows/process.yml@refs/heads/main"
    },
}


@pytest.mark.parametrize("overrides", REFUSED.values(), ids=REFUSED.keys())
def test_tokens_outside_the_trust_policy_are_refused(
    trusted_vault: BaoServer, oidc_issuer: FakeOidcIssuer, overrides: dict[str, Any]
) -> None:
    response = login(trusted_vault, oidc_issuer.mint(AUDIENCE, **overrides))
    assert response.status_code in (400, 403), response.text
    assert "auth" not in response.json() or response.json()["auth"] is None


def test_wrong_audience_is_refused(trusted_vault: BaoServer, oidc_issuer: FakeOidcIssuer) -> None:
    for audience in ("https://github.com/conda-forge", "sts.amazonaws.com"):
        assert login(trusted_vault, oidc_issuer.mint(audience)).status_code in (400, 403)


def test_expired_token_is_refused(trusted_vault: BaoServer, oidc_issuer: FakeOidcIssuer) -> None:
    oidc_issuer.lifetime = -120
    assert login(trusted_vault, oidc_issuer.mint(AUDIENCE)).status_code in (400, 403)


def test_token_signed_by_another_key_is_refused(
    trusted_vault: BaoServer, oidc_issuer: FakeOidcIssuer
) -> None:
    oidc_issuer.rogue_signer = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert login(trusted_vault, oidc_issuer.mint(AUDIENCE)).status_code in (400, 403)


def test_token_from_another_issuer_is_refused(
    trusted_vault: BaoServer, oidc_issuer: FakeOidcIssuer
) -> None:
    token = oidc_issuer.mint(AUDIENCE, iss="https://token.actions.githubusercontent.com")
    assert login(trusted_vault, token).status_code in (400, 403)


def test_unsigned_token_is_refused(trusted_vault: BaoServer, oidc_issuer: FakeOidcIssuer) -> None:
    claims = jwt.decode(oidc_issuer.mint(AUDIENCE), options={"verify_signature": False})
    unsigned = jwt.encode(claims, key="", algorithm="none")
    assert login(trusted_vault, unsigned).status_code in (400, 403)


def test_token_reads_exactly_its_secret(
    trusted_vault: BaoServer, oidc_issuer: FakeOidcIssuer
) -> None:
    token = process_token(trusted_vault, oidc_issuer)["client_token"]
    params = trust_parameters()
    kv = params.kv_mount
    assert call(trusted_vault, token, "GET", f"{kv}/data/{params.secret_path}") == 200
    refused = [
        ("GET", f"{kv}/data/other-workflow"),
        ("GET", f"{kv}/metadata/{params.secret_path}"),
        ("LIST", f"{kv}/metadata"),
        ("POST", f"{kv}/data/{params.secret_path}"),
        ("DELETE", f"{kv}/data/{params.secret_path}"),
        ("GET", "secret/data/anything"),
        ("GET", f"transit/keys/{params.transit_key}"),
        ("GET", f"transit/export/signing-key/{params.transit_key}"),
        ("POST", f"transit/keys/{params.transit_key}/rotate"),
        ("POST", f"transit/keys/{params.transit_key}/config"),
        ("POST", "transit/sign/another-key"),
        ("POST", f"transit/encrypt/{params.transit_key}"),
        ("GET", "sys/mounts"),
        ("GET", "sys/policies/acl"),
        ("POST", "auth/token/create"),
        ("POST", f"auth/jwt/role/{ROLE}"),
    ]
    for method, path in refused:
        body = {"data": {"x": "y"}} if method == "POST" else None
        assert call(trusted_vault, token, method, path, body) == 403, (method, path)


def test_token_can_sign_with_the_app_key_only_as_rs256(
    trusted_vault: BaoServer, oidc_issuer: FakeOidcIssuer
) -> None:
    token = Secret(process_token(trusted_vault, oidc_issuer)["client_token"])
    client = VaultClient(
        trusted_vault.addr, session=requests.Session(), masker=Masker(in_actions=False)
    )
    params = trust_parameters()
    message = b"header.claims"
    signature = client.sign_pkcs1v15_sha256(
        token, params.transit_mount, params.transit_key, message
    )
    public_pem = trusted_vault.admin().transit_public_key(params.transit_mount, params.transit_key)
    public = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())


def test_revoke_self_ends_the_token(trusted_vault: BaoServer, oidc_issuer: FakeOidcIssuer) -> None:
    raw = process_token(trusted_vault, oidc_issuer)["client_token"]
    client = VaultClient(
        trusted_vault.addr, session=requests.Session(), masker=Masker(in_actions=False)
    )
    client.revoke_self(Secret(raw))
    params = trust_parameters()
    assert call(trusted_vault, raw, "GET", f"{params.kv_mount}/data/{params.secret_path}") == 403
    with pytest.raises(VaultError, match="403"):
        client.read_kv2(Secret(raw), params.kv_mount, params.secret_path)


def test_vault_errors_name_the_claim_but_never_the_token(
    trusted_vault: BaoServer, oidc_issuer: FakeOidcIssuer
) -> None:
    masker = Masker(in_actions=False)
    client = VaultClient(trusted_vault.addr, session=requests.Session(), masker=masker)
    bad = masker.register(oidc_issuer.mint(AUDIENCE, event_name="pull_request"))
    with pytest.raises(VaultError) as caught:
        client.login_jwt("jwt", ROLE, bad)
    assert "event_name" in str(caught.value)
    assert bad.reveal() not in str(caught.value)


def test_apply_is_idempotent_and_renders_every_placeholder(
    trusted_vault: BaoServer, oidc_issuer: FakeOidcIssuer
) -> None:
    params = trust_parameters()
    apply(trusted_vault.admin(), params, oidc_discovery_url=oidc_issuer.url, generate_app_key=True)
    for role in render_roles(DEFAULT_TRUST_DIR, params):
        assert "${" not in role.policy_hcl
        assert "${" not in str(role.role)
    process_token(trusted_vault, oidc_issuer)


def test_imported_app_key_signs_jwts_github_verifies(
    bao_server: BaoServer, oidc_issuer: FakeOidcIssuer
) -> None:
    """A real App key (GitHub generates them) goes into transit and never comes out."""
    admin = VaultAdmin(bao_server.addr, bao_server.root_token)
    params = TrustParameters(
        repository=REPOSITORY,
        repository_id="612345678",
        repository_owner_id="11897326",
        audience=AUDIENCE,
        transit_key="imported-app-key",
    )
    apply(admin, params, oidc_discovery_url=oidc_issuer.url)
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    import_app_key(admin, "transit", "imported-app-key", pem)
    signature = admin.call(
        "POST",
        "transit/sign/imported-app-key",
        {
            "input": base64.b64encode(b"abc").decode(),
            "hash_algorithm": "sha2-256",
            "signature_algorithm": "pkcs1v15",
        },
    )["data"]["signature"]
    private.public_key().verify(
        decode_transit_signature(signature), b"abc", padding.PKCS1v15(), hashes.SHA256()
    )
    # Not exportable, even for the admin.
    with pytest.raises(VaultError):
        admin.call("GET", "transit/export/signing-key/imported-app-key")
    # Restore the shared trust policy for the other tests in this session.
    apply(admin, trust_parameters(), oidc_discovery_url=oidc_issuer.url)


def test_org_credential_is_what_was_stored(
    trusted_vault: BaoServer, oidc_issuer: FakeOidcIssuer
) -> None:
    token = Secret(process_token(trusted_vault, oidc_issuer)["client_token"])
    client = VaultClient(
        trusted_vault.addr, session=requests.Session(), masker=Masker(in_actions=False)
    )
    params = trust_parameters()
    entries = client.read_kv2(token, params.kv_mount, params.secret_path)
    assert entries["anaconda_org_token"].reveal() == ANACONDA_ORG_CREDENTIAL
    assert repr(entries).count("***") == 3


def test_command_line_apply_and_render(
    trusted_vault: BaoServer, oidc_issuer: FakeOidcIssuer, capsys: pytest.CaptureFixture[str]
) -> None:
    from admin_requests.deploy import vault as vault_setup

    params = trust_parameters()
    common = [
        "--repository", params.repository,
        "--repository-id", params.repository_id,
        "--repository-owner-id", params.repository_owner_id,
        "--audience", params.audience,
    ]  # fmt: skip
    assert vault_setup.main(["render", *common], {}) == 0
    rendered = capsys.readouterr().out
    assert f'"{PROCESS_WORKFLOW_REF}"' in rendered
    assert 'path "admin-requests/data/process"' in rendered
    environ = {"VAULT_TOKEN": trusted_vault.root_token}
    argv = ["apply", *common, "--addr", trusted_vault.addr, "--oidc-discovery-url", oidc_issuer.url]
    assert vault_setup.main(argv, environ) == 0
    process_token(trusted_vault, oidc_issuer)


def test_repository_ids_must_be_numeric() -> None:
    from admin_requests.errors import CredentialConfigError

    with pytest.raises(CredentialConfigError, match="numeric id"):
        TrustParameters(REPOSITORY, "conda-forge/admin-requests", "1", AUDIENCE)
