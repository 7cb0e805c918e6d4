"""Every command the documentation shows is run here, or mapped to the test that runs it.

The blocks and their annotations are described in tests/docs/blocks.py. ``run`` blocks
are executed, page by page and in order, in a throwaway git repository holding this
working tree's files and the real ``.venv``, like a reader following the page. Where a
page talks to services, local stand-ins take their place (``services=``):

- always: ``git clone https://github.com/conda-forge/admin-requests`` clones the
  throwaway repository instead.
- ``github``: FakeGitHub for the organisation ``conda-forge`` with the repository
  ``admin-requests``; ``GITHUB_API_URL`` and ``GITHUB_TOKEN`` (an administrator's) point
  at it, and it replaces ``https://api.github.com``.
- ``anaconda``: FakeAnaconda (``ANACONDA_API_URL``, ``ANACONDA_CHANNEL_URL``), empty.
- ``vault``: OpenBao's dev server (``VAULT_ADDR``, ``VAULT_TOKEN``) and a fake OIDC issuer
  standing in for GitHub's, whose URL replaces ``https://token.actions.githubusercontent.com``.

A line that sets a variable the harness provides (``export GITHUB_TOKEN=...``,
``read -rs LEAKED_TOKEN``) is replaced by the harness's value: the page shows what a
person types, the test supplies what that would produce. Nothing else is changed.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sandbox.workflow import working_tree_files

from admin_requests.deploy.vault import TrustParameters, VaultAdmin, apply, import_app_key
from admin_requests.queue.state import RequestState, content_digest
from tests.fakes.anaconda import FakeAnaconda
from tests.fakes.github import FakeGitHub, FakeToken, generate_app_key
from tests.fakes.oidc import FakeOidcIssuer

from .blocks import COMMAND_START, ROOT, Block, all_blocks, documentation_files, strip_comment

# Commands too slow to run here, each mapped to what runs it: a pytest node id, or
# "ci:<file>" for the command the CI entry point itself runs.
COVERED: dict[str, str] = {
    "python3 dev.py demo": "tests/workflows/test_demo_act.py::"
    "test_the_demo_reports_requests_state_credentials_and_the_issue",
    "python3 dev.py test": "ci:.ci/run",
    "python3 dev.py bench": "tests/test_benchmarks_smoke.py::test_dev_py_bench_prints_its_json",
    ".venv/bin/python -m pytest -m soak": "tests/soak/test_soak.py::"
    "test_soak_mixed_queue_under_faults",
    ".venv/bin/python tests/fuzz/fuzz_loader.py -dict=tests/fuzz/yaml.dict -runs=1000000 "
    "/tmp/fuzz-corpus docs/examples": "tests/fuzz/test_fuzz_loader.py::"
    "test_the_loader_survives_a_seeded_fuzzing_campaign",
}
KINDS = frozenset({"run", "covered", "synopsis"})  # for shell blocks; "output" for text
SERVICES = frozenset({"github", "anaconda", "vault"})
OPERATOR_TOKEN = "operator-admin-token"
BLOCK_TIMEOUT = 600


@dataclass
class Page:
    path: Path
    blocks: list[Block]

    @property
    def services(self) -> set[str]:
        found: set[str] = set()
        for block in self.blocks:
            found.update(filter(None, block.options.get("services", "").split(",")))
        return found


def run_pages() -> list[Page]:
    pages: dict[Path, Page] = {}
    for block in all_blocks():
        if block.kind in ("run", "output"):
            pages.setdefault(block.path, Page(block.path, [])).blocks.append(block)
    return list(pages.values())


# -- the rules -------------------------------------------------------------------------


def test_every_command_block_says_how_it_is_tested() -> None:
    wrong = [
        f"{block.where}: a {block.language!r} block needs a '<!-- doc-test: run|covered|"
        "synopsis -->' line just above it (see tests/docs/blocks.py)"
        for block in all_blocks()
        if block.is_shell and block.kind not in KINDS
    ]
    wrong += [
        f"{block.where}: unknown service(s) in {block.options['services']!r}"
        for block in all_blocks()
        if set(block.options.get("services", "").split(",")) - SERVICES - {""}
    ]
    assert wrong == []


def test_no_command_hides_outside_a_command_block() -> None:
    hidden = [
        f"{block.where}: {line.strip()!r} looks like a command; put it in a bash block"
        for block in all_blocks()
        if not block.is_shell and block.kind in (None, "output")
        for line in block.text.splitlines()
        if COMMAND_START.match(line)
    ]
    assert hidden == []


def _test_exists(node: str) -> bool:
    if node.startswith("ci:"):
        return True
    file, _, name = node.partition("::")
    path = ROOT / file
    if not path.is_file():
        return False
    tree = ast.parse(path.read_text())
    return any(isinstance(n, ast.FunctionDef) and n.name == name for n in ast.walk(tree))


def test_slow_commands_are_mapped_to_the_tests_that_run_them() -> None:
    shown = {
        command: block.where
        for block in all_blocks()
        if block.kind == "covered"
        for command in block.commands()
    }
    unmapped = [
        f"{where}: {c!r} is not in COVERED" for c, where in shown.items() if c not in COVERED
    ]
    assert unmapped == [], "add each to COVERED with the test that runs it"
    assert [c for c in COVERED if c not in shown] == [], "COVERED lists commands no page shows"
    missing = [node for node in COVERED.values() if not _test_exists(node)]
    assert missing == []
    for command, node in COVERED.items():
        if node.startswith("ci:"):
            script = (ROOT / node.removeprefix("ci:")).read_text()
            assert command in script, f"{node} does not run {command!r}"


def test_synopses_name_real_commands() -> None:
    for block in all_blocks():
        if block.kind != "synopsis":
            continue
        for line in block.commands():
            words = re.split(r"\s+(?=[\[<A-Z-])", line, maxsplit=1)[0].split()
            program = str(ROOT / ".venv" / "bin" / words[0])
            completed = subprocess.run(
                [program, *words[1:], "--help"], capture_output=True, text=True, check=False
            )
            assert completed.returncode == 0, (block.where, line, completed.stderr)


GIT_IDENTITY = ("-c", "user.name=doc-test", "-c", "user.email=doc-test@example.invalid")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *GIT_IDENTITY, *args], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()


def make_repository(destination: Path) -> Path:
    """A git repository holding this checkout's working tree, committed on 'main'."""
    for name in working_tree_files():
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    git(destination, "init", "-q", "-b", "main")
    git(destination, "add", "-A")
    git(destination, "commit", "-qm", "base")
    return destination


