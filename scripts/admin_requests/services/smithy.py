"""The one place admin-requests runs conda-smithy: in the unprivileged render job.

conda-forge's tooling regenerates a feedstock's CI files with ``conda-smithy rerender``
after ``conda-forge.yml`` or ``recipe/conda_build_config.yaml`` change (the cirun pull
request does that). A rerender evaluates the feedstock's recipe, which the feedstock's
maintainers control and a request's reviewer never sees (conda-build's Jinja can run
``setup.py``), so it is untrusted code and never runs where a credential is:

- the job that runs ``admin-requests render`` (``create-feedstocks.yml``'s render job;
  for processing it is not wired into process.yml yet, docs/security.md W15) has
  ``contents: read``, no ``id-token``, no environment, no minted token and no vault
  settings. Each rendering is of one feedstock: one feedstock's recipe cannot forge
  another's rendering;
- ``FeedstockRenderer`` clones the public feedstock without credentials, applies the
  kind's offline edits (``RenderRequest``), and runs conda-smithy with an environment
  built from ``ALLOWED_VARIABLES`` only, a fresh ``HOME`` and an empty git config, so
  even run locally (or in tests) it sees no token, no OIDC URL and no vault address;
- the result is a ``Rendering``: the patch from the edited tree to the rendered one, as
  a JSON file, uploaded as an artifact. The privileged job checks it (only the paths a
  rerender writes, the tree it was made from) and pushes it with the request's scoped
  token (services/rendered.py).

conda-smithy is not installable from PyPI (PyPI has a 0.0.0 placeholder): it is a conda
package only. No workflow installs it yet: that needs an explicit conda lock from
conda-forge's channel, which could not be built where this was written (docs/security.md,
W15). ``CONDA_SMITHY`` names the executable a deployment provides. The tests cannot run
the real conda-smithy: they run this module with a stand-in script (so the clone, the
edits, the environment and the patch are real), and say so. What conda-smithy itself
writes is not tested here.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from admin_requests.errors import PermanentError, TransientError
from admin_requests.kinds.contract import RenderRequest, RenderResult

log = logging.getLogger(__name__)

# The only variables conda-smithy (and git, in the render step) get from the caller's
# environment: where programs are, the locale, and how to reach the network (proxies and
# CA bundles; a rerender downloads conda-forge-pinning). Everything else is dropped:
# ACTIONS_ID_TOKEN_REQUEST_*, GITHUB_TOKEN, VAULT_*, ANACONDA_*, AWS_*, GIT_CONFIG_*...
# HOME is replaced by an empty directory (conda-smithy reads tokens from ~/.conda-smithy).
ALLOWED_VARIABLES = (
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
)
RENDERING_FORMAT = 1
IDENTITY = {
    "GIT_AUTHOR_NAME": "admin-requests[bot]",
    "GIT_AUTHOR_EMAIL": "admin-requests[bot]@users.noreply.github.com",
    "GIT_COMMITTER_NAME": "admin-requests[bot]",
    "GIT_COMMITTER_EMAIL": "admin-requests[bot]@users.noreply.github.com",
}
_TREE = re.compile(r"[0-9a-f]{40}")


class Rerenderer(Protocol):
    """What a kind's ``execute`` calls (``services.rerenderer``); see services/rendered.py."""

    def rerender(self, repository: str, branch: str) -> RenderResult:
        """Put the checked rendering on ``branch`` of ``repository``, if one fits it."""


def allowlisted_environment(environ: Mapping[str, str], home: Path) -> dict[str, str]:
    """The environment untrusted feedstock content runs with: the allowlist, nothing else."""
    kept = {name: environ[name] for name in ALLOWED_VARIABLES if name in environ}
    return {
        **kept,
        "HOME": str(home),
        # No system or user git config (credential helpers, extra headers, insteadOf).
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_TERMINAL_PROMPT": "0",
        **IDENTITY,
    }


def run_tool(
    command: list[str],
    env: dict[str, str],
    *,
    cwd: Path | None,
    what: str,
    timeout_seconds: float,
) -> subprocess.CompletedProcess[str]:
    """Run conda-smithy or git on untrusted content: no stdin, output captured, bounded.

    A missing program is a PermanentError naming the fix, a timeout a TransientError;
    the caller judges the exit code (the render job and feedstock creation differ).
    """
    try:
        return subprocess.run(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_seconds,
            check=False,
        )
    except FileNotFoundError:
        raise PermanentError(
            f"{what}: {command[0]!r} is not installed in this job. conda-smithy is a "
            "conda package only and no workflow installs it yet (docs/security.md, W15): "
            "install it from conda-forge and set CONDA_SMITHY to its path"
        ) from None
    except subprocess.TimeoutExpired:
        raise TransientError(f"{what} took longer than {timeout_seconds:.0f}s") from None


