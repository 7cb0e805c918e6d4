"""Apply the trust policy in ``vault/`` to an OpenBao/Vault server.

    python -m admin_requests.deploy.vault render --repository ORG/admin-requests ...
    python -m admin_requests.deploy.vault apply --addr https://vault.example \\
        --repository ORG/admin-requests --repository-id 123 --repository-owner-id 456 \\
        --audience https://vault.example --oidc-discovery-url \\
        https://token.actions.githubusercontent.com
    python -m admin_requests.deploy.vault check --repository ORG/admin-requests ...
    python -m admin_requests.deploy.vault import-app-key --addr ... --pem app.pem

The admin token comes from ``VAULT_TOKEN`` (an operator's, never a workflow's). Applying
is idempotent: mounts that exist are kept, the policy and role are overwritten with
what the files say, so the files are the single source of truth.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from admin_requests.errors import CredentialConfigError, VaultError

log = logging.getLogger(__name__)

DEFAULT_TRUST_DIR = Path(__file__).resolve().parents[3] / "vault"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600}


@dataclass(frozen=True)
class TrustParameters:
    repository: str  # owner/name
    repository_id: str
    repository_owner_id: str
    audience: str
    kv_mount: str = "admin-requests"
    secret_path: str = "process"  # noqa: S105 (a path, not a value)
    transit_mount: str = "transit"
    transit_key: str = "admin-requests-github-app"
    auth_mount: str = "jwt"

    def __post_init__(self) -> None:
        owner, _, name = self.repository.partition("/")
        if not owner or not name or "/" in name:
            raise CredentialConfigError(f"--repository {self.repository!r} must be 'owner/name'")
        for label, value in (
            ("--repository-id", self.repository_id),
            ("--repository-owner-id", self.repository_owner_id),
        ):
            if not value.isdigit():
                raise CredentialConfigError(
                    f"{label} {value!r} must be the numeric id (gh api repos/OWNER/NAME "
                    "--jq .id / .owner.id): names can be re-registered, ids cannot"
                )
        if not self.audience:
            raise CredentialConfigError("--audience must not be empty")

    def substitutions(self) -> dict[str, str]:
        return {
            "repository": self.repository,
            "repository_id": self.repository_id,
            "repository_owner_id": self.repository_owner_id,
            "audience": self.audience,
            "kv_mount": self.kv_mount,
            "secret_path": self.secret_path,
            "transit_mount": self.transit_mount,
            "transit_key": self.transit_key,
        }


@dataclass(frozen=True)
class RenderedRole:
    name: str
    policy_name: str
    policy_hcl: str
    role: dict[str, Any]


def _render(value: Any, substitutions: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return Template(value).substitute(substitutions)
    if isinstance(value, list):
        return [_render(v, substitutions) for v in value]
    if isinstance(value, dict):
        return {k: _render(v, substitutions) for k, v in value.items()}
    return value


def render_roles(trust_dir: Path, params: TrustParameters) -> list[RenderedRole]:
    subs = params.substitutions()
    rendered = []
    for path in sorted((trust_dir / "roles").glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        policy_name = spec["policy"]
        policy_file = trust_dir / "policies" / f"{policy_name}.hcl"
        rendered.append(
            RenderedRole(
                name=path.stem,
                policy_name=policy_name,
                policy_hcl=Template(policy_file.read_text(encoding="utf-8")).substitute(subs),
                role=_render(spec["role"], subs),
            )
        )
    if not rendered:
        raise CredentialConfigError(f"no roles in {str(trust_dir / 'roles')!r}")
    return rendered


class VaultAdmin:
    """The operator's side: mounts, policies, roles, keys (needs an admin token)."""

    def __init__(self, addr: str, token: str, *, timeout: float = 30.0) -> None:
        self.addr = addr.rstrip("/")
        self._session = requests.Session()
        self._session.headers["X-Vault-Token"] = token
        self._timeout = timeout

    def call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = self._session.request(
            method, f"{self.addr}/v1/{path}", json=body, timeout=self._timeout
        )
        if response.status_code == 204:
            return {}
        if response.status_code != 200:
            try:
                errors = response.json().get("errors", [])
            except ValueError:
                errors = []
            raise VaultError(
                f"{method} /v1/{path} -> {response.status_code}: {'; '.join(map(str, errors))}"
                "; check that VAULT_TOKEN is an admin token for this server"
            )
        result: dict[str, Any] = response.json()
        return result

    def _mounts(self, kind: str) -> dict[str, Any]:
        data = self.call("GET", "sys/auth" if kind == "auth" else "sys/mounts")
        mounts: dict[str, Any] = data.get("data", data)
        return mounts

    def enable_auth(self, path: str, auth_type: str) -> None:
        if f"{path}/" not in self._mounts("auth"):
            self.call("POST", f"sys/auth/{path}", {"type": auth_type})

    def enable_engine(self, path: str, engine: str, options: Mapping[str, str] | None) -> None:
        if f"{path}/" not in self._mounts("engine"):
            body: dict[str, Any] = {"type": engine}
            if options:
                body["options"] = dict(options)
            self.call("POST", f"sys/mounts/{path}", body)

    def transit_key_exists(self, mount: str, name: str) -> bool:
        try:
            self.call("GET", f"{mount}/keys/{name}")
        except VaultError:
            return False
        return True

    def transit_public_key(self, mount: str, name: str) -> str:
        keys = self.call("GET", f"{mount}/keys/{name}")["data"]["keys"]
        latest = keys[str(max(int(v) for v in keys))]
        return str(latest["public_key"])


