"""The conda-smithy adapter's git plumbing, against a local bare repository.

conda-smithy itself cannot be installed here (PyPI has only a 0.0.0 placeholder), so a
stand-in script takes its place on the command line: it records its arguments and
changes a file the way a rerender does. What is real: the clone of the branch, the
commit check, the push, the token travelling only in git's environment, and the errors.
What is not tested here: what the real ``conda-smithy rerender`` writes.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from admin_requests.credentials.redact import Secret
from admin_requests.errors import PermanentError, TransientError
from admin_requests.services.smithy import CondaSmithyRerenderer

TOKEN = "ghs_rerender_token_0123456789"

STAND_IN = """\
#!{python}
import json, os, subprocess, sys
from pathlib import Path
args = sys.argv[1:]
directory = Path(args[args.index("--feedstock_directory") + 1])
Path(os.environ["SMITHY_LOG"]).write_text(json.dumps({{
    "args": args,
    "token_in_args": any({token!r} in a for a in args),
    "header_in_env": "AUTHORIZATION" in os.environ.get("GIT_CONFIG_VALUE_0", ""),
}}))
if os.environ.get("SMITHY_MODE") == "fail":
    print("conda-smithy: the recipe does not render", file=sys.stderr)
    sys.exit(1)
if os.environ.get("SMITHY_MODE") != "nothing":
    (directory / ".ci_support").mkdir(exist_ok=True)
    (directory / ".ci_support" / "linux_64_.yaml").write_text("github_actions_labels: [gpu]\\n")
    subprocess.run(["git", "add", "-A"], cwd=directory, check=True)
    subprocess.run(["git", "commit", "-qm", "MNT: Re-rendered"], cwd=directory, check=True)
"""


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """conda-forge/foo-feedstock.git with a branch 'cirun' to rerender."""
    org = tmp_path / "remote" / "conda-forge"
    org.mkdir(parents=True)
    bare = org / "foo-feedstock.git"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare), cwd=tmp_path)
    work = tmp_path / "seed"
    git("clone", "--quiet", str(bare), str(work), cwd=tmp_path)
    (work / "conda-forge.yml").write_text("provider: {linux_64: github_actions}\n")
    git("add", "-A", cwd=work)
    git("commit", "-qm", "seed", cwd=work)
    git("push", "--quiet", "origin", "HEAD:main", "HEAD:cirun", cwd=work)
    return org


@pytest.fixture
def smithy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    script = tmp_path / "bin" / "conda-smithy"
    script.parent.mkdir()
    script.write_text(STAND_IN.format(python=sys.executable, token=TOKEN))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("SMITHY_LOG", str(tmp_path / "smithy.json"))
    return script


def rerenderer(smithy: Path, remote: Path) -> CondaSmithyRerenderer:
    return CondaSmithyRerenderer(str(smithy), str(remote), Secret(TOKEN), timeout_seconds=60)


def test_a_rerender_is_committed_and_pushed_to_the_branch(
    smithy: Path, remote: Path, tmp_path: Path
) -> None:
    assert rerenderer(smithy, remote).rerender("foo-feedstock", "cirun") is True
    bare = remote / "foo-feedstock.git"
    assert git("log", "--format=%s", "cirun", cwd=bare).splitlines() == ["MNT: Re-rendered", "seed"]
    assert git("log", "--format=%s", "main", cwd=bare) == "seed"  # only the branch moved
    log = (tmp_path / "smithy.json").read_text()
    assert '"--no-check-uptodate"' in log
    assert '"--commit", "auto"' in log
    assert '"token_in_args": false' in log  # never on a command line
    assert '"header_in_env": true' in log


def test_nothing_to_rerender_pushes_nothing(
    smithy: Path, remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMITHY_MODE", "nothing")
    before = git("rev-parse", "cirun", cwd=remote / "foo-feedstock.git")
    assert rerenderer(smithy, remote).rerender("foo-feedstock", "cirun") is False
    assert git("rev-parse", "cirun", cwd=remote / "foo-feedstock.git") == before


def test_a_failing_rerender_is_retried_later_with_its_last_line(
    smithy: Path, remote: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMITHY_MODE", "fail")
    with pytest.raises(TransientError, match="the recipe does not render"):
        rerenderer(smithy, remote).rerender("foo-feedstock", "cirun")


def test_without_conda_smithy_installed_the_error_says_how_to_get_it(
    remote: Path, tmp_path: Path
) -> None:
    missing = CondaSmithyRerenderer(str(tmp_path / "nope"), str(remote), Secret(TOKEN))
    with pytest.raises(PermanentError, match="install conda-smithy from conda-forge"):
        missing.rerender("foo-feedstock", "cirun")


def test_a_missing_branch_is_an_error_without_the_token(smithy: Path, remote: Path) -> None:
    with pytest.raises(TransientError) as failed:
        rerenderer(smithy, remote).rerender("foo-feedstock", "no-such-branch")
    assert TOKEN not in str(failed.value)
    assert os.environ.get("GIT_CONFIG_VALUE_0") is None  # nothing leaked into our process
