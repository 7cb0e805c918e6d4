"""deploy.vault on a real OpenBao dev server: the trust policy in vault/ against real JWTs,
``deploy.vault check`` and App key rotation.

Only the processing workflow of this repository, on main, in the production
environment, for push/schedule/workflow_dispatch, with our audience and a token signed
by the issuer's published key, may log in; and what it gets reads one secret and signs
with one key.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from admin_requests.credentials.redact import Masker, Secret
from admin_requests.credentials.vault import VaultClient, decode_transit_signature
from admin_requests.deploy import vault as vault_setup
from admin_requests.deploy.vault import (
    DEFAULT_TRUST_DIR,
    TrustParameters,
    VaultAdmin,
    apply,
    check,
    import_app_key,
    render_roles,
)
from admin_requests.errors import VaultError
from tests.fakes.github import generate_app_key
from tests.fakes.oidc import (
    PROCESS_WORKFLOW_REF,
    REFUSED,
    REFUSED_BY_THE_VAULT,
    REPOSITORY,
    REPOSITORY_ID,
    REPOSITORY_OWNER_ID,
    FakeOidcIssuer,
)
from tests.vault_trust import (
    ANACONDA_ORG_PASSWORD,
    ANACONDA_ORG_USERNAME,
    AUDIENCE,
    BaoServer,
    trust_parameters,
)

pytestmark = pytest.mark.vault

ROLE = "admin-requests-process"


# The vault tokens this module's logins bought, revoked after each test: the vault is the
# session's, and tests/cli/test_run.py counts the JWT logins' tokens still alive in it.
_BOUGHT: list[tuple[BaoServer, str]] = []


@pytest.fixture(autouse=True)
def _revoke_what_the_test_logged_in() -> Iterator[None]:
    yield
    while _BOUGHT:
        vault, accessor = _BOUGHT.pop()
        with contextlib.suppress(VaultError):  # the test revoked it itself
            vault.admin().call("POST", "auth/token/revoke-accessor", {"accessor": accessor})


def login(vault: BaoServer, token: str, role: str = ROLE, path: str = "login") -> requests.Response:
    response = requests.post(
        f"{vault.addr}/v1/auth/jwt/{path}", json={"role": role, "jwt": token}, timeout=10
    )
    if response.status_code == 200:
        _BOUGHT.append((vault, response.json()["auth"]["accessor"]))
    return response


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


VAULT_REFUSED = {**REFUSED, **REFUSED_BY_THE_VAULT}


@pytest.mark.parametrize("overrides", VAULT_REFUSED.values(), ids=VAULT_REFUSED.keys())
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


# Tokens out of their time by 25 s: more than the role's few seconds of leeway for clock
# skew, less than the 30 s it once allowed. Each differs from a fresh processing token in
# one time claim (the last also moves nbf, from which a token without exp would
# otherwise be counted); the argument is the time of minting.
OUT_OF_TIME: dict[str, Callable[[int], dict[str, Any]]] = {
    "expired 25 s ago": lambda now: {"exp": now - 25},
    "not valid for another 25 s": lambda now: {"nbf": now + 25},
    "issued 25 s in the future": lambda now: {"iat": now + 25},
    # OpenBao gives a token without exp expiration_leeway after its iat/nbf.
    "no exp, issued 25 s ago": lambda now: {"exp": None, "iat": now - 25, "nbf": now - 25},
}


@pytest.mark.parametrize("claims", OUT_OF_TIME.values(), ids=OUT_OF_TIME.keys())
def test_tokens_a_few_seconds_out_of_their_time_are_refused(
    trusted_vault: BaoServer,
    oidc_issuer: FakeOidcIssuer,
    claims: Callable[[int], dict[str, Any]],
) -> None:
    response = login(trusted_vault, oidc_issuer.mint(AUDIENCE, **claims(int(time.time()))))
    assert response.status_code == 400, response.text
    assert "error validating token" in response.text


def test_what_the_role_cannot_refuse_an_old_token_or_a_far_exp(
    trusted_vault: BaoServer, oidc_issuer: FakeOidcIssuer
) -> None:
    """OpenBao's JWT login compares exp, nbf and iat with now (hashicorp/cap's
    Validator, within clock_skew_leeway) and nothing more: no bound on a token's age or
    on how far ahead its exp lies. The role's max_age is for the OIDC browser flow (it
    becomes the authorisation request's max_age) and is not read by JWT login. So what
    bounds both is the signature: only GitHub's key can sign, and GitHub's tokens expire
    minutes after they are issued (docs/security.md, W11). If OpenBao ever refuses these
    tokens, this test fails and that page should say so.
    """
    now = int(time.time())
    admin = trusted_vault.admin()
    role = admin.call("GET", f"auth/jwt/role/{ROLE}")["data"]
    with_max_age = f"{ROLE}-with-max-age"
    admin.call("POST", f"auth/jwt/role/{with_max_age}", {**role, "max_age": 60})
    try:
        for overrides in (
            {"iat": now - 3600, "nbf": now - 3600},  # issued an hour ago, exp still ahead
            {"exp": now + 365 * 24 * 3600},  # valid for a year
        ):
            token = oidc_issuer.mint(AUDIENCE, **overrides)
            for role_name in (ROLE, with_max_age):
                response = login(trusted_vault, token, role=role_name)
                assert response.status_code == 200, (overrides, role_name, response.text)
    finally:
        admin.call("DELETE", f"auth/jwt/role/{with_max_age}")


# What a CEL role would add (docs/security.md, W11): an iat at most 5 minutes old and an
# exp at most 5 minutes (and a few seconds) after it. GitHub's tokens: exp = iat + 300.
CEL_AGE_BOUND = (
    "int(claims.iat) >= int(now) - 300 && int(claims.exp) - int(claims.iat) <= 310"
    " ? pb.Auth{policies: ['nothing']} : 'older than 5 minutes or valid for longer'"
)


def test_a_cel_role_could_refuse_what_the_jwt_role_cannot(
    trusted_vault: BaoServer, oidc_issuer: FakeOidcIssuer
) -> None:
    """OpenBao's CEL roles (auth/jwt/cel/role, OpenBao only) see the claims and the time,
    so the next step W11 names is possible: the tokens the test above must admit are
    refused here, and a fresh one is not."""
    admin = trusted_vault.admin()
    body = {
        "cel_program": {"expression": CEL_AGE_BOUND},
        "bound_audiences": [AUDIENCE],
        **{key: 5 for key in ("clock_skew_leeway", "expiration_leeway", "not_before_leeway")},
    }
    admin.call("POST", "auth/jwt/cel/role/age-bound", body)
    try:
        now = int(time.time())

        def cel_login(**overrides: Any) -> int:
            token = oidc_issuer.mint(AUDIENCE, **overrides)
            return login(trusted_vault, token, role="age-bound", path="cel/login").status_code

        assert cel_login() == 200
        assert cel_login(iat=now - 3600, nbf=now - 3600) == 400
        assert cel_login(exp=now + 365 * 24 * 3600) == 400
    finally:
        admin.call("DELETE", "auth/jwt/cel/role/age-bound")


def test_one_jwt_logs_in_as_often_as_it_is_sent_until_it_expires(
    trusted_vault: BaoServer, oidc_issuer: FakeOidcIssuer
) -> None:
    """OpenBao keeps no record of the jti it has seen: a JWT is a bearer credential for
    its whole life, and revoking the vault token it bought does not retire it. What
    bounds a replay is its exp (plus clock_skew_leeway, test above), its audience and
    claims (the tests above) and the job's masking (docs/security.md, S6)."""
    token = oidc_issuer.mint(AUDIENCE)
    jti = jwt.decode(token, options={"verify_signature": False})["jti"]
    logins = []
    for _ in range(3):
        response = login(trusted_vault, token)
        assert response.status_code == 200, response.text
        logins.append(response.json()["auth"])
        VaultClient(
            trusted_vault.addr, session=requests.Session(), masker=Masker(in_actions=False)
        ).revoke_self(Secret(logins[-1]["client_token"]))
    assert len({auth["client_token"] for auth in logins}) == 3
    assert jti not in json.dumps(logins)  # nothing of the JWT's identity is kept


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


