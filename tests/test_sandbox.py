"""``python3 dev.py sandbox``: it serves what it says, and Ctrl-C leaves nothing running;
the demo's feedstock creation (sandbox/creation.py) creates what its section reports."""

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
from sandbox import creation
from sandbox.core import Sandbox
from sandbox.report import account

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


def test_the_demo_creates_one_feedstock_from_staged_recipes_with_a_token_per_step(
    tmp_path: Path,
) -> None:
    with Sandbox(tmp_path / "sandbox") as sandbox:
        demo = creation.run_creation(sandbox, tmp_path / "creation")
        text = "\n".join(creation.render_section(sandbox, demo, 6))
        gh, feedstock = sandbox.github, f"{creation.RECIPE}-feedstock"
        assert demo.status() == creation.CREATED, demo.report
        assert demo.rendering is not None
        assert demo.rendering.outputs == ("tinyjson", "libtinyjson")
        # The repository, its ruleset, and the head the git server holds: the one
        # commit the content step pushed and verified, pushed once.
        repo = gh.repo(feedstock)
        [ruleset] = repo.admin.rulesets.values()
        assert ruleset["name"] == "conda-forge-branch-protection"
        assert ruleset["enforcement"] == "active"
        bare = sandbox.git.bare(feedstock)
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=bare, capture_output=True, text=True, check=True
        ).stdout.strip()
        [result] = [r for r in demo.report.results if r.recipe == creation.RECIPE]
        assert result.steps["content"] == f"pushed and verified {head[:12]}"
        assert sum(1 for p in sandbox.git.pushes if p.repository == feedstock) == 1
        # The feedstock token: the secret on the feedstock, the hashed entry in the registry.
        assert set(repo.secrets) == {"FEEDSTOCK_TOKEN"}
        entry = json.loads(gh.repo("feedstock-tokens").files[f"tokens/{feedstock}.json"])
        assert [t["provider"] for t in entry["tokens"]] == ["github_actions"]
        # Both outputs registered to the new feedstock.
        outputs = gh.repo("feedstock-outputs").files
        for path in ("outputs/t/i/n/tinyjson.json", "outputs/l/i/b/libtinyjson.json"):
            assert json.loads(outputs[path]) == {"feedstocks": ["tinyjson"]}
        # The recipe is gone from staged-recipes (the example stays), its PR is told.
        assert creation.remote_recipes(sandbox) == ["example-v1"]
        pull = gh.repo("staged-recipes").pulls[creation.PULL]
        assert f"https://github.com/conda-forge/{feedstock}" in str(pull.comments[-1]["body"])
        # Credentials: one vault login with the creation role, revoked; every App token
        # revoked and scoped to named repositories, but the one that creates the repository.
        credentials = account(sandbox, demo.started)
        [login] = [c for c in credentials.credentials if c.kind == "vault token (OIDC login)"]
        assert login.scope.startswith(f"role {creation.ROLE}, event schedule"), login
        assert credentials.outlived(demo.finished) == []
        minted = [
            t
            for t in gh.tokens.values()
            if t.installation_id is not None and t.created_at >= demo.started.timestamp()
        ]
        assert len(minted) == 10, minted
        assert all(t.revoked for t in minted)
        unscoped = [t.permissions for t in minted if t.repositories is None]
        assert unscoped == [{"administration": "write"}]
    # The section says how it ran and what stood in for conda-smithy.
    assert "Run directly, not under act" in text
    assert "stand-in tests/creation/standin_smithy.py" in text
    assert "recipes/tinyjson: created" in text
    assert f"new repository conda-forge/{feedstock}" in text
    assert "ruleset 'conda-forge-branch-protection' (active)" in text
    assert "Actions secrets: FEEDSTOCK_TOKEN" in text
    assert "added outputs/t/i/n/tinyjson.json" in text
    assert "(recipes/tinyjson removed)" in text
    assert "none outlived the job" in text