# -- running the pages ---------------------------------------------------------------------


@dataclass
class Workspace:
    root: Path
    env: dict[str, str]
    substitutions: dict[str, str] = field(default_factory=dict)


def _github(stack: ExitStack, workspace: Workspace) -> FakeGitHub:
    gh = stack.enter_context(FakeGitHub(org="conda-forge"))
    gh.add_repo("admin-requests")
    gh.add_token(OPERATOR_TOKEN, permissions=None)
    workspace.env.update({"GITHUB_API_URL": gh.url, "GITHUB_TOKEN": OPERATOR_TOKEN})
    workspace.substitutions["https://api.github.com"] = gh.url
    return gh


def _anaconda(stack: ExitStack, workspace: Workspace) -> FakeAnaconda:
    ac = stack.enter_context(FakeAnaconda())
    workspace.env.update({"ANACONDA_API_URL": ac.url, "ANACONDA_CHANNEL_URL": ac.url})
    return ac


def _vault(stack: ExitStack, workspace: Workspace, bao_addr: str, root_token: str) -> str:
    """The dev server, emptied of what an earlier page configured, and an OIDC issuer."""
    admin = VaultAdmin(bao_addr, root_token)
    for path in ("sys/auth/jwt", "sys/mounts/admin-requests", "sys/mounts/transit"):
        admin.call("DELETE", path)
    admin.call("DELETE", "sys/policies/acl/admin-requests-process")
    issuer = stack.enter_context(FakeOidcIssuer())
    workspace.env.update({"VAULT_ADDR": bao_addr, "VAULT_TOKEN": root_token})
    workspace.substitutions["https://token.actions.githubusercontent.com"] = issuer.url
    return issuer.url


