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
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "read"}
    assert "secrets." not in text
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
    assert any(
        "admin-requests check --changed-since" in step.get("run", "") for step in job["steps"]
    )
