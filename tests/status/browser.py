"""Headless Chromium driven over the DevTools protocol on a pipe (no extra packages).

``--remote-debugging-pipe`` makes Chromium read protocol commands from file descriptor 3
and write answers to descriptor 4, each message JSON ended by a NUL byte. A one-line
Python trampoline puts our pipe ends on those numbers, then execs Chromium. The DevTools
protocol, unlike plain ``--screenshot``, emulates a phone's viewport exactly (375 px
wide: a desktop window cannot be made narrower than 500 px) and lets the tests measure
the rendered page.

The flags keep Chromium offline and quiet: no sync, no component updates, no
background networking, a fresh profile in a temporary folder.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser")
OFFLINE_FLAGS = (
    "--headless",
    "--no-sandbox",  # root in a container has no user namespaces for the sandbox
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
)
# A safety net against a hung browser; never a performance bound.
PROTOCOL_TIMEOUT = 120.0


def find_chromium() -> str | None:
    """Debian's chromium (``CHROMIUM`` overrides), or None when it is not installed."""
    override = os.environ.get("CHROMIUM")
    if override:
        return override if Path(override).exists() else None
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def _above(fd: int, minimum: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, minimum)
    os.close(fd)
    return moved


class BrowserError(RuntimeError):
    pass


class Browser:
    """One Chromium process; ``page()`` opens a tab on a URL with a given viewport."""

    def __init__(self, executable: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="status-chromium-")
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()
        # Move the child's ends above 3 and 4, so that putting them on 3 and 4 cannot
        # overwrite one before it is copied. A tiny Python trampoline does the moving:
        # sh's redirections only take single-digit descriptors.
        to_browser_read = _above(to_browser_read, 10)
        from_browser_write = _above(from_browser_write, 10)
        trampoline = (
            "import os, sys; a, b = int(sys.argv[1]), int(sys.argv[2]); "
            "os.dup2(a, 3); os.dup2(b, 4); os.close(a); os.close(b); "
            "os.execv(sys.argv[3], sys.argv[3:])"
        )
        argv = [
            sys.executable,
            "-c",
            trampoline,
            str(to_browser_read),
            str(from_browser_write),
            executable,
            *OFFLINE_FLAGS,
            f"--user-data-dir={self.profile}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        self.log = Path(self.profile) / "chromium.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                argv,
                pass_fds=(to_browser_read, from_browser_write),
                stdout=log,
                stderr=log,
            )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    # -- protocol ------------------------------------------------------------------------

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_browser], [], [], max(left, 0))
            if not ready:
                raise BrowserError(f"no answer from chromium in {PROTOCOL_TIMEOUT} s")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise BrowserError(f"chromium closed the pipe; its log ends:\n{self._log_tail()}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        except BrokenPipeError:
            raise BrowserError(f"chromium has exited; its log ends:\n{self._log_tail()}") from None
        deadline = time.monotonic() + PROTOCOL_TIMEOUT
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") != self._next_id:
                self.events.append(answer)
                continue
            if "error" in answer:
                raise BrowserError(f"{method}: {answer['error']}")
            return answer.get("result", {})

    def wait_for_event(self, method: str, session: str) -> dict[str, Any]:
        deadline = time.monotonic() + PROTOCOL_TIMEOUT
        while True:
            for index, event in enumerate(self.events):
                if event.get("method") == method and event.get("sessionId") == session:
                    del self.events[index]
                    return event
            self.events.append(self._read_message(deadline))

    # -- pages ---------------------------------------------------------------------------

    @contextmanager
    def page(
        self, url: str, *, width: int, height: int, mobile: bool, dark: bool = False
    ) -> Iterator[Page]:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        try:
            self.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 2, "mobile": mobile},
                session,
            )
            scheme = "dark" if dark else "light"
            self.send(
                "Emulation.setEmulatedMedia",
                {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
                session,
            )
            self.send("Page.enable", {}, session)
            self.send("Page.navigate", {"url": url}, session)
            self.wait_for_event("Page.loadEventFired", session)
            yield Page(self, session)
        finally:
            self.send("Target.closeTarget", {"targetId": target})

    def close(self) -> None:
        with suppress(BrowserError):
            self.send("Browser.close")
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
        shutil.rmtree(self.profile, ignore_errors=True)

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"


class Page:
    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression evaluated in the page."""
        result = self.browser.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            self.session,
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"the page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path, *, full_page: bool = False) -> bytes:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            size = self.evaluate(
                "({w: document.documentElement.scrollWidth,"
                " h: document.documentElement.scrollHeight})"
            )
            params["clip"] = {"x": 0, "y": 0, "width": size["w"], "height": size["h"], "scale": 1}
        answer = self.browser.send("Page.captureScreenshot", params, self.session)
        data = base64.b64decode(answer["data"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return data

    def dom(self) -> str:
        html: str = self.evaluate("document.documentElement.outerHTML")
        return html