def test_machine_account_is_what_was_stored(
    trusted_vault: BaoServer, oidc_issuer: FakeOidcIssuer
) -> None:
    token = Secret(process_token(trusted_vault, oidc_issuer)["client_token"])
    client = VaultClient(
        trusted_vault.addr, session=requests.Session(), masker=Masker(in_actions=False)
    )
    params = trust_parameters()
    entries = client.read_kv2(token, params.kv_mount, params.secret_path)
    assert entries["anaconda_org_username"].reveal() == ANACONDA_ORG_USERNAME
    assert entries["anaconda_org_password"].reveal() == ANACONDA_ORG_PASSWORD
    assert "anaconda_org_token" not in entries  # a password, not a token (docs/security.md)
    assert repr(entries).count("***") == 4


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


# -- deploy.vault check and App key rotation -----------------------------------------------
# They run on a copy of vault/ whose role and policy have their own names, so changing
# them here never touches the trust policy the other tests log in with.

NAME = "admin-requests-check"


@pytest.fixture
def trust_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "vault"
    shutil.copytree(DEFAULT_TRUST_DIR, copy)
    for path in [*copy.glob("roles/*.json"), *copy.glob("policies/*.hcl")]:
        text = path.read_text().replace("admin-requests-process", NAME)
        path.unlink()
        if "admin-requests-process" in path.name:  # the other roles are left out
            path.with_name(path.name.replace("admin-requests-process", NAME)).write_text(text)
    return copy