def apply(
    admin: VaultAdmin,
    params: TrustParameters,
    *,
    trust_dir: Path = DEFAULT_TRUST_DIR,
    oidc_discovery_url: str = "",
    jwks_url: str = "",
    bound_issuer: str = "",
    generate_app_key: bool = False,
) -> list[RenderedRole]:
    if bool(oidc_discovery_url) == bool(jwks_url):
        raise CredentialConfigError(
            "give exactly one of --oidc-discovery-url (production: "
            f"{GITHUB_ISSUER!r}) and --jwks-url"
        )
    roles = render_roles(trust_dir, params)
    admin.enable_auth(params.auth_mount, "jwt")
    config: dict[str, Any] = {"bound_issuer": bound_issuer or oidc_discovery_url}
    if oidc_discovery_url:
        config["oidc_discovery_url"] = oidc_discovery_url
    else:
        config["jwks_url"] = jwks_url
    admin.call("POST", f"auth/{params.auth_mount}/config", config)
    admin.enable_engine(params.kv_mount, "kv", {"version": "2"})
    admin.enable_engine(params.transit_mount, "transit", None)
    for role in roles:
        admin.call("PUT", f"sys/policies/acl/{role.policy_name}", {"policy": role.policy_hcl})
        admin.call("POST", f"auth/{params.auth_mount}/role/{role.name}", role.role)
        log.info("applied role %r with policy %r", role.name, role.policy_name)
    if generate_app_key and not admin.transit_key_exists(params.transit_mount, params.transit_key):
        # Only for sandboxes: GitHub generates real App keys, which are imported instead.
        admin.call(
            "POST",
            f"{params.transit_mount}/keys/{params.transit_key}",
            {"type": "rsa-2048", "exportable": False, "allow_plaintext_backup": False},
        )
    return roles


def _seconds(value: Any) -> Any:
    """Vault durations as the server reports them: '10m' -> 600; anything else unchanged."""
    if isinstance(value, str) and value[:-1].isdigit() and value[-1:] in DURATION_UNITS:
        return int(value[:-1]) * DURATION_UNITS[value[-1]]
    return value


