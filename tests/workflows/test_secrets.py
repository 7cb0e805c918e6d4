"""No stored secret, no privileged pull-request trigger, no OIDC for pull requests.

Reads every YAML file under .github/ and actions/, so a new workflow or action is
covered without editing this test. The checks are also run on small bad examples, so
a check that silently stopped matching would fail here too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
SECRET_REFERENCE = re.compile(r"secrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_-]*)|\[)")
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
PR_TRIGGERS = {
    "pull_request",
    "pull_request_target",
    "pull_request_review",
    "pull_request_review_comment",
}
CREDENTIALS_ACTION = "./actions/vault-credentials"
# GitHub Pages deployments need the job's OIDC token too. The vault only trusts the
# production environment, so a github-pages token cannot get credentials; the job may
# still run nothing but the deploy action.
PAGES_ENVIRONMENT, PAGES_DEPLOY_ACTION = "github-pages", "actions/deploy-pages@"


def yaml_files() -> list[Path]:
    found = []
    for top in (ROOT / ".github", ROOT / "actions"):
        if top.is_dir():
            found += sorted(p for p in top.rglob("*") if p.suffix in (".yml", ".yaml"))
    return found


def load(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def walk(node: Any) -> Iterator[tuple[str, Any]]:
    """(key, value) for every mapping entry, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key), value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


# -- the checks -------------------------------------------------------------------------


def stored_secret_references(text: str) -> list[str]:
    bad = []
    for expression in EXPRESSION.findall(text):
        for match in SECRET_REFERENCE.finditer(expression):
            name = match.group(1)
            if name != "GITHUB_TOKEN":
                bad.append(name or "secrets[...]")
    # 'secrets: inherit' hands every stored secret to a called workflow.
    if re.search(r"^\s*secrets:\s*inherit\s*$", text, re.MULTILINE):
        bad.append("secrets: inherit")
    return bad


def triggers(document: Any) -> set[str]:
    on = document.get("on", document.get(True)) if isinstance(document, dict) else None
    if isinstance(on, str):
        return {on}
    if isinstance(on, list):
        return {str(t) for t in on}
    if isinstance(on, dict):
        return {str(t) for t in on}
    return set()


def id_token_grants(document: Any) -> list[str]:
    """Where a workflow grants id-token (top level or any job), or write-all."""
    where = []
    scopes = [("workflow", document.get("permissions"))]
    scopes += [
        (f"job {name}", job.get("permissions"))
        for name, job in (document.get("jobs") or {}).items()
    ]
    for label, permissions in scopes:
        if permissions in ("write-all", "read-all") or (
            isinstance(permissions, dict) and "id-token" in permissions
        ):
            where.append(label)
    return where


def uses_credentials_action(document: Any) -> bool:
    return any(
        key == "uses" and str(value).startswith(CREDENTIALS_ACTION) for key, value in walk(document)
    )


def expressions_in_run(document: Any) -> list[str]:
    return [str(value) for key, value in walk(document) if key == "run" and "${{" in str(value)]


# A URL with credentials in it ('https://x-access-token:$TOKEN@host') or a command that
# stores one in git's config: either leaves the token in .git/config for later steps.
TOKEN_IN_GIT_CONFIG = re.compile(
    r"://[^/\s\"']*@|remote\s+set-url|git\s+config\b[^\n]*(url\.|extraheader)"
)


def tokens_written_for_git(document: Any) -> list[str]:
    return [
        str(value)
        for key, value in walk(document)
        if key == "run" and TOKEN_IN_GIT_CONFIG.search(str(value))
    ]


def only_deploys_pages(job: Any) -> bool:
    steps = job.get("steps") or []
    return bool(steps) and all(
        set(step) <= {"name", "id", "uses", "with"}
        and str(step.get("uses", "")).startswith(PAGES_DEPLOY_ACTION)
        for step in steps
    )


def jobs_with_id_token_outside_production(document: Any) -> list[str]:
    bad = []
    for name, job in (document.get("jobs") or {}).items():
        permissions = job.get("permissions") or {}
        if isinstance(permissions, dict) and permissions.get("id-token") == "write":
            environment = job.get("environment")
            if isinstance(environment, dict):
                environment = environment.get("name")
            if environment == PAGES_ENVIRONMENT and only_deploys_pages(job):
                continue
            if environment != "production":
                bad.append(name)
    return bad


# -- the repository's files -------------------------------------------------------------

FILES = yaml_files()


