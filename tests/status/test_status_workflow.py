"""status.yml: read-only build, Pages deploy with only what it needs, pinned actions.

The workflow is not run under act: its two Pages actions would have to be fetched from
GitHub. What its build step runs is tested in test_cli.py, with the same environment.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from admin_requests.cli import build_parser

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "status.yml"
PINNED = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40})  # v\d+\.\d+\.\d+$")


def _load() -> Any:
    return YAML(typ="safe", pure=True).load(WORKFLOW.read_text())


def _steps(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["name"]: step for step in job["steps"]}


def test_triggers_follow_processing_without_workflow_run() -> None:
    on = _load()["on"]
    assert set(on) == {"schedule", "push", "workflow_dispatch"}
    assert on["push"] == {"branches": ["main"]}
    [schedule] = on["schedule"]
    minutes = schedule["cron"].split()[0].split(",")
    # A few minutes after each of processing's */15 runs.
    assert sorted(int(m) % 15 for m in minutes) == [7, 7, 7, 7]


def test_least_privilege_per_job() -> None:
    workflow = _load()
    assert workflow["permissions"] == {}
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    assert build["permissions"] == {
        "contents": "read",
        "issues": "read",
        "actions": "read",
        "pull-requests": "read",
    }
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["needs"] == "build"
    assert [step["uses"].split("@")[0] for step in deploy["steps"]] == ["actions/deploy-pages"]
    assert "steps.deployment.outputs.page_url" in deploy["environment"]["url"]
    lines = WORKFLOW.read_text().splitlines()
    grants = [line for line in lines if re.match(r"^\s+[a-z-]+: (read|write)\b", line)]
    assert len(grants) == 6
    assert all("  # why: " in line for line in grants), grants


def test_actions_are_pinned_and_checkout_keeps_no_credentials() -> None:
    uses = [line for line in WORKFLOW.read_text().splitlines() if "uses:" in line]
    remote = [line for line in uses if "./actions/" not in line]
    assert len(remote) == 3
    assert all(PINNED.match(line) for line in remote), remote
    steps = _steps(_load()["jobs"]["build"])
    checkout = steps["check out main with its history"]
    assert checkout["with"] == {"persist-credentials": False, "fetch-depth": 0}


def test_build_step_runs_the_status_command_and_uploads_its_folder() -> None:
    steps = _steps(_load()["jobs"]["build"])
    render = steps["render the page"]
    argv = shlex.split(render["run"])
    assert argv[0] == ".venv/bin/admin-requests"
    args = build_parser().parse_args(argv[1:])
    assert args.command == "status"
    assert render["env"] == {"GITHUB_TOKEN": "${{ github.token }}"}
    assert steps["keep the page for the deploy job"]["with"] == {"path": args.output}
    # The previous page's status.json, fetched without a credential, always a file.
    fetch = steps["fetch the page published last time"]
    assert "env" not in fetch
    assert "previous.json" in fetch["run"]
    assert "|| echo '{}' > previous.json" in fetch["run"]
    assert args.previous == "previous.json"
    names = list(steps)
    assert names.index("fetch the page published last time") < names.index("render the page")
