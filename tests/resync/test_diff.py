"""resync/diff.py: show_diff.py run away from every credential, and its output read."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from admin_requests.errors import PermanentError, TransientError
from admin_requests.resync.diff import is_empty, show_diff
from tests.resync.world import DIFF, EMPTY, checkout_with


def test_an_empty_diff_is_what_upstream_calls_empty() -> None:
    assert is_empty(EMPTY)
    assert is_empty("")
    assert not is_empty(DIFF)
    assert not is_empty("noarch\nsomething else\n")


def test_show_diff_runs_with_no_credential_in_reach(tmp_path: Path) -> None:
    checkout = checkout_with(tmp_path, DIFF)
    environ = {
        "PATH": "/usr/bin:/bin",
        "GITHUB_TOKEN": "ghs_job_token",
        "ACTIONS_ID_TOKEN_REQUEST_URL": "http://127.0.0.1:9/oidc",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "oidc-request-token",
        "VAULT_ADDR": "http://127.0.0.1:8200",
        "VAULT_TOKEN": "hvs.secret",
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraheader",
        "GIT_CONFIG_VALUE_0": "AUTHORIZATION: basic c2VjcmV0",
        "ANACONDA_API_TOKEN": "ac-secret",
    }
    # The probe's path cannot come through the environment (it is allowlisted away),
    # so the stand-in writes it beside itself, in recipe/.
    assert show_diff(checkout, sys.executable, environ) == DIFF
    found = json.loads((checkout / "recipe" / "probe.json").read_text())
    leaked = {name for name in found["environ"] if name in environ and name != "PATH"}
    assert leaked == set()
    secrets = ["ghs_job_token", "oidc-request-token", "hvs.secret", "c2VjcmV0", "ac-secret"]
    assert [v for v in found["environ"].values() if any(s in v for s in secrets)] == []
    assert found["home"] == []  # a fresh, empty HOME


def test_show_diff_says_what_went_wrong(tmp_path: Path) -> None:
    with pytest.raises(PermanentError, match="check out conda-forge-repodata-patches"):
        show_diff(tmp_path, sys.executable, {})
    checkout = checkout_with(tmp_path, DIFF)
    (checkout / "recipe" / "show_diff.py").write_text("import sys; sys.exit('no conda')\n")
    with pytest.raises(TransientError, match="exited 1:\nno conda"):
        show_diff(checkout, sys.executable, {})
    with pytest.raises(PermanentError, match="set SHOW_DIFF_PYTHON"):
        show_diff(checkout, str(tmp_path / "no-python"), {})
