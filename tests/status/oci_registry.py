"""A real OCI registry on 127.0.0.1 for the OCI mirror tests: Debian's ``docker-registry``.

That package is the CNCF distribution registry (2.8.2 on Debian bookworm). Two of its
processes share one storage folder, over plain HTTP:

- ``writer``: no authentication; the tests fill it with ``oras`` (oras-py's
  ``OrasClient(insecure=True)``) the way conda-oci-mirror pushes: one manifest per
  artifact, its layers the package and its ``info/index.json`` with the conda media
  types, tagged ``<version>-<build>``;
- ``reader``: the registry's own ``auth: token`` (the distribution token
  specification, as ghcr.io behaves for anonymous pulls): every call without a token
  is answered ``401`` with ``WWW-Authenticate: Bearer realm=...,service=...,scope=...``,
  and the registry checks the JWT it is then given (issuer, audience, expiry, and a
  signature by the certificate in its ``rootcertbundle``).

The token service the realm names is the one piece written here (``TokenService``): a
few lines that sign an anonymous pull token for the scopes asked, as ghcr.io's
``/token`` does for public packages. The registry itself, which decides, is real.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

BINARY = "docker-registry"
SERVICE = "test-registry"
ISSUER = "test-token-issuer"
# conda_oci_mirror/defaults.py
PACKAGE_CONDA_MEDIA_TYPE = "application/vnd.conda.package.v2"
INFO_INDEX_MEDIA_TYPE = "application/vnd.conda.info.index.v1+json"


def find_registry() -> str | None:
    return shutil.which(BINARY) or (
        f"/usr/bin/{BINARY}" if Path(f"/usr/bin/{BINARY}").exists() else None
    )


def require_registry() -> str:
    """The binary, or skip (fail under CI) saying how to get it."""
    found = find_registry()
    if found is None:
        reason = (
            "docker-registry is not installed: 'python3 dev.py test' installs Debian's "
            "docker-registry package when it runs as root or with passwordless sudo and "
            "apt-get is available"
        )
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; under CI the OCI mirror tests must run")
        pytest.skip(reason)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class TokenService:
    """Anonymous pull tokens (ES256 JWTs with an ``x5c`` certificate) for the reader."""

    folder: Path
    port: int = field(default_factory=free_port)
    issued: list[list[str]] = field(default_factory=list)  # the scopes of each token
    down: bool = False

    def __post_init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.bundle = self.folder / "token-root.pem"
        self.bundle.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlsplit(self.path).query)
                if service.down or query.get("service") != [SERVICE]:
                    self._answer(503 if service.down else 400, {"errors": [{"code": "DENIED"}]})
                    return
                scopes = query.get("scope", [])
                service.issued.append(scopes)
                self._answer(200, {"token": service.token(scopes), "expires_in": 300})

            def _answer(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def token(self, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind, name, _actions = scope.split(":")
            access.append({"type": kind, "name": name, "actions": ["pull"]})  # anonymous
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": "",
            "aud": SERVICE,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": f"{now}-{len(self.issued)}",
            "access": access,
        }
        return jwt.encode(claims, self.key, algorithm="ES256", headers={"x5c": [self.x5c]})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class RegistryProcess:
    def __init__(self, binary: str, folder: Path, name: str, storage: Path, auth: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = folder / f"{name}.yml"
        self.config.write_text(
            "version: 0.1\n"
            "log:\n  level: error\n"
            f"storage:\n  filesystem:\n    rootdirectory: {storage}\n"
            f"http:\n  addr: 127.0.0.1:{self.port}\n" + auth
        )
        self.log = folder / f"{name}.log"
        self.binary = binary
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "serve", str(self.config)], stdout=log, stderr=subprocess.STDOUT
            )
        for _ in range(400):  # until it answers; it starts in well under a second
            if self.process.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {self.log.read_text()[-2000:]}")
            try:
                requests.get(f"{self.url}/v2/", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.025)
        raise RuntimeError(f"docker-registry did not answer on {self.url}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class LocalRegistry:
    """The writer and the reader (see the module docstring) and their token service."""

    def __init__(self, binary: str, folder: Path) -> None:
        storage = folder / "storage"
        storage.mkdir(parents=True)
        self.folder = folder
        self.tokens = TokenService(folder)
        self.writer = RegistryProcess(binary, folder, "writer", storage, "")
        self.reader = RegistryProcess(
            binary,
            folder,
            "reader",
            storage,
            "auth:\n  token:\n"
            f"    realm: {self.tokens.realm}\n"
            f"    service: {SERVICE}\n"
            f"    issuer: {ISSUER}\n"
            f"    rootcertbundle: {self.tokens.bundle}\n",
        )
        self.writer.start()
        self.reader.start()
        self._files = folder / "artifacts"
        self._files.mkdir()

    @property
    def url(self) -> str:
        """Where the status page reads: the registry that wants tokens."""
        return self.reader.url

    def push(self, repository: str, tag: str, filename: str) -> None:
        """One artifact as conda-oci-mirror pushes it, with oras-py over plain HTTP."""
        import oras.client

        stem = self._files / tag
        stem.mkdir(exist_ok=True)
        package = stem / filename
        package.write_bytes(f"{repository}:{tag}".encode())
        index = stem / "index.json"
        index.write_text(json.dumps({"name": repository.rsplit("/", 1)[-1]}))
        host = urlsplit(self.writer.url).netloc
        client = oras.client.OrasClient(hostname=host, insecure=True)
        response = client.push(
            target=f"{host}/{repository}:{tag}",
            files=[f"{package}:{PACKAGE_CONDA_MEDIA_TYPE}", f"{index}:{INFO_INDEX_MEDIA_TYPE}"],
            disable_path_validation=True,
        )
        assert response.status_code == 201, response.text

    def close(self) -> None:
        self.reader.stop()
        self.writer.stop()
        self.tokens.close()


@contextmanager
def local_registry(folder: Path) -> Iterator[LocalRegistry]:
    registry = LocalRegistry(require_registry(), folder)
    try:
        yield registry
    finally:
        registry.close()
