"""Render staged recipes into feedstock content, in the job that holds no credential.

``conda-smithy init RECIPE --feedstock-directory DIR/{package.name}-feedstock`` evaluates
the recipe (conda-build's Jinja can run code), so it is untrusted and runs only in the
unprivileged render job, with services/smithy.py's allowlisted environment: a fresh
``HOME``, no token, no OIDC variables, no vault settings. conda-smithy formats
``{package.name}`` itself (conda_smithy/cli.py ``Init``), so the one directory it creates
names the feedstock. Then the settings conda-forge's script wrote before registering
(``_set_default_branch`` and ``conda_forge_output_validation`` in
conda-forge/admin-requests ``scripts/create_feedstocks.py``) are put into
``conda-forge.yml`` and ``conda-smithy rerender --no-check-uptodate`` runs once, so the
privileged job pushes the final content in one commit and never runs conda-smithy.

The result, per recipe, is ``OUT/<recipe>/rendering.json`` and, when it worked,
``OUT/<recipe>/feedstock/`` (the files, without ``.git``); and always ``OUT/renderings.json``,
the index of what the run rendered (``write_index``): an empty list when no recipe
waits, so the render job always hands an artifact on and the create job's download
never fails on a quiet run. The outputs the recipe builds
are read with the project's own reader (kinds/feedstock_facts.py), which parses text
and runs nothing. A recipe that fails to render gets a rendering with ``error`` set: the
privileged job tells its pull request, and the other recipes go on.

conda-smithy is not installable from PyPI (a 0.0.0 placeholder): the render job installs
it from the conda lock; tests use a stand-in and say so.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ruamel.yaml import YAML

from admin_requests.creation.recipes import StagedRecipe
from admin_requests.errors import PermanentError, TransientError
from admin_requests.kinds.feedstock_facts import recipe_outputs
from admin_requests.services.smithy import allowlisted_environment, run_tool

log = logging.getLogger(__name__)

RENDERING_FORMAT = 1
RENDERING_FILE = "rendering.json"
INDEX_FILE = "renderings.json"
CONTENT_DIR = "feedstock"
FEEDSTOCK_SUFFIX = "-feedstock"
DEFAULT_BRANCH = "main"


@dataclass(frozen=True)
class RecipeRendering:
    """What the render job says about one recipe; untrusted until checked (engine.py)."""

    recipe: str  # the directory under recipes/
    recipe_tree: str  # git tree id of recipes/<recipe> in the checkout it rendered
    feedstock: str = ""  # the feedstock's name without '-feedstock'
    outputs: tuple[str, ...] = ()
    error: str | None = None  # why it did not render
    format: int = RENDERING_FORMAT
    content: Path | None = field(default=None, compare=False)  # the files, when rendered

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("content")
        data["outputs"] = list(self.outputs)
        return json.dumps(data, indent=1, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, content: Path | None) -> RecipeRendering:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != RENDERING_FORMAT:
            raise ValueError("not a recipe rendering of format 1")
        outputs = data.get("outputs") or []
        strings = ("recipe", "recipe_tree", "feedstock")
        if not all(isinstance(data.get(k, ""), str) for k in strings) or not all(
            isinstance(o, str) for o in outputs
        ):
            raise ValueError("recipe, recipe_tree, feedstock and outputs must be strings")
        error = data.get("error")
        return cls(
            str(data["recipe"]),
            str(data["recipe_tree"]),
            str(data.get("feedstock", "")),
            tuple(outputs),
            str(error) if error is not None else None,
            content=content if error is None else None,
        )


def conda_forge_yml_settings(text: str) -> str:
    """``conda-forge.yml`` with what a new conda-forge feedstock starts with.

    As conda-forge's script sets it before registering: the default branch ``main`` (and
    the tooling branch), ``upload_on_branch`` following it, ``error_overlinking`` on,
    and ``conda_forge_output_validation`` on (uploads are checked against the outputs
    registry).
    """
    yaml = YAML()
    config = yaml.load(text) if text.strip() else None
    if not isinstance(config, dict):
        config = {}
    github = config.setdefault("github", {})
    github["branch_name"] = DEFAULT_BRANCH
    github["tooling_branch_name"] = DEFAULT_BRANCH
    if config.get("upload_on_branch") in ("master", "main"):
        config["upload_on_branch"] = DEFAULT_BRANCH
    config.setdefault("conda_build", {}).setdefault("error_overlinking", True)
    config["conda_forge_output_validation"] = True
    out = io.StringIO()
    yaml.dump(config, out)
    return out.getvalue()


@dataclass
class RecipeRenderer:
    """Runs conda-smithy on staged recipes; see the module docstring."""

    conda_smithy: str  # the executable, from the conda lock in the render job
    environ: Mapping[str, str]  # the caller's environment; only the allowlist passes
    timeout_seconds: float = 900.0

    def render(self, staged: Path, recipe: StagedRecipe, output: Path) -> RecipeRendering:
        """Render ``recipe`` of the checkout ``staged`` into ``output/<recipe>/``."""
        target = output / recipe.name
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        tree = self._recipe_tree(staged, recipe)
        try:
            rendering = self._render(staged, recipe, tree, target / CONTENT_DIR)
        except (PermanentError, TransientError) as error:
            rendering = RecipeRendering(recipe.name, tree, error=str(error))
        (target / RENDERING_FILE).write_text(rendering.to_json(), encoding="utf-8")
        return rendering

    def _render(
        self, staged: Path, recipe: StagedRecipe, tree: str, content: Path
    ) -> RecipeRendering:
        with tempfile.TemporaryDirectory(prefix="create-render-") as work:
            home = Path(work) / "home"
            home.mkdir()
            (home / ".gitconfig").write_text("")
            env = allowlisted_environment(self.environ, home)
            made = Path(work) / "made"
            made.mkdir()
            self._run(
                [
                    self.conda_smithy,
                    "init",
                    str((staged / recipe.path).resolve()),
                    "--feedstock-directory",
                    str(made / f"{{package.name}}{FEEDSTOCK_SUFFIX}"),
                ],
                env,
                cwd=made,
                what=f"conda-smithy init of recipes/{recipe.name}",
            )
            created = [p for p in made.iterdir() if p.is_dir()]
            if len(created) != 1 or not created[0].name.endswith(FEEDSTOCK_SUFFIX):
                raise PermanentError(
                    f"conda-smithy init of recipes/{recipe.name} did not create one "
                    f"'<name>-feedstock' directory (it made {sorted(p.name for p in created)})"
                )
            feedstock_dir = created[0]
            config = feedstock_dir / "conda-forge.yml"
            existing = config.read_text(encoding="utf-8") if config.is_file() else ""
            config.write_text(conda_forge_yml_settings(existing), encoding="utf-8")
            self._run(
                [
                    self.conda_smithy,
                    "rerender",
                    "--feedstock_directory",
                    str(feedstock_dir),
                    "--no-check-uptodate",
                ],
                env,
                cwd=feedstock_dir,
                what=f"conda-smithy rerender of recipes/{recipe.name}",
            )
            shutil.rmtree(feedstock_dir / ".git", ignore_errors=True)
            shutil.copytree(feedstock_dir, content, symlinks=True)
        recipe_dir = staged / recipe.path
        meta = recipe_dir / "meta.yaml"
        v1 = recipe_dir / "recipe.yaml"
        outputs = recipe_outputs(
            meta.read_text(encoding="utf-8") if meta.is_file() else None,
            v1.read_text(encoding="utf-8") if v1.is_file() else None,
        )
        name = feedstock_dir.name.removesuffix(FEEDSTOCK_SUFFIX)
        return RecipeRendering(recipe.name, tree, name, tuple(outputs), content=content)

    def _recipe_tree(self, staged: Path, recipe: StagedRecipe) -> str:
        done = subprocess.run(
            ["git", "rev-parse", f"HEAD:{recipe.path}"],
            cwd=staged,
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    def _run(self, command: list[str], env: dict[str, str], *, cwd: Path, what: str) -> None:
        done = run_tool(command, env, cwd=cwd, what=what, timeout_seconds=self.timeout_seconds)
        if done.returncode != 0:
            lines = (done.stderr.strip() or done.stdout.strip()).splitlines() or ["no message"]
            raise PermanentError(f"{what} failed (exit {done.returncode}): {lines[-1][:300]}")


def write_index(output: Path, renderings: list[RecipeRendering]) -> Path:
    """``output/renderings.json``: each rendering's recipe, feedstock and error, in order.

    Written whatever happened (no recipe, every one failed), so the artifact exists. It
    is a summary for people and for the artifact; the create job trusts only the
    per-recipe files, which it checks (engine.py).
    """
    output.mkdir(parents=True, exist_ok=True)
    entries = [{"recipe": r.recipe, "feedstock": r.feedstock, "error": r.error} for r in renderings]
    index = output / INDEX_FILE
    text = json.dumps({"format": RENDERING_FORMAT, "renderings": entries}, indent=1)
    index.write_text(text + "\n", encoding="utf-8")
    return index


def load_renderings(directory: Path) -> dict[str, RecipeRendering]:
    """The renderings in ``directory`` by recipe; unreadable ones are skipped and logged."""
    found: dict[str, RecipeRendering] = {}
    if not directory.is_dir():
        return found
    for entry in sorted(directory.iterdir()):
        record = entry / RENDERING_FILE
        if entry.is_symlink() or not record.is_file():
            continue
        content = entry / CONTENT_DIR
        try:
            rendering = RecipeRendering.from_json(
                record.read_text(encoding="utf-8"), content if content.is_dir() else None
            )
        except (ValueError, KeyError, UnicodeDecodeError) as error:
            log.warning("ignoring the rendering %s: %s", record, error)
            continue
        if rendering.recipe != entry.name:
            log.warning("ignoring the rendering in %s: it names %r", entry, rendering.recipe)
            continue
        found[rendering.recipe] = rendering
    return found