def test_there_is_something_to_check() -> None:
    assert ROOT.joinpath("actions", "vault-credentials", "action.yml") in FILES


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_stored_secret_but_github_token(path: Path) -> None:
    assert stored_secret_references(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_expression_inside_run(path: Path) -> None:
    assert expressions_in_run(load(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_step_writes_a_token_into_git_config(path: Path) -> None:
    # Pushes authenticate per command (admin_requests/git_auth.py).
    assert tokens_written_for_git(load(path.read_text(encoding="utf-8"))) == []


def test_the_git_config_check_catches_a_token_in_a_remote_url() -> None:
    bad = {
        "steps": [
            {"run": 'git remote set-url origin "https://x-access-token:${T}@github.com/o/r.git"'}
        ]
    }
    assert tokens_written_for_git(bad) != []
    assert tokens_written_for_git({"steps": [{"run": "git push origin main"}]}) == []


WORKFLOWS = [p for p in FILES if p.parent == ROOT / ".github" / "workflows"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_pull_request_target_and_no_oidc_for_pull_requests(path: Path) -> None:
    document = load(path.read_text(encoding="utf-8"))
    on = triggers(document)
    assert "pull_request_target" not in on
    assert "workflow_run" not in on  # runs with secrets after an untrusted PR's workflow
    if on & PR_TRIGGERS:
        assert id_token_grants(document) == []
        assert not uses_credentials_action(document)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_oidc_only_in_the_production_environment(path: Path) -> None:
    assert jobs_with_id_token_outside_production(load(path.read_text(encoding="utf-8"))) == []


# -- the checks catch what they should --------------------------------------------------

BAD_WORKFLOW = """
name: bad
on:
  pull_request_target:
  pull_request:
permissions:
  id-token: write
jobs:
  leak:
    runs-on: ubuntu-latest
    permissions:
      id-token: write
    steps:
      - uses: ./actions/vault-credentials
      - run: echo ${{ github.event.pull_request.title }}
        env:
          TOKEN: ${{ secrets.ADMIN_PAT }}
          OTHER: ${{ secrets['BINSTAR_TOKEN'] }}
          FINE: ${{ secrets.GITHUB_TOKEN }}
  reuse:
    uses: ./.github/workflows/other.yml
    secrets: inherit
  pages:
    runs-on: ubuntu-latest
    environment: github-pages
    permissions:
      id-token: write
    steps:
      - run: ./build.sh
      - uses: actions/deploy-pages@d6db90164ac5ed86f2b6aed7e0febac5b3c0c03e
"""


def test_checks_flag_a_bad_workflow() -> None:
    document = load(BAD_WORKFLOW)
    assert stored_secret_references(BAD_WORKFLOW) == [
        "ADMIN_PAT",
        "secrets[...]",
        "secrets: inherit",
    ]
    assert {"pull_request_target", "pull_request"} <= triggers(document)
    assert id_token_grants(document) == ["workflow", "job leak", "job pages"]
    assert uses_credentials_action(document)
    assert expressions_in_run(document) == ["echo ${{ github.event.pull_request.title }}"]
    assert jobs_with_id_token_outside_production(document) == ["leak", "pages"]


def test_checks_pass_a_good_processing_job() -> None:
    good = """
on: {push: {branches: [main]}, schedule: [{cron: "*/15 * * * *"}], workflow_dispatch: {}}
permissions: {}
jobs:
  process:
    environment: production
    permissions: {contents: write, id-token: write}
    steps:
      - uses: ./actions/vault-credentials
      - run: admin-requests run
        env: {GITHUB_TOKEN: "${{ secrets.GITHUB_TOKEN }}"}
"""
    document = load(good)
    assert stored_secret_references(good) == []
    assert jobs_with_id_token_outside_production(document) == []
    assert expressions_in_run(document) == []


# -- the processing job gets its credentials through the action ---------------------------

PROCESS = ROOT / ".github" / "workflows" / "process.yml"


def credential_wiring_problems(document: Any) -> list[str]:
    """What is wrong with how a processing job wires actions/vault-credentials."""
    problems = []
    for name, job in (document.get("jobs") or {}).items():
        steps = job.get("steps") or []
        runs = [i for i, s in enumerate(steps) if "admin-requests run" in str(s.get("run", ""))]
        if not runs:
            continue
        uses = [
            i for i, s in enumerate(steps) if str(s.get("uses", "")).startswith(CREDENTIALS_ACTION)
        ]
        if not uses or uses[0] > runs[0]:
            problems.append(f"{name}: no {CREDENTIALS_ACTION} step before 'admin-requests run'")
            continue
        step = steps[uses[0]]
        if "dry_run" not in str(step.get("if", "")):
            problems.append(f"{name}: the credentials step also runs for dry runs")
        for key, value in (step.get("with") or {}).items():
            for expression in EXPRESSION.findall(str(value)):
                if not re.fullmatch(r"\s*vars\.[A-Z_]+(\s*\|\|\s*'[^']*')?\s*", expression):
                    problems.append(f"{name}: input {key} comes from {expression.strip()!r}")
    return problems


def test_the_processing_job_gets_its_credentials_through_the_action() -> None:
    document = load(PROCESS.read_text(encoding="utf-8"))
    runs = [
        step
        for job in document["jobs"].values()
        for step in job["steps"]
        if "admin-requests run" in str(step.get("run", ""))
    ]
    assert len(runs) == 1  # so the check below has something to check
    assert credential_wiring_problems(document) == []


def test_the_wiring_check_catches_bad_jobs() -> None:
    bad = """
jobs:
  missing:
    steps:
      - run: .venv/bin/admin-requests run --push
  late:
    steps:
      - run: .venv/bin/admin-requests run --push
      - uses: ./actions/vault-credentials
  leaky:
    steps:
      - uses: ./actions/vault-credentials
        with:
          vault-addr: ${{ github.event.inputs.addr }}
          audience: ${{ vars.AUDIENCE || 'x' }}
      - run: .venv/bin/admin-requests run --push
"""
    assert credential_wiring_problems(load(bad)) == [
        "missing: no ./actions/vault-credentials step before 'admin-requests run'",
        "late: no ./actions/vault-credentials step before 'admin-requests run'",
        "leaky: the credentials step also runs for dry runs",
        "leaky: input vault-addr comes from 'github.event.inputs.addr'",
    ]


def test_the_processing_job_neither_installs_nor_runs_conda_smithy() -> None:
    """Issue 16: a rerender runs the feedstock's recipe; never where the credentials are."""
    text = PROCESS.read_text(encoding="utf-8")
    job = load(text)["jobs"]["process"]
    for step in job["steps"]:
        assert "conda-smithy" not in str(step.get("run", ""))
        assert "CONDA_SMITHY" not in (step.get("env") or {})
    assert "CONDA_SMITHY_VERSION" not in text


# -- jobs that hold a credential install only the runtime lock ----------------------------

SETUP_ACTION = "./actions/setup"


def holds_a_credential(job: Any) -> bool:
    """The job can get its OIDC token, or hands GITHUB_TOKEN/a secret to a step."""
    permissions = job.get("permissions") or {}
    text = str(job)
    return (
        (isinstance(permissions, dict) and permissions.get("id-token") == "write")
        or permissions == "write-all"
        or "github.token" in text
        or bool(SECRET_REFERENCE.search(text))
    )


def setup_lock_problems(document: Any) -> list[str]:
    """Jobs holding a credential that set up admin-requests without the runtime lock."""
    problems = []
    for name, job in (document.get("jobs") or {}).items():
        if not holds_a_credential(job):
            continue
        for step in job.get("steps") or []:
            if str(step.get("uses", "")).startswith(SETUP_ACTION):
                lock = (step.get("with") or {}).get("lock")
                if lock != "runtime":
                    problems.append(f"{name}: sets up with lock {lock!r}, not 'runtime'")
    return problems


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_jobs_holding_a_credential_install_only_the_runtime_lock(path: Path) -> None:
    assert setup_lock_problems(load(path.read_text(encoding="utf-8"))) == []


def test_the_lock_check_catches_a_privileged_job_with_the_development_lock() -> None:
    bad = """
jobs:
  oidc:
    permissions:
      id-token: write
    steps:
      - uses: ./actions/setup
        with:
          lock: development
  token:
    steps:
      - uses: ./actions/setup
      - run: .venv/bin/admin-requests status
        env:
          GITHUB_TOKEN: ${{ github.token }}
  harmless:
    permissions:
      contents: read
    steps:
      - uses: ./actions/setup
        with:
          lock: development
"""
    assert setup_lock_problems(load(bad)) == [
        "oidc: sets up with lock 'development', not 'runtime'",
        "token: sets up with lock None, not 'runtime'",
    ]


def test_process_and_status_hold_credentials_and_so_are_checked() -> None:
    checked = {
        (path.name, name)
        for path in WORKFLOWS
        for name, job in (load(path.read_text(encoding="utf-8")).get("jobs") or {}).items()
        if holds_a_credential(job)
    }
    assert {("process.yml", "process"), ("status.yml", "build")} <= checked


BACKEND_VARIABLES = {
    "vault": {
        "ADMIN_REQUESTS_CREDENTIALS",
        "ADMIN_REQUESTS_OIDC_AUDIENCE",
        "VAULT_ADDR",
        "ADMIN_REQUESTS_GITHUB_APP_ID",
        "ADMIN_REQUESTS_GITHUB_APP_INSTALLATION_ID",
    },
    "aws": {
        "ADMIN_REQUESTS_CREDENTIALS",
        "ADMIN_REQUESTS_OIDC_AUDIENCE",
        "ADMIN_REQUESTS_AWS_ROLE_ARN",
        "ADMIN_REQUESTS_AWS_SECRET_ID",
        "ADMIN_REQUESTS_AWS_KMS_KEY_ID",
    },
}
# Repository variables (docs/deployment.md, "Repository variables"): tuning and test
# seams, set on the repository, not the environment, so `deploy apply` leaves them be.
REPOSITORY_VARIABLES = {
    "ADMIN_REQUESTS_CI_APPS",
    "ADMIN_REQUESTS_PROTECTED_REPOSITORIES",
    "ADMIN_REQUESTS_RUN_BUDGET",
    "STAGED_RECIPES_REPOSITORY",
    "REPODATA_PATCHES_REPOSITORY",
    "CONDA_SMITHY",
    "SHOW_DIFF_PYTHON",
}
# Read by process.yml for the other backend (AWS_REGION has a default there).
OPTIONAL_ELSEWHERE = {"AWS_REGION"}


def production_reads(document: Any) -> set[str]:
    """The vars.* names read by the jobs that run in the production environment."""
    read: set[str] = set()
    for job in (document.get("jobs") or {}).values():
        if job.get("environment") == "production":
            read |= set(re.findall(r"vars\.([A-Z0-9_]+)", json.dumps(job)))
    return read


def declared_variables(backend: str) -> set[str]:
    """What the environment gets: repository.yml's, with the backend's merged over."""
    declared: set[str] = set()
    for name in ("repository.yml", f"backend-{backend}.yml"):
        spec = load((ROOT / "deploy" / "github" / name).read_text())
        production = spec["environments"]["production"]
        declared |= set(production.get("variables") or {})
        declared |= set(production.get("optional_variables") or {})
    return declared


def undeclared(read: set[str], declared: set[str]) -> set[str]:
    return read - declared - REPOSITORY_VARIABLES - OPTIONAL_ELSEWHERE


@pytest.mark.parametrize("backend", sorted(BACKEND_VARIABLES))
def test_the_deployed_environment_variables_are_the_ones_the_workflows_read(backend: str) -> None:
    """deploy/github/ sets what the production jobs read as vars.*: no name drifts apart.

    A name a job reads that the spec does not declare is removed by `deploy apply` (the
    environment's variables are the exact set) and so never reaches the job."""
    reads = {p.name: production_reads(load(p.read_text(encoding="utf-8"))) for p in WORKFLOWS}
    declared = declared_variables(backend)
    assert declared - set().union(*reads.values()) == set()  # nothing set that none reads
    assert BACKEND_VARIABLES[backend] - declared == set()  # nothing needed left unset
    overlay = load((ROOT / "deploy" / "github" / f"backend-{backend}.yml").read_text())
    assert overlay["environments"]["production"]["variables"]["ADMIN_REQUESTS_CREDENTIALS"] == (
        backend
    )
    # Every name read is declared by one of the backends or is a repository variable;
    # the workflows that only work with the vault read only what the vault declares.
    both = declared_variables("vault") | declared_variables("aws")
    assert undeclared(reads["process.yml"], both) == set()
    for vault_only in ("create-feedstocks.yml", "repodata-resync.yml"):
        assert undeclared(reads[vault_only], declared_variables("vault")) == set(), vault_only


def test_the_variable_check_catches_a_name_nobody_declares() -> None:
    """What process.yml once read: VAULT_ROLE and VAULT_NAMESPACE, declared nowhere."""
    job = {
        "jobs": {
            "process": {
                "environment": "production",
                "steps": [
                    {
                        "with": {
                            "vault-namespace": "${{ vars.VAULT_NAMESPACE }}",
                            "vault-role": "${{ vars.VAULT_ROLE || 'admin-requests-process' }}",
                            "budget": "${{ vars.ADMIN_REQUESTS_RUN_BUDGET }}",
                        }
                    }
                ],
            },
            "render": {"steps": [{"env": {"X": "${{ vars.NOT_PRODUCTION }}"}}]},
        }
    }
    assert production_reads(job) == {"VAULT_NAMESPACE", "VAULT_ROLE", "ADMIN_REQUESTS_RUN_BUDGET"}
    assert undeclared(production_reads(job), set()) == {"VAULT_NAMESPACE", "VAULT_ROLE"}
    assert undeclared(production_reads(job), declared_variables("vault")) == {"VAULT_ROLE"}