def check(
    admin: VaultAdmin,
    params: TrustParameters,
    *,
    trust_dir: Path = DEFAULT_TRUST_DIR,
    oidc_discovery_url: str = GITHUB_ISSUER,
    jwks_url: str = "",
    bound_issuer: str = "",
) -> list[str]:
    """What differs between the vault and the files in ``trust_dir``; [] when in step.

    The issuer arguments are the ones ``apply`` was given: an auth method that trusts
    another issuer would admit tokens nobody in GitHub minted. Reads only (an admin
    token, or one allowed to read sys/auth, sys/mounts, the JWT config, the policies, the
    roles and the transit key's metadata).
    """
    differences = []
    if f"{params.auth_mount}/" not in admin._mounts("auth"):
        differences.append(f"no JWT auth method at auth/{params.auth_mount}/")
    else:
        config = admin.call("GET", f"auth/{params.auth_mount}/config")["data"]
        expected = {
            "oidc_discovery_url": "" if jwks_url else oidc_discovery_url,
            "jwks_url": jwks_url,
            "bound_issuer": bound_issuer or oidc_discovery_url,
        }
        for key, wanted in expected.items():
            if (config.get(key) or "") != wanted:
                differences.append(
                    f"auth/{params.auth_mount}/config: {key} is {config.get(key)!r}, "
                    f"expected {wanted!r}"
                )
    engines = admin._mounts("engine")
    kv = engines.get(f"{params.kv_mount}/")
    if kv is None or (kv.get("options") or {}).get("version") != "2":
        differences.append(f"no KV version 2 engine at {params.kv_mount}/")
    if f"{params.transit_mount}/" not in engines:
        differences.append(f"no transit engine at {params.transit_mount}/")
    for role in render_roles(trust_dir, params):
        try:
            live_policy = admin.call("GET", f"sys/policies/acl/{role.policy_name}")["data"][
                "policy"
            ]
        except VaultError:
            live_policy = None
        if live_policy is None:
            differences.append(f"policy {role.policy_name!r} does not exist")
        elif live_policy != role.policy_hcl:
            differences.append(f"policy {role.policy_name!r} differs from the file")
        try:
            live = admin.call("GET", f"auth/{params.auth_mount}/role/{role.name}")["data"]
        except VaultError:
            differences.append(f"role {role.name!r} does not exist")
            continue
        for key, wanted in role.role.items():
            if _seconds(wanted) != live.get(key):
                differences.append(
                    f"role {role.name!r}: {key} is {live.get(key)!r}, the file says {wanted!r}"
                )
    try:
        key = admin.call("GET", f"{params.transit_mount}/keys/{params.transit_key}")["data"]
    except VaultError:
        differences.append(
            f"no transit key {params.transit_key!r} (import the App key with import-app-key)"
        )
    else:
        if key.get("exportable") or key.get("allow_plaintext_backup"):
            differences.append(
                f"transit key {params.transit_key!r} can be exported or backed up in plain "
                "text; import the App key again as a new, unexportable key"
            )
    return differences


