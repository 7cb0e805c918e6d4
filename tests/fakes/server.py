"""A small threaded HTTP server with routing, JSON helpers, call counters and faults.

Each fake (GitHub, anaconda.org) subclasses ``FakeServer`` and registers routes. One
lock serialises handlers, so state changes are atomic, as on a real API.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .faults import Fault, Faults


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except ValueError as error:
            raise HttpError(400, f"Problems parsing JSON: {error}") from error

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-serialisable, or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)


class HttpError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    status: int  # 0 when the connection was dropped


Handler = Callable[[Request], Response]


class FakeServer:
    """Start with ``start()`` or ``with Fake() as fake:``; ``fake.url`` is the base URL."""

    def __init__(self, *, seed: int = 0) -> None:
        self.faults = Faults(seed)
        self.calls: list[Call] = []
        # (method, path) of each request as it arrives, before latency and handling:
        # a test can tell that a client has had an earlier answer by a later arrival.
        self.arrivals: list[tuple[str, str]] = []
        self.effects: Counter[str] = Counter()  # side effects by name (see each fake)
        self.lock = threading.RLock()
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # The fake's idea of "now" (seconds since the epoch); tests may move it, or point
        # ``time_source`` at a FakeClock's ``time`` (tests/fakes/clock.py), so that the
        # client's waits on that clock pass the fake's rate-limit windows.
        self.time_source: Callable[[], float] = time.time
        self.clock_offset = 0.0

    # -- lifecycle --------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake server is not started; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- time and counters ------------------------------------------------------------

    def now(self) -> float:
        return self.time_source() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward (token expiry) without sleeping."""
        with self.lock:
            self.clock_offset += seconds

    @property
    def call_count(self) -> int:
        with self.lock:
            return len(self.calls)

    def count(self, method: str | None = None, path: str | None = None) -> int:
        """Calls so far matching ``method`` and the regular expression ``path``."""
        with self.lock:
            return sum(
                1
                for call in self.calls
                if (method is None or call.method == method)
                and (path is None or re.search(path, call.path))
            )

    def reset_counters(self) -> None:
        with self.lock:
            self.calls.clear()
            self.arrivals.clear()
            self.effects.clear()

    # -- routing ----------------------------------------------------------------------

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """``pattern`` uses ``{name}`` for one path segment and ``{name:path}`` for many."""
        regex = re.sub(r"\{(\w+):path\}", r"(?P<\1>.+)", pattern)
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)
        self._routes.append((method, re.compile(f"^{regex}$"), handler))

    def dispatch(self, request: Request) -> Response:
        allowed = False
        for method, regex, handler in self._routes:
            match = regex.match(request.path)
            if match is None:
                continue
            allowed = True
            if method != request.method:
                continue
            request.params = {k: v for k, v in match.groupdict().items()}
            with self.lock:
                return handler(request)
        if allowed:
            raise HttpError(405, f"{request.method} is not allowed on {request.path}")
        raise HttpError(404, "Not Found")

    def error_body(self, error: HttpError) -> Any:
        return {"message": error.message}

    # -- rate limits (see tests/fakes/limits.py); none unless a fake models them --------

    def admit(self, request: Request) -> Response | None:
        """The refusal of a rate limit for this arriving call, or None to serve it."""
        return None

    def release(self, request: Request) -> None:
        """An admitted call has been answered (it no longer counts as in flight)."""

    def limit_headers(self, request: Request) -> dict[str, str]:
        """Headers every answer carries (GitHub's ``x-ratelimit-*``)."""
        return {}

    def record(self, method: str, path: str, status: int) -> None:
        with self.lock:
            self.calls.append(Call(method, path, status))


def _make_handler(fake: FakeServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            return

        def setup(self) -> None:
            super().setup()
            # Headers and body go out in separate writes; without NODELAY, Nagle's
            # algorithm and delayed ACKs add ~40 ms to every call.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _handle(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with fake.lock:
                fake.arrivals.append((self.command, split.path))
            request = Request(
                self.command,
                split.path,
                {k: v[-1] for k, v in parse_qs(split.query).items()},
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            # Rate limits are decided on arrival (a refused call changes nothing) and
            # the call stays in flight, for the concurrency limit, until it is answered.
            refusal = fake.admit(request)
            try:
                self._answer(request, refusal)
            finally:
                if refusal is None:
                    fake.release(request)

        def _answer(self, request: Request, refusal: Response | None) -> None:
            if fake.faults.latency:
                time.sleep(fake.faults.latency)
            if refusal is not None:
                fake.record(request.method, request.path, refusal.status)
                self._send(refusal)
                return
            fault = fake.faults.pick(request.method, request.path)
            if fault is not None and fault.kind != "lost_response":
                self._inject(fault, request.path)
                return
            try:
                response = fake.dispatch(request)
            except HttpError as error:
                response = Response(error.status, fake.error_body(error), error.headers)
            if fault is not None:  # lost_response: done, but the answer never arrives
                self._drop(request.path)
                return
            response.headers = {**fake.limit_headers(request), **response.headers}
            # Record before answering, so a client that has its answer sees the count.
            fake.record(request.method, request.path, response.status)
            self._send(response)

        def _inject(self, fault: Fault, path: str) -> None:
            if fault.kind == "timeout":
                time.sleep(fault.delay)
                self._drop(path)
                return
            if fault.kind == "reset":
                # SO_LINGER with a zero timeout makes close() send a TCP reset.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self._drop(path)
                return
            response = Response(fault.status, fault.body, dict(fault.headers))
            fake.record(self.command, path, fault.status)
            self._send(response)

        def _drop(self, path: str) -> None:
            self.close_connection = True
            fake.record(self.command, path, 0)
            with contextlib.suppress(OSError):
                self.connection.close()

        def _send(self, response: Response) -> None:
            if isinstance(response.body, bytes):
                payload = response.body
                content_type = "application/octet-stream"
            elif response.body is None:
                payload = b""
                content_type = "application/json"
            else:
                payload = json.dumps(response.body).encode()
                content_type = "application/json; charset=utf-8"
            try:
                self.send_response(response.status)
                headers = {"Content-Type": content_type, **response.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    return _Handler