def render_key(repository: str, branch: str) -> str:
    """The file name (and artifact name) of one rendering: safe on every file system."""
    return hashlib.sha256(f"{repository}\0{branch}".encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Rendering:
    """One feedstock branch's rendering, as the render job hands it to the privileged job.

    ``input_tree`` is the git tree the patch was made against (the default branch plus
    the kind's edits); ``output_tree`` the tree after the rerender. The privileged job
    applies ``patch`` only to a branch whose tree is ``input_tree``, and only if the result
    is ``output_tree`` and touches nothing a rerender does not write.
    """

    repository: str
    branch: str
    input_tree: str
    output_tree: str
    patch: str
    format: int = RENDERING_FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Rendering:
        """Parse a rendering file; ValueError when it is not one (it is untrusted input)."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != RENDERING_FORMAT:
            raise ValueError("not a rendering file of format 1")
        fields = ("repository", "branch", "input_tree", "output_tree", "patch")
        if set(data) != {*fields, "format"} or not all(isinstance(data[f], str) for f in fields):
            raise ValueError(f"a rendering file has exactly the string fields {fields}")
        if not (_TREE.fullmatch(data["input_tree"]) and _TREE.fullmatch(data["output_tree"])):
            raise ValueError("input_tree and output_tree must be git tree ids")
        return cls(**{f: data[f] for f in fields})


@dataclass
class FeedstockRenderer:
    """Clone a public feedstock, apply the edits, run conda-smithy, return the patch."""

    conda_smithy: str  # the executable, from the conda lock in the render job
    git_base_url: str  # "https://github.com/<org>" (a local path or URL in tests)
    environ: Mapping[str, str]  # the caller's environment; only ALLOWED_VARIABLES pass
    timeout_seconds: float = 900.0

    def render(self, request: RenderRequest) -> Rendering | None:
        """The rendering of ``request``; None when its edits change nothing."""
        with tempfile.TemporaryDirectory(prefix="render-") as work:
            home = Path(work) / "home"
            home.mkdir()
            (home / ".gitconfig").write_text("")
            env = allowlisted_environment(self.environ, home)
            checkout = Path(work) / request.repository
            url = f"{self.git_base_url.rstrip('/')}/{request.repository}.git"
            self._run(["git", "clone", "--quiet", "--depth", "1", url, str(checkout)], env)
            if not self._apply_edits(request, checkout):
                return None
            self._git(["add", "-A"], checkout, env)
            self._git(["commit", "--quiet", "--no-verify", "-m", "edits"], checkout, env)
            input_tree = self._git(["rev-parse", "HEAD^{tree}"], checkout, env)
            self._run(
                [
                    self.conda_smithy,
                    "rerender",
                    "--feedstock_directory",
                    str(checkout),
                    "--no-check-uptodate",
                ],
                env,
                cwd=checkout,
                what=f"conda-smithy rerender of {request.repository}",
            )
            self._git(["add", "-A"], checkout, env)
            output_tree = self._git(["write-tree"], checkout, env)
            patch = self._git(
                ["diff", "--binary", "--no-renames", "--full-index", input_tree, output_tree],
                checkout,
                env,
                strip=False,
            )
            return Rendering(request.repository, request.branch, input_tree, output_tree, patch)

    def _apply_edits(self, request: RenderRequest, checkout: Path) -> bool:
        changed = False
        for edit in request.edits:
            target = checkout / edit.path
            current = target.read_bytes() if target.is_file() else None
            new = edit.change(current)
            if new is None or new == current:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(new)
            changed = True
        return changed

    def _git(self, args: list[str], cwd: Path, env: dict[str, str], *, strip: bool = True) -> str:
        out = self._run(["git", *args], env, cwd=cwd, what=f"git {args[0]}")
        return out.strip() if strip else out

    def _run(
        self, command: list[str], env: dict[str, str], *, cwd: Path | None = None, what: str = ""
    ) -> str:
        what = what or f"git {command[1]}"
        done = run_tool(command, env, cwd=cwd, what=what, timeout_seconds=self.timeout_seconds)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1][:300]
            raise TransientError(f"{what} failed (exit {done.returncode}): {last}")
        return done.stdout
