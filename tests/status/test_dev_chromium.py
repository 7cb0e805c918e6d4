"""dev.py installs Debian's chromium for the browser tests only when it may and can."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from typing import Any

import dev
import pytest


class Calls:
    def __init__(self, results: dict[str, int] | None = None) -> None:
        self.argv: list[list[str]] = []
        self.env: list[dict[str, str] | None] = []
        self.results = results or {}

    def __call__(self, argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.argv.append(list(argv))
        self.env.append(kwargs.get("env"))
        code = next((c for word, c in self.results.items() if word in argv), 0)
        return subprocess.CompletedProcess(list(argv), code, "", "")


def _machine(
    monkeypatch: pytest.MonkeyPatch,
    *,
    installed: bool = False,
    root: bool = True,
    tools: tuple[str, ...] = ("apt-get",),
    results: dict[str, int] | None = None,
) -> Calls:
    calls = Calls(results)
    monkeypatch.setattr(dev, "_chromium_installed", lambda: installed)
    monkeypatch.setattr(dev.os, "geteuid", lambda: 0 if root else 1000)
    monkeypatch.setattr(
        dev.shutil, "which", lambda name: f"/usr/bin/{name}" if name in tools else None
    )
    monkeypatch.setattr(dev.subprocess, "run", calls)
    return calls


def test_nothing_to_do_when_chromium_is_there(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _machine(monkeypatch, installed=True)
    dev.ensure_chromium()
    assert calls.argv == []


def test_root_installs_it_with_apt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = _machine(monkeypatch)
    dev.ensure_chromium()
    wait = ["-o", "DPkg::Lock::Timeout=600"]
    assert calls.argv == [
        ["apt-get", *wait, "update"],
        ["apt-get", *wait, "install", "-y", "--no-install-recommends", "chromium"],
    ]
    assert all(env and env["DEBIAN_FRONTEND"] == "noninteractive" for env in calls.env)
    assert "[dev] installing chromium for the browser tests: apt-get" in capsys.readouterr().out


def test_passwordless_sudo_is_used_when_not_root(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _machine(monkeypatch, root=False, tools=("apt-get", "sudo"))
    dev.ensure_chromium()
    probe, update, install = calls.argv
    assert probe == ["sudo", "-n", "true"]
    assert update[:5] == ["sudo", "-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]
    assert install[-1] == "chromium"


@pytest.mark.parametrize(
    ("root", "tools", "results", "why"),
    [
        (False, ("apt-get",), {}, "not root, no passwordless sudo"),
        (False, ("apt-get", "sudo"), {"true": 1}, "not root, no passwordless sudo"),
        (True, (), {}, "no apt-get"),
    ],
)
def test_without_apt_or_root_it_says_the_tests_will_skip(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    root: bool,
    tools: tuple[str, ...],
    results: dict[str, int],
    why: str,
) -> None:
    calls = _machine(monkeypatch, root=root, tools=tools, results=results)
    dev.ensure_chromium()
    assert not any("apt-get" in argv for argv in calls.argv)
    out = capsys.readouterr().out
    assert f"chromium is missing and cannot be installed here ({why})" in out
    assert "skipped (and fail under CI)" in out


def test_a_failed_update_stops_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = _machine(monkeypatch, results={"update": 100})
    dev.ensure_chromium()
    assert len(calls.argv) == 1
    assert "installing chromium failed" in capsys.readouterr().out
