"""git_auth: the token reaches git as one command's HTTP header, nowhere else."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

from admin_requests.git_auth import token_environment


def test_the_header_carries_the_token_as_github_expects_it() -> None:
    environment = token_environment("t0ken")
    assert environment["GIT_CONFIG_KEY_0"] == "http.extraheader"
    kind, _, encoded = environment["GIT_CONFIG_VALUE_0"].partition(" basic ")
    assert kind == "AUTHORIZATION:"
    assert base64.b64decode(encoded).decode() == "x-access-token:t0ken"
    assert environment["GIT_TERMINAL_PROMPT"] == "0"  # never wait for a password


def test_git_reads_it_for_that_command_only(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    with_token = {**os.environ, **token_environment("t0ken")}
    read = subprocess.run(
        ["git", "config", "--get", "http.extraheader"],
        cwd=tmp_path,
        env=with_token,
        capture_output=True,
        text=True,
        check=True,
    )
    assert read.stdout.startswith("AUTHORIZATION: basic ")
    without = subprocess.run(
        ["git", "config", "--get", "http.extraheader"], cwd=tmp_path, capture_output=True
    )
    assert without.returncode == 1  # not stored anywhere
