"""The privileged side of a rerender: check the render job's patch, then push it.

The render job (services/smithy.py) ran conda-smithy on untrusted feedstock content and
left one ``Rendering`` file per branch in a directory (``ADMIN_REQUESTS_RENDERED``; the
processing job downloads the render jobs' artifacts there). ``RenderedPatches`` is the
``services.rerenderer`` a kind's ``execute`` calls. It trusts nothing in the file:

- the file is looked up by ``render_key(repository, branch)``, and must name that
  repository and branch;
- the branch (after the kind's own edits through the API) must be exactly the tree the
  patch was made against (``input_tree``); a branch that moved since gets no patch
  (the kind asks conda-forge's bot instead), and a branch that already is the rendered
  tree needs nothing;
- ``git apply`` (which refuses paths outside the work tree) stages the patch, and what it
  staged, read back from git's index, may touch only what conda-smithy's rerender
  writes (``RENDERED_FILES``, ``RENDERED_FOLDERS``, ``REMOVED_FILES``), as regular files:
  no symlink, no submodule, never ``recipe/`` or ``conda-forge.yml``. Anything else
  raises ``RenderingRefused``: the item fails and core is told;
- the result must be ``output_tree``. Then it is committed and pushed with the request's
  scoped token, which reaches git only through ``GIT_CONFIG_*`` environment variables.

The lists follow conda-smithy's ``configure_feedstock.py`` (``NON_EXECUTABLE_TEMPLATES``,
``ALL_EXECUTABLE_FILES``, ``NON_EXECUTABLE_SUPPORT_FILES``, the render functions' targets
and the old files it removes), read at conda-forge/conda-smithy 081ec6b (August 2026).
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from admin_requests.errors import RenderingRefused, TransientError
from admin_requests.git_auth import token_environment
from admin_requests.kinds.contract import RenderResult
from admin_requests.services.smithy import IDENTITY, Rendering, render_key

if TYPE_CHECKING:
    from admin_requests.credentials.redact import Secret

log = logging.getLogger(__name__)

# Files a rerender writes (conda-smithy's templates and support files, its CI configs).
RENDERED_FILES = frozenset(
    {
        # NON_EXECUTABLE_TEMPLATES
        ".azure-pipelines/azure-pipelines-linux.yml",
        ".azure-pipelines/azure-pipelines-osx.yml",
        ".azure-pipelines/azure-pipelines-win.yml",
        ".circleci/config.yml",
        ".drone.yml",
        ".github/workflows/conda-build.yml",
        ".travis.yml",
        "README.md",
        "appveyor.yml",
        "azure-pipelines.yml",
        "circle.yml",
        "github-actions.yml",
        "pixi.toml",
        # ALL_EXECUTABLE_FILES outside the folders below
        "build-locally.py",
        # NON_EXECUTABLE_SUPPORT_FILES
        ".gitattributes",
        ".gitignore",
        "LICENSE.txt",
        # render_appveyor, render_woodpecker, the maintainers' CODEOWNERS
        ".appveyor.yml",
        ".woodpecker.yml",
        ".github/CODEOWNERS",
    }
)
# Folders conda-smithy owns whole: variant configs and migrations, build scripts, CI files.
RENDERED_FOLDERS = (".ci_support/", ".scripts/", ".azure-pipelines/", ".circleci/")
# Files a rerender only ever deletes (old services and layouts it cleans up).
REMOVED_FILES = frozenset(
    {
        ".github/workflows/automerge.yml",
        ".github/workflows/webservices.yml",
        ".github/workflows/main.yml",
        ".github/CONTRIBUTING.md",
        ".github/ISSUE_TEMPLATE.md",
        ".github/PULL_REQUEST_TEMPLATE.md",
        "disabled_appveyor.yml",
        "ci_support/upload_or_check_non_existence.py",
        "ci_support/checkout_merge_commit.sh",
        "ci_support/fast_finish_ci_pr_build.sh",
        "ci_support/run_docker_build.sh",
        "LICENSE",
    }
)
REGULAR_MODES = frozenset({"100644", "100755"})


@dataclass(frozen=True)
class StagedChange:
    status: str  # git's letter: A(dded), M(odified), D(eleted), T(ype changed)
    new_mode: str
    path: str


def refused_changes(changes: list[StagedChange]) -> list[str]:
    """Why each change is outside what a rerender may write (empty: all allowed)."""
    problems = []
    for change in changes:
        path = change.path
        if change.status == "D":
            allowed = path in RENDERED_FILES or path in REMOVED_FILES
            allowed = allowed or path.startswith(RENDERED_FOLDERS)
        else:
            allowed = path in RENDERED_FILES or path.startswith(RENDERED_FOLDERS)
            if allowed and change.new_mode not in REGULAR_MODES:
                problems.append(f"{path!r} becomes mode {change.new_mode} (not a regular file)")
                continue
        if not allowed:
            problems.append(f"{path!r} ({change.status}) is not a file a rerender writes")
    return problems


def parse_raw_diff(text: str) -> list[StagedChange]:
    """``git diff --raw -z --no-renames`` output as changes."""
    fields = text.split("\0")
    changes = []
    for index in range(0, len(fields) - 1, 2):
        meta, path = fields[index], fields[index + 1]
        if not meta:
            break
        _old_mode, new_mode, _old, _new, status = meta.lstrip(":").split(" ")
        changes.append(StagedChange(status[:1], new_mode, path))
    return changes


@dataclass
class RenderedPatches:
    """``services.rerenderer`` of the processing job: renderings from the render job."""

    directory: Path  # where the render jobs' artifacts were downloaded
    git_base_url: str  # "https://github.com/<org>" (a local URL in tests)
    token: Secret  # the request's scoped token (contents and workflows write)
    timeout_seconds: float = 300.0

    def rerender(self, repository: str, branch: str) -> RenderResult:
        rendering = self._load(repository, branch)
        if rendering is None:
            return RenderResult.UNAVAILABLE
        with tempfile.TemporaryDirectory(prefix="rendered-") as work:
            checkout = Path(work) / repository
            url = f"{self.git_base_url.rstrip('/')}/{repository}.git"
            self._git(["clone", "--quiet", "--depth", "1", "--branch", branch, url, str(checkout)])
            tree = self._git(["rev-parse", "HEAD^{tree}"], cwd=checkout)
            if tree == rendering.output_tree:
                return RenderResult.CURRENT
            if tree != rendering.input_tree:
                log.warning(
                    "%s@%s moved since it was rendered (tree %s, rendered from %s); not "
                    "applying the rendering",
                    repository,
                    branch,
                    tree,
                    rendering.input_tree,
                )
                return RenderResult.UNAVAILABLE
            patch = Path(work) / "rendering.patch"
            patch.write_text(rendering.patch)
            try:
                self._git(["apply", "--index", "--whitespace=nowarn", str(patch)], cwd=checkout)
            except TransientError as exc:
                # git diff made it against this very tree: a patch that does not apply
                # was not made by git diff (paths outside the tree, into .git, ...).
                raise RenderingRefused(
                    f"the render job's patch for {repository}@{branch} does not apply to "
                    f"the tree it names ({exc}); someone may have tampered with the render "
                    "job. Core: check its log before retrying"
                ) from None
            raw = self._git(["diff", "--cached", "--raw", "-z", "--no-renames"], cwd=checkout)
            problems = refused_changes(parse_raw_diff(raw))
            if problems:
                raise RenderingRefused(
                    f"the render job's patch for {repository}@{branch} was refused: "
                    f"{'; '.join(problems[:5])}. A rerender never writes these; someone "
                    "may have tampered with the render job. Core: check its log before "
                    "retrying"
                )
            if self._git(["write-tree"], cwd=checkout) != rendering.output_tree:
                log.warning("the patch for %s@%s does not give its tree", repository, branch)
                return RenderResult.UNAVAILABLE
            self._git(
                ["commit", "--quiet", "--no-verify", "-m", "MNT: Re-rendered with conda-smithy"],
                cwd=checkout,
            )
            self._git(["push", "--quiet", "origin", f"HEAD:refs/heads/{branch}"], cwd=checkout)
            return RenderResult.PUSHED

    def _load(self, repository: str, branch: str) -> Rendering | None:
        path = self.directory / f"{render_key(repository, branch)}.json"
        if not path.is_file():
            log.info("no rendering of %s@%s from the render job", repository, branch)
            return None
        try:
            rendering = Rendering.from_json(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            log.warning("ignoring the rendering file %s: %s", path.name, exc)
            return None
        if (rendering.repository, rendering.branch) != (repository, branch):
            log.warning("ignoring %s: it is for another branch", path.name)
            return None
        return rendering

    def _environment(self) -> dict[str, str]:
        # git only, on checked data; still no more than it needs.
        keep = ("PATH", "HOME", "LANG", "TMPDIR", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM")
        return {
            **{name: os.environ[name] for name in keep if name in os.environ},
            **token_environment(self.token.reveal()),
            **IDENTITY,
        }

    def _git(self, args: list[str], *, cwd: Path | None = None) -> str:
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=cwd,
                env=self._environment(),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=self.timeout_seconds,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise TransientError(
                f"git {args[0]} took longer than {self.timeout_seconds:.0f}s"
            ) from None
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1][:300]
            raise TransientError(f"git {args[0]} failed (exit {done.returncode}): {last}")
        return done.stdout.strip() if args[0] != "diff" else done.stdout