def _commit_all(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-qm", message)


def setup_deployment(workspace: Workspace, gh: FakeGitHub | None, issuer: str | None) -> None:
    """What the operator has before the page: the App's key, downloaded from GitHub.

    The page reads two values (the anaconda.org machine account's username, then its
    password); the harness answers every ``read`` with one line, so it provides the
    username.
    """
    (workspace.root / "app-key.pem").write_bytes(generate_app_key()[0])
    workspace.env["ANACONDA_ORG_USERNAME"] = "doc-test-machine-account"


def setup_operations(workspace: Workspace, gh: FakeGitHub | None, issuer: str | None) -> None:
    """A running deployment with one parked request, as the runbooks assume."""
    assert gh is not None
    assert issuer is not None
    request = "requests/broken-numpy.yml"
    text = (ROOT / "docs" / "examples" / "broken.yml").read_text()
    (workspace.root / request).write_text(text)
    state = RequestState(
        request=request,
        content_sha256=content_digest(text),
        attempts=1,
        last_error="linux-64/numpy-2.0.0-py312h1103770_0.conda is not on the channel",
        parked=True,
        parked_reason="a permanent failure: retrying cannot help until someone acts",
        issue=1,
    )
    (workspace.root / "queue-state").mkdir(exist_ok=True)
    (workspace.root / "queue-state" / "broken-numpy.yml.json").write_text(state.to_json())
    _commit_all(workspace.root, "Add broken-numpy.yml (parked)")
    # The vault as deployment.md leaves it, with the App's key and the job's secret.
    admin = VaultAdmin(workspace.env["VAULT_ADDR"], workspace.env["VAULT_TOKEN"])
    params = TrustParameters(
        "conda-forge/admin-requests", "1000", "3000", "https://vault.example.org"
    )
    apply(admin, params, oidc_discovery_url=issuer)
    import_app_key(admin, params.transit_mount, params.transit_key, generate_app_key()[0])
    admin.call(
        "POST",
        f"{params.kv_mount}/data/{params.secret_path}",
        {
            "data": {
                "anaconda_org_username": "cf-machine-account",
                "anaconda_org_password": "org-password",
                "github_app_id": "4242",
                "github_installation_id": "77",
            }
        },
    )
    (workspace.root / "new-app-key.pem").write_bytes(generate_app_key()[0])
    # A token that leaked from a job log: an installation token of the App.
    leaked = "ghs_" + "leaked0" * 5
    gh.tokens[leaked] = FakeToken(
        leaked, frozenset({"numpy-feedstock"}), {"contents": "write"}, None, installation_id=77
    )
    workspace.env["LEAKED_TOKEN"] = leaked


PAGE_SETUP: dict[str, Callable[[Workspace, FakeGitHub | None, str | None], None]] = {
    "docs/deployment.md": setup_deployment,
    "docs/operations.md": setup_operations,
}


def check_deployment(workspace: Workspace, gh: FakeGitHub | None) -> None:
    """The page's commands configured the repository and the vault as it says."""
    assert gh is not None
    admin = gh.repo("admin-requests").admin
    production = admin.environments["production"]
    assert list(production["branch_policies"].values()) == [{"name": "main", "type": "branch"}]
    assert production["variables"]["VAULT_ADDR"] == "https://vault.example.org"
    assert admin.workflow_permissions["default_workflow_permissions"] == "read"
    # main takes reviewed pull requests only; the App whose id the vault holds is the
    # one actor past that rule (it pushes processing's results).
    ruleset = next(r for r in admin.rulesets.values() if r["name"] == "protect main")
    assert "pull_request" in {rule["type"] for rule in ruleset["rules"]}
    assert ruleset["bypass_actors"] == [
        {"actor_type": "Integration", "actor_id": 123456, "bypass_mode": "always"}
    ]
    vault = VaultAdmin(workspace.env["VAULT_ADDR"], workspace.env["VAULT_TOKEN"])
    secret = vault.call("GET", "admin-requests/data/process")["data"]["data"]
    assert secret == {
        "anaconda_org_username": "doc-test-machine-account",
        "anaconda_org_password": "doc-test-input",
        "github_app_id": "123456",
        "github_installation_id": "7890123",
    }
    assert not (workspace.root / "app-key.pem").exists()


def check_operations(workspace: Workspace, gh: FakeGitHub | None) -> None:
    """The runbooks rotated, revoked and left the parked request alone (dry run)."""
    assert gh is not None
    assert not gh.is_token_valid(workspace.env["LEAKED_TOKEN"])
    vault = VaultAdmin(workspace.env["VAULT_ADDR"], workspace.env["VAULT_TOKEN"])
    secret = vault.call("GET", "admin-requests/data/process")["data"]["data"]
    assert secret["anaconda_org_password"] == "doc-test-input"
    assert secret["anaconda_org_username"] == "cf-machine-account"  # patch kept the others
    assert secret["github_app_id"] == "4242"  # patch kept the other values
    key = vault.call("GET", "transit/keys/admin-requests-github-app")["data"]
    assert key["latest_version"] == 2
    state = json.loads((workspace.root / "queue-state" / "broken-numpy.yml.json").read_text())
    assert state["parked"] is True  # a dry run changes nothing


PAGE_CHECKS: dict[str, Callable[[Workspace, FakeGitHub | None], None]] = {
    "docs/deployment.md": check_deployment,
    "docs/operations.md": check_operations,
}


def _prepared(text: str, workspace: Workspace) -> str:
    lines = []
    for line in text.splitlines():
        assignment = re.match(
            r"^\s*(export\s+(\w+)=|read\s+(-\w+\s+)*(\w+)\s*$)", strip_comment(line)
        )
        name = assignment and (assignment.group(2) or assignment.group(4))
        if name and name in workspace.env:
            lines.append(f"# provided by the test harness: {line.strip()}")
            continue
        for production, local in workspace.substitutions.items():
            line = line.replace(production, local)
        lines.append(line)
    return "\n".join(lines) + "\n"


def run_block(block: Block, workspace: Workspace) -> subprocess.CompletedProcess[str]:
    script = workspace.root.parent / f"block-{block.line}.sh"
    script.write_text(_prepared(block.text, workspace))
    return subprocess.run(
        ["bash", "-euo", "pipefail", str(script)],
        cwd=workspace.root,
        env=workspace.env,
        input="doc-test-input\n",
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT,
        check=False,
    )


@pytest.fixture
def page_services(request: pytest.FixtureRequest) -> Iterator[tuple[str, str] | None]:
    page: Page = request.param
    if "vault" not in page.services:
        yield None
        return
    server = request.getfixturevalue("bao_server")
    yield server.addr, server.root_token


@pytest.mark.parametrize(
    ("page", "page_services"),
    [pytest.param(p, p, id=str(p.path.relative_to(ROOT))) for p in run_pages()],
    indirect=["page_services"],
)
def test_runnable_commands_of_each_page_work(
    page: Page, page_services: tuple[str, str] | None, tmp_path: Path
) -> None:
    root = make_repository(tmp_path / "admin-requests")
    (root / ".venv").symlink_to(ROOT / ".venv")
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8", "NO_COLOR": "1"}
    # "git clone" of the project's repository clones this checkout's copy instead.
    workspace = Workspace(root, env, {"https://github.com/conda-forge/admin-requests": str(root)})
    relative = str(page.path.relative_to(ROOT))
    with ExitStack() as stack:
        gh = _github(stack, workspace) if "github" in page.services else None
        if "anaconda" in page.services:
            _anaconda(stack, workspace)
        issuer = None
        if page_services is not None:
            issuer = _vault(stack, workspace, *page_services)
        if relative in PAGE_SETUP:
            PAGE_SETUP[relative](workspace, gh, issuer)
        output = ""
        for block in page.blocks:
            if block.kind == "output":
                missing = [
                    line for line in block.text.splitlines() if line.strip() and line not in output
                ]
                assert missing == [], (
                    f"{block.where}: the page shows output the command did not print"
                )
                continue
            completed = run_block(block, workspace)
            output = completed.stdout
            expected = int(block.options.get("exit", "0"))
            assert completed.returncode == expected, (
                f"{block.where} exited {completed.returncode}, expected {expected}:\n"
                f"{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
            )
        if relative in PAGE_CHECKS:
            PAGE_CHECKS[relative](workspace, gh)


def test_the_pages_are_found() -> None:
    names = {str(p.relative_to(ROOT)) for p in documentation_files()}
    assert {"README.md", "docs/getting-started.md", "docs/deployment.md"} <= names
    assert {str(p.path.relative_to(ROOT)) for p in run_pages()} >= set(PAGE_SETUP)
