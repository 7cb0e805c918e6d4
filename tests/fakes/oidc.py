"""A fake GitHub Actions OIDC issuer on 127.0.0.1.

It serves what a vault needs to trust it (``/.well-known/openid-configuration`` and a
JWKS) and what a job calls to get its token (an Actions-like ID-token endpoint taking
``?audience=`` and the bearer request token). Tokens are RS256 JWTs with GitHub's claims
for the processing workflow of ``conda-forge/admin-requests``; tests change them with
``claim_overrides`` (a value of None removes the claim), or mint directly with
``mint(audience, **overrides)``. ``rogue_signer`` makes it sign with a key its JWKS
does not publish (same ``kid``), ``lifetime`` makes tokens that are already expired.

    with FakeOidcIssuer() as issuer:
        env = issuer.actions_environ()  # ACTIONS_ID_TOKEN_REQUEST_URL / _TOKEN
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

REPOSITORY = "conda-forge/admin-requests"
REPOSITORY_ID = "612345678"
REPOSITORY_OWNER_ID = "11897326"
PROCESS_WORKFLOW_REF = f"{REPOSITORY}/.github/workflows/process.yml@refs/heads/main"
TOKEN_PATH = "/_apis/distributedtask/hubs/Actions/plans/fake/jobs/fake/idtoken"


def _b64uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def process_claims(repository: str = REPOSITORY) -> dict[str, Any]:
    """The claims GitHub puts in a token for process.yml on main, env production."""
    return {
        "sub": f"repo:{repository}:environment:production",
        "repository": repository,
        "repository_id": REPOSITORY_ID,
        "repository_owner": repository.split("/")[0],
        "repository_owner_id": REPOSITORY_OWNER_ID,
        "repository_visibility": "public",
        "job_workflow_ref": PROCESS_WORKFLOW_REF,
        "job_workflow_sha": "0" * 40,
        "workflow_ref": PROCESS_WORKFLOW_REF,
        "workflow": "process",
        "ref": "refs/heads/main",
        "ref_type": "branch",
        "ref_protected": "true",
        "sha": "1" * 40,
        "event_name": "push",
        "environment": "production",
        "actor": "core-member",
        "actor_id": "1001",
        "run_id": "9000000001",
        "run_number": "42",
        "run_attempt": "1",
        # GitHub's own runners. Under act the job runs on this machine
        # (``-P ubuntu-latest=-self-hosted``), but this issuer plays GitHub for the
        # production job, so its tokens say what GitHub's would for process.yml.
        "runner_environment": "github-hosted",
    }


class FakeOidcIssuer:
    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex
        self.request_token = "fake-request-" + secrets.token_hex(16)
        self.claims = process_claims()
        self.claim_overrides: dict[str, Any] = {}
        self.rogue_signer: rsa.RSAPrivateKey | None = None
        self.lifetime = 300  # seconds, like GitHub's
        self.issued: list[str] = []
        self.requests: list[dict[str, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        # A short poll, as in server.py: shutdown() waits up to one poll (0.5 s by default).
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    # -- lifecycle ------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeOidcIssuer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        self.claim_overrides = {}
        self.rogue_signer = None
        self.lifetime = 300

    def actions_environ(self) -> dict[str, str]:
        return {
            "ACTIONS_ID_TOKEN_REQUEST_URL": f"{self.url}{TOKEN_PATH}?api-version=2.0",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": self.request_token,
        }

    # -- tokens ---------------------------------------------------------------------

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "jwks_uri": f"{self.url}/.well-known/jwks",
            "subject_types_supported": ["public", "pairwise"],
            "response_types_supported": ["id_token"],
            "claims_supported": sorted({"sub", "aud", "exp", "iat", "iss", *self.claims}),
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid"],
        }

    def jwks(self) -> dict[str, Any]:
        numbers = self._key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "alg": "RS256",
                    "use": "sig",
                    "kid": self.kid,
                    "n": _b64uint(numbers.n),
                    "e": _b64uint(numbers.e),
                }
            ]
        }

    def mint(self, audience: str, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "jti": uuid.uuid4().hex,
            "iss": self.url,
            "aud": audience,
            "nbf": now - 5,
            "iat": now - 5,
            "exp": now + self.lifetime,
            **self.claims,
        }
        for key, value in {**self.claim_overrides, **overrides}.items():
            if value is None:
                claims.pop(key, None)
            else:
                claims[key] = value
        if self.lifetime <= 0:  # an expired token was issued and expired in the past
            claims["nbf"] = claims["iat"] = now - 600
        key = self.rogue_signer or self._key
        token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid, "typ": "JWT"})
        self.issued.append(token)
        return token

    # -- HTTP -----------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path == "/.well-known/openid-configuration":
                    self._send(200, issuer.discovery())
                elif parts.path == "/.well-known/jwks":
                    self._send(200, issuer.jwks())
                elif parts.path == TOKEN_PATH:
                    query = parse_qs(parts.query)
                    issuer.requests.append({"audience": query.get("audience", [""])[0]})
                    if self.headers.get("Authorization") != f"Bearer {issuer.request_token}":
                        self._send(401, {"message": "invalid request token"})
                        return
                    audience = query.get(
                        "audience", [f"https://github.com/{REPOSITORY.split('/')[0]}"]
                    )[0]
                    self._send(200, {"value": issuer.mint(audience)})
                else:
                    self._send(404, {"message": "not found"})

        return Handler


# -- tokens a trust policy must refuse (the vault's and AWS's: tests/deploy/) -------------
# Each entry overrides claims of a processing token (``FakeOidcIssuer.mint``).

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

# Claims the vault role binds that AWS's customised ``sub`` (deploy/aws/) does not carry,
# so only the vault's tests refuse them. Each differs from a processing token in one claim.
REFUSED_BY_THE_VAULT: dict[str, dict[str, Any]] = {
    # A self-hosted runner is a machine someone other than GitHub controls (and keeps
    # between jobs); the processing job only ever runs on GitHub's.
    "a self-hosted runner": {"runner_environment": "self-hosted"},
    # A tag can be pushed at any commit by anyone with write access, reviewed or not.
    "a tag": {"ref_type": "tag"},
    # process.yml called as a reusable workflow by another workflow of this repository:
    # job_workflow_ref is process.yml, workflow_ref names the caller.
    "called by another workflow": {"workflow_ref": OTHER_WORKFLOW},
}
