"""`admin-requests check` stays offline: it loads no client, credential or HTTP library.

The pull-request workflow runs ``check`` on untrusted files with no credentials at all;
importing the clients there would be dead weight at best (PyGithub alone costs more than
the whole check) and a temptation to reach the network at worst. A fresh interpreter is
the only honest place to look: in pytest's own process other tests have imported
everything already.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# The admin_requests packages that hold the online side, and the libraries they bring.
ONLINE_MODULES = (
    "admin_requests.services",
    "admin_requests.credentials",
    "github",  # PyGithub
    "requests",
    "urllib3",
    "hvac",
    "boto3",
    "botocore",
    "nacl",
)

# A valid request file, like the archive kind's example.
ARCHIVE_REQUEST = "action: archive\nfeedstocks:\n  - python-wget\n  - coreapi\n"

CHECK_THEN_LIST_MODULES = """
import json, sys
from admin_requests.cli import main
code = main(["check", sys.argv[1]])
with open(sys.argv[2], "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""


def _online(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == o or m.startswith(f"{o}.") for o in ONLINE_MODULES)]


@pytest.mark.parametrize("in_actions", [False, True], ids=["terminal", "pull-request-job"])
def test_check_imports_nothing_that_reaches_the_network(tmp_path: Path, in_actions: bool) -> None:
    request = tmp_path / "archive.yml"
    request.write_text(ARCHIVE_REQUEST)
    result_file = tmp_path / "result.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    if in_actions:
        # The PR workflow also writes annotations and a step summary (jinja2).
        env |= {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    completed = subprocess.run(
        [sys.executable, "-c", CHECK_THEN_LIST_MODULES, str(request), str(result_file)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert "1 valid, 0 with problems" in completed.stdout
    result = json.loads(result_file.read_text())
    assert result["code"] == 0
    online = _online(result["modules"])
    assert not online, f"check imported {len(online)} online module(s): {online[:12]}"
    if in_actions:
        assert "archive" in (tmp_path / "summary.md").read_text()
