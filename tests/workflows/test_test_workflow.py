"""test.yml runs the suite on code pull requests with nothing to steal; dependabot.yml keeps
every pin current, a week behind.

The properties every workflow shares (no stored secret, no OIDC for pull requests, no
expression in run:) are tests/workflows/test_secrets.py's; these are test.yml's own.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
TEST_WORKFLOW = ROOT / ".github" / "workflows" / "test.yml"
DEPENDABOT = ROOT / ".github" / "dependabot.yml"
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
# What the suite reads: a change to any of these can break it, so it runs on each.
TESTED_PATHS = [
    ".github/**",
    "actions/**",
    "scripts/**",
    "tests/**",
    "sandbox/**",
    "benchmarks/**",
    "docs/**",
    "vault/**",
    "deploy/**",
    "requirements/**",
    "dev.py",
    "pyproject.toml",
    "mkdocs.yml",
]


def _load(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def _job() -> Any:
    (job,) = _load(TEST_WORKFLOW)["jobs"].values()
    return job


def test_runs_on_pull_requests_that_change_what_the_suite_reads() -> None:
    workflow = _load(TEST_WORKFLOW)
    assert set(workflow["on"]) == {"pull_request"}
    assert workflow["on"]["pull_request"]["paths"] == TESTED_PATHS
    assert workflow["concurrency"]["cancel-in-progress"] is True


def test_every_top_level_folder_with_python_in_it_is_in_the_paths() -> None:
    """A new top-level package or script is not left out of the pull-request tests."""
    covered = {path.removesuffix("/**") for path in TESTED_PATHS}
    # The repository's files, as git sees them (not .venv/, site/ or other ignored output).
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    with_python = {Path(os.fsdecode(raw)).parts[0] for raw in filter(None, listed)}
    assert {"scripts", "tests", "dev.py"} <= with_python  # the listing found the files
    assert with_python - covered == set()


def test_holds_no_credential_and_reads_only() -> None:
    workflow = _load(TEST_WORKFLOW)
    text = TEST_WORKFLOW.read_text(encoding="utf-8")
    assert workflow["permissions"] == {}
    job = _job()
    assert job["permissions"] == {"contents": "read"}  # so no id-token either
    assert "environment" not in job
    assert "secrets" not in job
    assert "secrets." not in text
    assert "${{" not in "".join(step.get("run", "") for step in job["steps"])
    proof = " ".join(step.get("run", "") for step in job["steps"])
    assert "ACTIONS_ID_TOKEN_REQUEST_URL" in proof  # the step that fails if OIDC appears


def test_actions_are_pinned_by_commit_and_checkout_keeps_no_credential() -> None:
    text = TEST_WORKFLOW.read_text(encoding="utf-8")
    remote = [s["uses"] for s in _job()["steps"] if not s.get("uses", "./").startswith("./")]
    assert remote, "nothing to check"
    for uses in remote:
        assert SHA_PIN.match(uses), uses
        assert re.search(re.escape(uses) + r"\s+# v\d+\.\d+\.\d+", text), uses
    (checkout,) = [s for s in _job()["steps"] if s.get("uses", "").startswith("actions/checkout@")]
    assert checkout["with"]["persist-credentials"] is False


def test_runs_the_whole_suite_as_anyone_would() -> None:
    runs = [step.get("run", "").strip() for step in _job()["steps"]]
    assert "python3 dev.py test" in runs


# -- dependabot --------------------------------------------------------------------------


def _updates() -> dict[str, Any]:
    updates = _load(DEPENDABOT)["updates"]
    by_ecosystem = {update["package-ecosystem"]: update for update in updates}
    assert len(by_ecosystem) == len(updates)
    return by_ecosystem


def test_dependabot_covers_the_workflows_every_composite_action_and_the_lock_file() -> None:
    updates = _updates()
    assert set(updates) == {"github-actions", "pip"}
    composite = {f"/{p.parent.relative_to(ROOT)}" for p in ROOT.glob("actions/*/action.yml")}
    assert composite, "nothing to check"
    # Dependabot reads .github/workflows/ from "/" and only the action.yml at the top of
    # each listed directory, so every composite action needs its own entry.
    assert set(updates["github-actions"]["directories"]) == {"/", *composite}
    assert updates["pip"]["directory"] == "/requirements"
    assert (ROOT / "requirements" / "lock.txt").is_file()


def test_dependabot_waits_a_week_and_groups_each_ecosystem() -> None:
    for ecosystem, update in _updates().items():
        assert update["cooldown"]["default-days"] >= 7, ecosystem
        assert update["schedule"]["interval"] == "weekly", ecosystem
        (group,) = update["groups"].values()
        assert group["patterns"] == ["*"], ecosystem
