"""``python3 dev.py sandbox``: it serves what it says, and Ctrl-C leaves nothing running."""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.vault

ROOT = Path(__file__).resolve().parents[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0) until reaped; it runs nothing.
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def test_the_sandbox_serves_the_organisation_and_stops_cleanly_on_ctrl_c() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--json"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        env = info["environment"]
        github, vault = env["GITHUB_API_URL"], env["VAULT_ADDR"]
        headers = {"Authorization": f"token {env['GITHUB_TOKEN']}"}
        # The job token reads this repository and (public) feedstocks, never writes them.
        assert (
            requests.get(
                f"{github}/repos/conda-forge/admin-requests", headers=headers, timeout=5
            ).status_code
            == 200
        )
        archive = requests.patch(
            f"{github}/repos/conda-forge/numpy-feedstock",
            json={"archived": True},
            headers=headers,
            timeout=5,
        )
        assert archive.status_code == 404
        assert requests.get(f"{vault}/v1/sys/health", timeout=5).status_code == 200
        # Cirun answers only to its API key, which only the vault holds.
        cirun = env["CIRUN_API_ENDPOINT"]
        assert requests.get(f"{cirun}/repo", timeout=5).status_code == 401
        # The trust policy is in place: the role exists and is bound to process.yml.
        role = requests.get(
            f"{vault}/v1/auth/jwt/role/admin-requests-process",
            headers={"X-Vault-Token": info["vault_root_token"]},
            timeout=5,
        ).json()["data"]
        assert role["bound_claims"]["job_workflow_ref"].endswith(
            "/.github/workflows/process.yml@refs/heads/main"
        )
        vault_pid = info["vault_pid"]
        assert _alive(vault_pid)
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "sandbox stopped; nothing is left running." in err
    assert not _alive(vault_pid)
    for url in (github, vault, env["ANACONDA_API_URL"], cirun):
        with pytest.raises(requests.ConnectionError):
            requests.get(url, timeout=2)


def test_the_product_never_imports_the_fakes_or_the_sandbox() -> None:
    offenders = []
    for path in sorted((ROOT / "scripts" / "admin_requests").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            offenders += [
                f"{path.relative_to(ROOT)}: {name}"
                for name in names
                if name.split(".")[0] in ("tests", "sandbox")
            ]
    assert offenders == []
