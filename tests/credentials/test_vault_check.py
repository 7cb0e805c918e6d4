"""``deploy.vault check`` and App key rotation, on OpenBao's dev server.

It runs on a copy of vault/ whose role and policy have their own names, so changing
them here never touches the trust policy the other tests log in with.
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from admin_requests.credentials.vault import decode_transit_signature
from admin_requests.deploy import vault as vault_setup
from admin_requests.deploy.vault import (
    DEFAULT_TRUST_DIR,
    TrustParameters,
    apply,
    check,
    import_app_key,
)
from tests.fakes.github import generate_app_key
from tests.fakes.oidc import REPOSITORY, REPOSITORY_ID, REPOSITORY_OWNER_ID, FakeOidcIssuer
from tests.vault_trust import AUDIENCE, BaoServer

pytestmark = pytest.mark.vault

NAME = "admin-requests-check"


@pytest.fixture
def trust_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "vault"
    shutil.copytree(DEFAULT_TRUST_DIR, copy)
    for path in [*copy.glob("roles/*.json"), *copy.glob("policies/*.hcl")]:
        text = path.read_text().replace("admin-requests-process", NAME)
        path.unlink()
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
