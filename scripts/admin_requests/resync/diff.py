"""Run the patches feedstock's ``show_diff.py`` away from every credential.

The script is the feedstock's own code (it needs conda's tooling and downloads
repodata from anaconda.org), so it runs like conda-smithy does in the render job: in a
job without credentials, and here with the same allowlisted environment and a fresh
``HOME`` (``services.smithy.allowlisted_environment``). ``SHOW_DIFF_PYTHON`` names the
Python that has that tooling. The tests run a stand-in ``show_diff.py`` (the real one
needs conda-build and the network): what it prints is not tested here, how it is run
and read is.
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from admin_requests.errors import PermanentError, TransientError
from admin_requests.services.smithy import allowlisted_environment

log = logging.getLogger(__name__)

SCRIPT = Path("recipe") / "show_diff.py"
TIMEOUT_SECONDS = 3600  # it downloads every subdir's repodata
# Lines show_diff.py prints that are not a difference: progress, the subdirs' headers
# and their separators (upstream's scripts/update_repodata_patches.py skips the same).
NOT_A_DIFFERENCE = frozenset(
    {
        "=" * 80,
        "linux-armv7l",
        "linux-ppc64le",
        "linux-aarch64",
        "noarch",
        "win-32",
        "osx-arm64",
        "osx-64",
        "linux-64",
        "win-64",
    }
)


def is_empty(diff: str) -> bool:
    """Whether ``show_diff.py``'s output says the patches and anaconda.org agree."""
    for line in diff.splitlines():
        line = line.strip()
        if line and not line.startswith("Downloading") and line not in NOT_A_DIFFERENCE:
            return False
    return True


def clone_and_show_diff(url: str, python: str, environ: Mapping[str, str]) -> str:
    """``show_diff`` in a fresh anonymous shallow clone of the patches feedstock at ``url``."""
    with tempfile.TemporaryDirectory(prefix="resync-clone-") as work:
        checkout = Path(work) / "patches"
        env = allowlisted_environment(environ, Path(work))
        try:
            subprocess.run(
                ["git", "clone", "--quiet", "--depth", "1", url, str(checkout)],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
                check=True,
            )
        except subprocess.CalledProcessError as error:
            raise TransientError(
                f"cannot clone {url}: {error.stderr.strip()[-300:]}; it is tried again next week"
            ) from None
        except subprocess.TimeoutExpired:
            raise TransientError(f"cloning {url} took over 600 s") from None
        return show_diff(checkout, python, environ)


def show_diff(checkout: Path, python: str, environ: Mapping[str, str]) -> str:
    """``python recipe/show_diff.py`` in ``checkout``, with only allowlisted variables."""
    script = checkout / SCRIPT
    if not script.is_file():
        raise PermanentError(
            f"{script} does not exist: check out conda-forge-repodata-patches-feedstock "
            "there (its recipe/show_diff.py computes the diff)"
        )
    with tempfile.TemporaryDirectory(prefix="resync-home-") as home:
        env = allowlisted_environment(environ, Path(home))
        try:
            done = subprocess.run(
                [python, SCRIPT.name],
                cwd=script.parent,
                env=env,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
            )
        except OSError as error:
            raise PermanentError(
                f"cannot run {python!r} ({error.strerror}); set SHOW_DIFF_PYTHON to the "
                "Python of an environment with the feedstock's tooling"
            ) from None
        except subprocess.TimeoutExpired:
            raise TransientError(
                f"show_diff.py ran longer than {TIMEOUT_SECONDS} s; it is run again next week"
            ) from None
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-20:])
        raise TransientError(f"show_diff.py exited {done.returncode}:\n{tail}")
    return done.stdout
