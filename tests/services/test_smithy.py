"""The render job's side of a rerender: clone, edit, conda-smithy, patch; no credential.

conda-smithy itself cannot be installed here (PyPI has only a 0.0.0 placeholder), so
stand-in scripts take its place (tests/services/feedstock_world.py). What is real: the
anonymous clone over HTTP (git's own http-backend), the edits, the environment the
stand-in gets, and the patch git makes. What the real conda-smithy writes is not.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from admin_requests.errors import PermanentError, TransientError
from admin_requests.kinds.contract import FileEdit, RenderRequest
from admin_requests.services.smithy import (
    ALLOWED_VARIABLES,
    FeedstockRenderer,
    Rendering,
    allowlisted_environment,
    render_key,
)

from .feedstock_world import (
    FEEDSTOCK,
    HOSTILE_STAND_IN,
    ORG,
    RENDERING_STAND_IN,
    REQUEST,
    TOKEN,
    git,
    install_stand_in,
    seed_feedstock,
)
from .git_http import GitHttpServer, serve_git

OIDC_TOKEN = "oidc-request-token-abcdef"
VAULT_TOKEN = "hvs.vault-token-abcdef"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[GitHttpServer]:
    seed_feedstock(tmp_path / "git")
    with serve_git(tmp_path / "git", TOKEN) as server:
        yield server


def renderer(script: Path, served: GitHttpServer, environ: dict[str, str]) -> FeedstockRenderer:
    return FeedstockRenderer(str(script), f"{served.url}/{ORG}", environ, timeout_seconds=60)


def test_a_rendering_is_the_patch_from_the_edited_tree_to_the_rendered_one(
    tmp_path: Path, served: GitHttpServer
) -> None:
    script = install_stand_in(tmp_path / "bin", RENDERING_STAND_IN)
    rendering = renderer(script, served, {"PATH": "/usr/bin:/bin"}).render(REQUEST)
    assert rendering is not None
    assert (rendering.repository, rendering.branch) == (FEEDSTOCK, REQUEST.branch)
    # Applied to the edited tree, the patch gives exactly the rendered tree.
    work = tmp_path / "check"
    git("clone", "--quiet", f"{served.url}/{ORG}/{FEEDSTOCK}.git", str(work), cwd=tmp_path)
    for edit in REQUEST.edits:
        target = work / edit.path
        target.write_bytes(edit.change(target.read_bytes() if target.exists() else None) or b"")
    git("add", "-A", cwd=work)
    assert git("write-tree", cwd=work) == rendering.input_tree
    (tmp_path / "p.patch").write_text(rendering.patch)
    git("apply", "--index", str(tmp_path / "p.patch"), cwd=work)
    assert git("write-tree", cwd=work) == rendering.output_tree
    changed = git(
        "diff", "--name-only", rendering.input_tree, rendering.output_tree, cwd=work
    ).splitlines()
    assert changed == [
        ".ci_support/linux_64_.yaml",
        ".github/workflows/conda-build.yml",
        ".scripts/build_steps.sh",
    ]
    assert Rendering.from_json(rendering.to_json()) == rendering


def test_edits_that_change_nothing_need_no_rendering(tmp_path: Path, served: GitHttpServer) -> None:
    script = install_stand_in(tmp_path / "bin", RENDERING_STAND_IN)
    same = RenderRequest(FEEDSTOCK, "b", (FileEdit("conda-forge.yml", lambda current: current),))
    assert renderer(script, served, {}).render(same) is None


def test_a_failing_rerender_is_an_error_with_its_last_line(
    tmp_path: Path, served: GitHttpServer
) -> None:
    script = install_stand_in(tmp_path / "bin", RENDERING_STAND_IN)
    failing = renderer(script, served, {"PATH": "/usr/bin:/bin", "SMITHY_MODE": "fail"})
    # SMITHY_MODE is not on the allowlist: the stand-in never sees it and renders.
    assert failing.render(REQUEST) is not None
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("admin_requests.services.smithy.ALLOWED_VARIABLES", ("PATH", "SMITHY_MODE"))
        with pytest.raises(TransientError, match="the recipe does not render"):
            failing.render(REQUEST)


def test_without_conda_smithy_installed_the_error_says_how_to_get_it(
    tmp_path: Path, served: GitHttpServer
) -> None:
    with pytest.raises(PermanentError, match="set CONDA_SMITHY to its path"):
        renderer(tmp_path / "nope", served, {}).render(REQUEST)


def test_the_environment_is_the_allowlist_a_fresh_home_and_no_git_config(tmp_path: Path) -> None:
    environ = {name: f"value-{name}" for name in ALLOWED_VARIABLES} | {
        "GITHUB_TOKEN": "t",
        "ACTIONS_ID_TOKEN_REQUEST_URL": "u",
        "HOME": "/root",
        "GIT_CONFIG_GLOBAL": "/root/.gitconfig",
    }
    env = allowlisted_environment(environ, tmp_path)
    assert {k for k in env if k in environ} == {*ALLOWED_VARIABLES, "HOME", "GIT_CONFIG_GLOBAL"}
    assert env["HOME"] == str(tmp_path)
    assert env["GIT_CONFIG_GLOBAL"] == str(tmp_path / ".gitconfig")
    assert env["GIT_CONFIG_NOSYSTEM"] == "1"
    assert "GITHUB_TOKEN" not in env
    assert "ACTIONS_ID_TOKEN_REQUEST_URL" not in env


def test_keys_differ_by_repository_and_branch_and_are_plain_file_names() -> None:
    keys = {render_key("a", "b"), render_key("a", "c"), render_key("ab", ""), render_key("a", "b")}
    assert len(keys) == 3
    assert all(key.isalnum() and len(key) == 24 for key in keys)


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        '{"format": 2}',
        json.dumps(
            {"format": 1, "repository": "r", "branch": "b", "input_tree": "x" * 40}
            | {"output_tree": "0" * 40, "patch": ""}
        ),
        json.dumps(
            {"format": 1, "repository": "r", "branch": "b", "input_tree": "0" * 40}
            | {"output_tree": "0" * 40, "patch": "", "run": "curl | sh"}
        ),
    ],
)
def test_a_rendering_file_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"rendering file|git tree ids"):
        Rendering.from_json(text)


# -- the attacker's stand-in --------------------------------------------------------------


class Recorder(BaseHTTPRequestHandler):
    """The OIDC issuer and the vault: records each request and its credentials."""

    seen: ClassVar[list[dict[str, str]]] = []

    def log_message(self, format: str, *args: object) -> None:
        return None

    def do_GET(self) -> None:
        type(self).seen.append({"path": self.path, **dict(self.headers.items())})
        authorised = self.headers.get("Authorization") == f"bearer {OIDC_TOKEN}" or (
            self.headers.get("X-Vault-Token") == VAULT_TOKEN
        )
        body = b'{"value": "a-jwt"}' if authorised else b"{}"
        self.send_response(200 if authorised else 401)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def services_with_credentials() -> Iterator[str]:
    Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_hostile_conda_smithy_gets_no_credential_no_oidc_token_no_vault_and_no_push(
    tmp_path: Path, served: GitHttpServer, services_with_credentials: str
) -> None:
    """Finding 1 of issue 16: what the processing job's environment held reached here.

    The caller's environment has everything the old processing job gave conda-smithy:
    the OIDC request URL and token, GITHUB_TOKEN, the vault's address and a token, an
    anaconda.org token, AWS keys, git's token header in GIT_CONFIG_*, and a HOME with
    conda-smithy's token files. The stand-in finds none of it, the OIDC issuer and the
    vault see no credential from it, and its push to the feedstock is refused.
    """
    base = services_with_credentials
    home = tmp_path / "home"
    (home / ".conda-smithy").mkdir(parents=True)
    (home / ".conda-smithy" / "github.token").write_text(TOKEN)
    secrets = {
        "ACTIONS_ID_TOKEN_REQUEST_URL": f"{base}/oidc?x=1",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": OIDC_TOKEN,
        "ACTIONS_RUNTIME_TOKEN": "runtime-token-abcdef",
        "GITHUB_TOKEN": TOKEN,
        "GH_TOKEN": TOKEN,
        "VAULT_ADDR": base,
        "VAULT_TOKEN": VAULT_TOKEN,
        "VAULT_ROLE": "admin-requests-process",
        "ADMIN_REQUESTS_CREDENTIALS": "vault",
        "ANACONDA_TOKEN": "an-anaconda-token-abcdef",
        "AWS_ACCESS_KEY_ID": "AKIAABCDEF",
        "AWS_SECRET_ACCESS_KEY": "aws-secret-abcdef",
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraheader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: bearer {TOKEN}",
        "HOME": str(home),
    }
    report = tmp_path / "found.json"
    script = install_stand_in(
        tmp_path / "bin",
        HOSTILE_STAND_IN,
        oidc_url=f"{base}/oidc?x=1",
        vault_url=base,
        report=str(report),
    )
    environ = {"PATH": "/usr/bin:/bin", **secrets}
    renderer(script, served, environ).render(REQUEST)
    found = json.loads(report.read_text())

    seen = json.dumps(found["environ"]) + found["git_config"]
    # The secret values (not "1" or "http.extraheader") appear nowhere it looked.
    values = {name: value for name, value in secrets.items() if "token" in value.lower()}
    values |= {"AWS_SECRET_ACCESS_KEY": secrets["AWS_SECRET_ACCESS_KEY"], "VAULT_ADDR": base}
    leaked = sorted(name for name, value in values.items() if value in seen)
    assert leaked == []
    assert not set(found["environ"]) & set(secrets) - {"HOME"}
    assert found["home_tokens"] == []
    assert "extraheader" not in found["git_config"]
    # It knew where the issuer and the vault are (hard-coded), but had nothing to send.
    assert len(Recorder.seen) == 2
    assert all(
        OIDC_TOKEN not in json.dumps(r) and VAULT_TOKEN not in json.dumps(r) for r in Recorder.seen
    )
    assert [status for _, status in found["requests"]] != [200, 200]
    assert all("401" in str(status) for _, status in found["requests"])
    # The push went to the feedstock's server, which refused it: no credential came along.
    assert found["push"][0] != 0
    assert served.refused_pushes
    bare = served.root / ORG / f"{FEEDSTOCK}.git"
    assert git("log", "--format=%s", "main", cwd=bare) == "seed"
    assert subprocess.run(["git", "cat-file", "-e", "main:evil.sh"], cwd=bare).returncode != 0