def import_app_key(
    admin: VaultAdmin, mount: str, name: str, private_key_pem: bytes, *, new_version: bool = False
) -> None:
    """Import the App's PEM key into transit (BYOK), unexportable.

    Transit's import wraps the key for transport: an ephemeral AES-256 key wrapped with
    the mount's RSA-OAEP wrapping key, followed by the PKCS#8 key wrapped with AES-KWP.
    After this, delete the PEM file: the vault holds the only copy GitHub does not.

    ``new_version`` adds the key as the next version of an imported key (rotation):
    signing uses the latest version, so jobs switch to it with no other change.
    """
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size != 2048:
        raise CredentialConfigError("the App key must be an RSA-2048 PEM key (as GitHub issues)")
    wrapping_pem = admin.call("GET", f"{mount}/wrapping_key")["data"]["public_key"]
    wrapping_key = serialization.load_pem_public_key(wrapping_pem.encode())
    if not isinstance(wrapping_key, rsa.RSAPublicKey):
        raise VaultError(f"{mount}/wrapping_key did not return an RSA key")
    ephemeral = os.urandom(32)
    wrapped_ephemeral = wrapping_key.encrypt(
        ephemeral,
        padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
    )
    pkcs8 = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    wrapped_key = aes_key_wrap_with_padding(ephemeral, pkcs8)
    ciphertext = base64.b64encode(wrapped_ephemeral + wrapped_key).decode("ascii")
    if new_version:
        admin.call(
            "POST",
            f"{mount}/keys/{name}/import_version",
            {"ciphertext": ciphertext, "hash_function": "SHA256"},
        )
        return
    admin.call(
        "POST",
        f"{mount}/keys/{name}/import",
        {
            "ciphertext": ciphertext,
            "type": "rsa-2048",
            "hash_function": "SHA256",
            "exportable": False,
            "allow_plaintext_backup": False,
        },
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m admin_requests.deploy.vault")
    sub = parser.add_subparsers(dest="command", required=True)

    def trust_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--repository", required=True, help="owner/name of this repository")
        p.add_argument("--repository-id", required=True)
        p.add_argument("--repository-owner-id", required=True)
        p.add_argument("--audience", required=True, help="the role's bound audience")
        p.add_argument("--trust-dir", type=Path, default=DEFAULT_TRUST_DIR)
        p.add_argument("--kv-mount", default="admin-requests")
        p.add_argument("--transit-mount", default="transit")
        p.add_argument("--transit-key", default="admin-requests-github-app")

    def addr_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--addr", default=os.environ.get("VAULT_ADDR", ""))

    render = sub.add_parser("render", help="print the policy and role that apply would write")
    trust_args(render)
    apply_cmd = sub.add_parser("apply", help="write mounts, policy and role to the vault")
    trust_args(apply_cmd)
    addr_arg(apply_cmd)
    apply_cmd.add_argument("--oidc-discovery-url", default="")
    apply_cmd.add_argument("--jwks-url", default="")
    apply_cmd.add_argument("--bound-issuer", default="")
    apply_cmd.add_argument(
        "--generate-app-key", action="store_true", help="sandbox only: create the key"
    )
    check_cmd = sub.add_parser(
        "check", help="compare the vault with the files; exit 1 when they differ"
    )
    trust_args(check_cmd)
    addr_arg(check_cmd)
    check_cmd.add_argument("--oidc-discovery-url", default=GITHUB_ISSUER)
    check_cmd.add_argument("--jwks-url", default="")
    check_cmd.add_argument("--bound-issuer", default="")
    key_cmd = sub.add_parser("import-app-key", help="import the App's PEM key into transit")
    addr_arg(key_cmd)
    key_cmd.add_argument("--pem", type=Path, required=True)
    key_cmd.add_argument(
        "--new-version",
        action="store_true",
        help="rotation: add the key as the next version of the imported key",
    )
    key_cmd.add_argument("--transit-mount", default="transit")
    key_cmd.add_argument("--transit-key", default="admin-requests-github-app")
    return parser


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = _parser().parse_args(argv)
    if args.command == "import-app-key":
        admin = VaultAdmin(args.addr, environ.get("VAULT_TOKEN", ""))
        import_app_key(
            admin,
            args.transit_mount,
            args.transit_key,
            args.pem.read_bytes(),
            new_version=args.new_version,
        )
        what = "a new version of " if args.new_version else ""
        print(f"imported the App key as {what}{args.transit_mount}/keys/{args.transit_key}")
        return 0
    params = TrustParameters(
        repository=args.repository,
        repository_id=args.repository_id,
        repository_owner_id=args.repository_owner_id,
        audience=args.audience,
        kv_mount=args.kv_mount,
        transit_mount=args.transit_mount,
        transit_key=args.transit_key,
    )
    if args.command == "render":
        for role in render_roles(args.trust_dir, params):
            print(f"# policy {role.policy_name}\n{role.policy_hcl}")
            print(f"# role {role.name}\n{json.dumps(role.role, indent=2)}")
        return 0
    if not args.addr or not environ.get("VAULT_TOKEN"):
        raise CredentialConfigError("set --addr (or VAULT_ADDR) and VAULT_TOKEN (an admin token)")
    if args.command == "check":
        differences = check(
            VaultAdmin(args.addr, environ["VAULT_TOKEN"]),
            params,
            trust_dir=args.trust_dir,
            oidc_discovery_url=args.oidc_discovery_url,
            jwks_url=args.jwks_url,
            bound_issuer=args.bound_issuer,
        )
        for difference in differences:
            print(f"  {difference}")
        where = args.trust_dir.name
        print(
            f"the vault differs from {where}/ in {len(differences)} place(s); run apply"
            if differences
            else f"the vault matches {where}/"
        )
        return 1 if differences else 0
    apply(
        VaultAdmin(args.addr, environ["VAULT_TOKEN"]),
        params,
        trust_dir=args.trust_dir,
        oidc_discovery_url=args.oidc_discovery_url,
        jwks_url=args.jwks_url,
        bound_issuer=args.bound_issuer,
        generate_app_key=args.generate_app_key,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
