"""A git server over smart HTTP on 127.0.0.1, as GitHub serves public repositories.

Anyone may clone (upload-pack); a push (receive-pack) needs the ``Authorization``
header of the one token it was started with, as git sends it from
``git_auth.token_environment``. Behind it is git's own ``git http-backend`` (CGI), so
clone, fetch and push are real git. Used by the rerender tests: the render job's
anonymous clone, and the proof that a push from it gets nowhere.
"""

from __future__ import annotations

import base64
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit


def _basic(token: str) -> str:
    return "basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()


@dataclass
class GitHttpServer:
    root: Path  # holds <org>/<repo>.git bare repositories
    token: str
    url: str = ""
    refused_pushes: list[str] = field(default_factory=list)


@contextmanager
def serve_git(root: Path, token: str) -> Iterator[GitHttpServer]:
    state = GitHttpServer(root, token)
    backend = str(Path(subprocess.check_output(["git", "--exec-path"], text=True).strip()))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return None

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            pushing = "git-receive-pack" in parts.path or "service=git-receive-pack" in (
                parts.query
            )
            authorised = self.headers.get("Authorization", "").lower() == _basic(token).lower()
            if pushing and not authorised:
                state.refused_pushes.append(parts.path)
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="git"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            env = {
                "PATH": os.environ.get("PATH", ""),
                "GIT_PROJECT_ROOT": str(root),
                "GIT_HTTP_EXPORT_ALL": "1",
                "PATH_INFO": parts.path,
                "QUERY_STRING": parts.query,
                "REQUEST_METHOD": self.command,
                "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                "CONTENT_LENGTH": str(len(body)),
                "GIT_CONFIG_NOSYSTEM": "1",
                "HOME": str(root),
            }
            if self.headers.get("Content-Encoding"):
                env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
            if authorised:
                env["REMOTE_USER"] = "x-access-token"  # enables receive-pack
            out = subprocess.run(
                [f"{backend}/git-http-backend"], input=body, env=env, capture_output=True
            ).stdout
            head, _, payload = out.partition(b"\r\n\r\n")
            status = 200
            headers = []
            for line in head.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                if name.lower() == "status":
                    status = int(value.strip().split()[0])
                elif name:
                    headers.append((name, value.strip()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _serve
        do_POST = _serve

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