def params() -> TrustParameters:
    return TrustParameters(
        repository=REPOSITORY,
        repository_id=REPOSITORY_ID,
        repository_owner_id=REPOSITORY_OWNER_ID,
        audience=AUDIENCE,
        transit_key=NAME,
    )


def test_check_is_clean_after_apply_and_names_every_drift(
    bao_server: BaoServer, oidc_issuer_session: FakeOidcIssuer, trust_dir: Path
) -> None:
    admin = bao_server.admin()
    issuer = oidc_issuer_session.url
    missing = check(admin, params(), trust_dir=trust_dir, oidc_discovery_url=issuer)
    assert f"policy {NAME!r} does not exist" in missing
    assert f"role {NAME!r} does not exist" in missing

    apply(
        admin,
        params(),
        trust_dir=trust_dir,
        oidc_discovery_url=oidc_issuer_session.url,
        generate_app_key=True,
    )
    assert check(admin, params(), trust_dir=trust_dir, oidc_discovery_url=issuer) == []

    # Drift an operator could cause by hand: a longer token, pull requests admitted,
    # a policy that reads more.
    role = admin.call("GET", f"auth/jwt/role/{NAME}")["data"]
    role["token_ttl"] = 900
    role["bound_claims"]["event_name"].append("pull_request")
    admin.call("POST", f"auth/jwt/role/{NAME}", role)
    admin.call(
        "PUT", f"sys/policies/acl/{NAME}", {"policy": 'path "*" { capabilities = ["read"] }'}
    )
    found = check(admin, params(), trust_dir=trust_dir, oidc_discovery_url=issuer)
    assert f"role {NAME!r}: token_ttl is 900, the file says '10m'" in found
    assert any("bound_claims" in line and "pull_request" in line for line in found)
    assert f"policy {NAME!r} differs from the file" in found

    apply(admin, params(), trust_dir=trust_dir, oidc_discovery_url=issuer)
    assert check(admin, params(), trust_dir=trust_dir, oidc_discovery_url=issuer) == []
    # A vault that trusts another issuer admits tokens GitHub never minted.
    elsewhere = check(admin, params(), trust_dir=trust_dir)
    assert any("oidc_discovery_url is" in line for line in elsewhere)


