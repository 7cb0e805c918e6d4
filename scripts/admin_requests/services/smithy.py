"""The one place admin-requests runs conda-smithy: rerendering a feedstock branch.

conda-forge's tooling regenerates a feedstock's CI files with ``conda-smithy rerender``
after ``conda-forge.yml`` or ``recipe/conda_build_config.yaml`` change (the cirun pull
request does that). conda-smithy is not installable from PyPI (PyPI has a 0.0.0
placeholder), so it is not a dependency of this package: the processing job installs it
from conda-forge and names the executable in ``CONDA_SMITHY``; without it the cirun pull
request asks conda-forge's webservices bot to rerender instead (see requests/ci_resources).

How the processing workflow provides it: when the ``CONDA_SMITHY_VERSION`` variable
is set, process.yml installs ``conda-smithy==<version>`` from conda-forge (only that
channel) with the conda GitHub's ubuntu images ship, and passes the executable's path
as ``CONDA_SMITHY`` to the processing step; the GitHub App needs ``workflows: write``
for it (a rerender rewrites ``.github/workflows/``), which the cirun kind asks for only
when conda-smithy is configured.

The tests here cannot run the real conda-smithy. They run ``CondaSmithyRerenderer``
against a local bare git repository with a stand-in ``conda-smithy`` script (so the git
plumbing, the token handling and the "nothing changed" path are real), and the kinds'
tests use a fake ``Rerenderer``. What conda-smithy itself writes is not tested here.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from admin_requests.errors import PermanentError, TransientError
from admin_requests.git_auth import token_environment

if TYPE_CHECKING:
    from admin_requests.credentials.redact import Secret

log = logging.getLogger(__name__)


class Rerenderer(Protocol):
    def rerender(self, repository: str, branch: str) -> bool:
        """Rerender ``branch`` of ``repository`` and push it; False when nothing changed."""


@dataclass
class CondaSmithyRerenderer:
    """Clone one branch, run ``conda-smithy rerender --commit auto``, push the commit.

    The token reaches git only through ``GIT_CONFIG_*`` environment variables (an
    ``http.extraheader``), never the command line or a URL, so it does not show in
    process listings or git's error messages.
    """

    conda_smithy: str  # the executable, installed from conda-forge in the job
    git_base_url: str  # "https://github.com/<org>" (a local path in tests)
    token: Secret
    timeout_seconds: float = 900.0

    def rerender(self, repository: str, branch: str) -> bool:
        with tempfile.TemporaryDirectory(prefix="rerender-") as work:
            checkout = Path(work) / repository
            url = f"{self.git_base_url.rstrip('/')}/{repository}.git"
            self._git(["clone", "--quiet", "--depth", "1", "--branch", branch, url, str(checkout)])
            before = self._git(["rev-parse", "HEAD"], cwd=checkout)
            self._run(
                [
                    self.conda_smithy,
                    "rerender",
                    "--feedstock_directory",
                    str(checkout),
                    "--no-check-uptodate",
                    "--commit",
                    "auto",
                ],
                cwd=checkout,
                what=f"conda-smithy rerender of {repository}@{branch}",
            )
            if self._git(["rev-parse", "HEAD"], cwd=checkout) == before:
                return False
            self._git(["push", "--quiet", "origin", f"HEAD:refs/heads/{branch}"], cwd=checkout)
            return True

    def _environment(self) -> dict[str, str]:
        return {
            **os.environ,
            **token_environment(self.token.reveal()),
            "GIT_AUTHOR_NAME": "admin-requests[bot]",
            "GIT_AUTHOR_EMAIL": "admin-requests[bot]@users.noreply.github.com",
            "GIT_COMMITTER_NAME": "admin-requests[bot]",
            "GIT_COMMITTER_EMAIL": "admin-requests[bot]@users.noreply.github.com",
        }

    def _git(self, args: list[str], *, cwd: Path | None = None) -> str:
        return self._run(["git", *args], cwd=cwd, what=f"git {args[0]}")

    def _run(self, command: list[str], *, cwd: Path | None, what: str) -> str:
        try:
            done = subprocess.run(
                command,
                cwd=cwd,
                env=self._environment(),
                capture_output=True,
                text=True,
                timeout=self.timeout_seconds,
                check=False,
            )
        except FileNotFoundError:
            raise PermanentError(
                f"{what}: {command[0]!r} is not installed in this job; install conda-smithy "
                "from conda-forge and set CONDA_SMITHY to its path"
            ) from None
        except subprocess.TimeoutExpired:
            raise TransientError(f"{what} took longer than {self.timeout_seconds:.0f}s") from None
        if done.returncode != 0:
            # Only the last line of stderr, and never the environment (it has the token).
            last = (done.stderr.strip().splitlines() or ["no message"])[-1][:300]
            raise TransientError(f"{what} failed (exit {done.returncode}): {last}")
        return done.stdout.strip()
