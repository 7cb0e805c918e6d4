"""The PR check workflow keeps the least privilege the design requires."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def _load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text())


def test_check_workflow_is_read_only_and_secret_free(repo_root: Path) -> None:
    path = repo_root / ".github" / "workflows" / "check.yml"
    workflow = _load(path)
    text = path.read_text()
    assert set(workflow["on"]) == {"pull_request"}
    assert workflow["on"]["pull_request"]["paths"] == ["requests/**"]
    assert workflow["permissions"] == {}
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert set(workflow["jobs"]) == {"check", "online"}
    assert "secrets." not in text
    for job in workflow["jobs"].values():
        _check_job_is_read_only(job, text)
    job = workflow["jobs"]["check"]
    assert any(
        "admin-requests check --changed-since" in step.get("run", "") for step in job["steps"]
    )


def test_only_the_online_step_gets_the_token_and_only_after_the_offline_check(
    repo_root: Path,
) -> None:
    workflow = _load(repo_root / ".github" / "workflows" / "check.yml")
    online = workflow["jobs"]["online"]
    assert online["needs"] == "check"
    given = [
        (name, step)
        for name, job in workflow["jobs"].items()
        for step in job["steps"]
        if "GITHUB_TOKEN" in step.get("env", {}) or "github.token" in str(step.get("with", {}))
    ]
    assert [(name, step["env"]["GITHUB_TOKEN"]) for name, step in given] == [
        ("online", "${{ github.token }}")
    ]
    (_, step) = given[0]
    assert step["run"] == '.venv/bin/admin-requests check --changed-since "$BASE_SHA" --online'
    # The steps before it prove the job holds nothing, the token included.
    proof = next(s for s in online["steps"] if s["name"] == "prove this job holds no credentials")
    assert "${GITHUB_TOKEN:-}" in proof["run"]
    assert online["steps"].index(proof) < online["steps"].index(step)


def _check_job_is_read_only(job: dict[str, Any], text: str) -> None:
    assert job["permissions"] == {"contents": "read"}
    assert "id-token" not in job["permissions"]
    assert "environment" not in job
    for step in job["steps"]:
        assert "${{" not in step.get("run", "")
        uses = step.get("uses")
        if uses is None or uses.startswith("./"):
            continue
        assert SHA_PIN.match(uses), uses
        assert re.search(re.escape(uses) + r"\s+# v\d+\.\d+\.\d+", text), uses
        if uses.startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False