def test_check_command_line_exit_codes(
    bao_server: BaoServer,
    oidc_issuer_session: FakeOidcIssuer,
    trust_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    common = [
        "--repository",
        REPOSITORY,
        "--repository-id",
        REPOSITORY_ID,
        "--repository-owner-id",
        REPOSITORY_OWNER_ID,
        "--audience",
        AUDIENCE,
        "--trust-dir",
        str(trust_dir),
        "--transit-key",
        NAME,
        "--addr",
        bao_server.addr,
        "--oidc-discovery-url",
        oidc_issuer_session.url,
    ]
    environ = {"VAULT_TOKEN": bao_server.root_token}
    apply(
        bao_server.admin(),
        params(),
        trust_dir=trust_dir,
        oidc_discovery_url=oidc_issuer_session.url,
        generate_app_key=True,
    )
    assert vault_setup.main(["check", *common], environ) == 0
    assert "the vault matches vault/" in capsys.readouterr().out
    bao_server.admin().call("DELETE", f"sys/policies/acl/{NAME}")
    assert vault_setup.main(["check", *common], environ) == 1
    assert f"policy {NAME!r} does not exist" in capsys.readouterr().out


def test_app_key_rotation_adds_a_version_that_signing_then_uses(
    bao_server: BaoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The runbook's rotation: import the new key as the next version; signing switches."""
    admin = bao_server.admin()
    name = "admin-requests-rotation"
    old, new = generate_app_key(), generate_app_key()
    import_app_key(admin, "transit", name, old[0])
    (tmp_path / "new.pem").write_bytes(new[0])
    argv = ["import-app-key", "--addr", bao_server.addr, "--transit-key", name, "--new-version"]
    argv += ["--pem", str(tmp_path / "new.pem")]
    assert vault_setup.main(argv, {"VAULT_TOKEN": bao_server.root_token}) == 0
    assert f"a new version of transit/keys/{name}" in capsys.readouterr().out
    key = admin.call("GET", f"transit/keys/{name}")["data"]
    assert key["latest_version"] == 2
    assert key["exportable"] is False

    message = b"header.claims"
    signed = admin.call(
        "POST",
        f"transit/sign/{name}/sha2-256",
        {
            "input": base64.b64encode(message).decode(),
            "signature_algorithm": "pkcs1v15",
        },
    )["data"]["signature"]
    signature = decode_transit_signature(signed)
    public = serialization.load_pem_public_key(new[1])
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())  # the new key signs


RESYNC_ROLE = "admin-requests-resync"
RESYNC_WORKFLOW = f"{REPOSITORY}/.github/workflows/repodata-resync.yml@refs/heads/main"


def test_the_resync_role_admits_only_its_workflow_and_cannot_read_the_job_secret(
    trusted_vault: BaoServer, oidc_issuer: FakeOidcIssuer
) -> None:
    resync = {
        "job_workflow_ref": RESYNC_WORKFLOW,
        "workflow_ref": RESYNC_WORKFLOW,
        "event_name": "schedule",
    }
    # The processing workflow's token is not the resync's, nor the other way round.
    assert login(trusted_vault, oidc_issuer.mint(AUDIENCE), RESYNC_ROLE).status_code in (400, 403)
    assert login(trusted_vault, oidc_issuer.mint(AUDIENCE, **resync)).status_code in (400, 403)
    push = oidc_issuer.mint(AUDIENCE, **{**resync, "event_name": "push"})
    assert login(trusted_vault, push, RESYNC_ROLE).status_code in (400, 403)  # weekly only
    response = login(trusted_vault, oidc_issuer.mint(AUDIENCE, **resync), RESYNC_ROLE)
    assert response.status_code == 200, response.text
    auth = response.json()["auth"]
    assert auth["token_policies"] == [RESYNC_ROLE]
    assert 0 < auth["lease_duration"] <= 300
    params = trust_parameters()
    token = auth["client_token"]
    # It signs App JWTs, and reads nothing: not the anaconda.org password beside the ids.
    assert call(trusted_vault, token, "GET", f"{params.kv_mount}/data/{params.secret_path}") == 403
    signed = call(
        trusted_vault,
        token,
        "POST",
        f"{params.transit_mount}/sign/{params.transit_key}/sha2-256",
        {"input": "aGVhZGVyLmNsYWltcw==", "signature_algorithm": "pkcs1v15"},
    )
    assert signed == 200


CREATE_ROLE = "admin-requests-create-feedstocks"
CREATE_WORKFLOW = f"{REPOSITORY}/.github/workflows/create-feedstocks.yml@refs/heads/main"


def test_the_creation_role_admits_only_its_workflow_and_may_only_sign(
    trusted_vault: BaoServer, oidc_issuer: FakeOidcIssuer
) -> None:
    create = {
        "job_workflow_ref": CREATE_WORKFLOW,
        "workflow_ref": CREATE_WORKFLOW,
        "event_name": "schedule",
    }
    refused = (400, 403)
    # Neither the processing nor the resync workflow's token, nor creation on a push.
    assert login(trusted_vault, oidc_issuer.mint(AUDIENCE), CREATE_ROLE).status_code in refused
    resync = {**create, "job_workflow_ref": RESYNC_WORKFLOW, "workflow_ref": RESYNC_WORKFLOW}
    assert login(trusted_vault, oidc_issuer.mint(AUDIENCE, **resync), CREATE_ROLE).status_code in (
        refused
    )
    push = oidc_issuer.mint(AUDIENCE, **{**create, "event_name": "push"})
    assert login(trusted_vault, push, CREATE_ROLE).status_code in refused
    # Creation's token gets neither of the other roles.
    for other in (ROLE, RESYNC_ROLE):
        token = oidc_issuer.mint(AUDIENCE, **create)
        assert login(trusted_vault, token, other).status_code in refused
    # Another branch, another environment, a self-hosted runner: refused.
    for claim, value in (
        ("ref", "refs/heads/feature"),
        ("environment", "staging"),
        ("runner_environment", "self-hosted"),
        ("job_workflow_ref", f"{REPOSITORY}/.github/workflows/create-feedstocks.yml@refs/heads/x"),
    ):
        token = oidc_issuer.mint(AUDIENCE, **{**create, claim: value})
        assert login(trusted_vault, token, CREATE_ROLE).status_code in refused, claim
    for event in ("schedule", "workflow_dispatch"):
        token = oidc_issuer.mint(AUDIENCE, **{**create, "event_name": event})
        response = login(trusted_vault, token, CREATE_ROLE)
        assert response.status_code == 200, response.text
    auth = response.json()["auth"]
    assert auth["token_policies"] == [CREATE_ROLE]
    assert 0 < auth["lease_duration"] <= 600
    params = trust_parameters()
    token = auth["client_token"]
    # It reads nothing: not the job secret (the anaconda.org password), not a listing,
    # and it may not touch the key or mint vault tokens of its own.
    for method, path in (
        ("GET", f"{params.kv_mount}/data/{params.secret_path}"),
        ("LIST", f"{params.kv_mount}/metadata/"),
        ("GET", f"{params.transit_mount}/keys/{params.transit_key}"),
        ("GET", f"{params.transit_mount}/export/signing-key/{params.transit_key}"),
        ("POST", f"{params.transit_mount}/keys/{params.transit_key}/rotate"),
        ("POST", "auth/token/create"),
        ("GET", "sys/policies/acl"),
    ):
        assert call(trusted_vault, token, method, path) == 403, (method, path)
    signed = call(
        trusted_vault,
        token,
        "POST",
        f"{params.transit_mount}/sign/{params.transit_key}/sha2-256",
        {"input": "aGVhZGVyLmNsYWltcw==", "signature_algorithm": "pkcs1v15"},
    )
    assert signed == 200
    assert call(trusted_vault, token, "POST", "auth/token/revoke-self") in (200, 204)
