"""Which recipes in a staged-recipes checkout are waiting to become feedstocks.

A recipe is a directory ``recipes/<name>/`` holding ``meta.yaml`` (conda-build, "v0")
or ``recipe.yaml`` (rattler-build, "v1"); with both, conda-smithy's ``init`` takes the
v1 recipe (``has_recipe_v1``), and so does this. The examples staged-recipes keeps for
contributors are never turned into feedstocks: ``EXAMPLES`` is the one list of them
(conda-forge's workflow and script each had their own list, and they drifted:
admin-requests #2245).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

RECIPES_DIR = "recipes"
# staged-recipes' example recipes (its recipes/ folder, read at conda-forge/staged-recipes
# main, August 2026): example (v1 since 2025), example-v1, example-v0-deprecated.
EXAMPLES = frozenset({"example", "example-v1", "example-v0-deprecated"})
V0 = "meta.yaml"
V1 = "recipe.yaml"


@dataclass(frozen=True)
class StagedRecipe:
    name: str  # the directory under recipes/
    recipe_file: str  # "recipe.yaml" (v1) or "meta.yaml" (v0)

    @property
    def path(self) -> str:
        """The recipe directory relative to the staged-recipes checkout."""
        return f"{RECIPES_DIR}/{self.name}"

    @property
    def format(self) -> str:
        return "v1" if self.recipe_file == V1 else "v0"


def find_recipes(staged_recipes: Path) -> list[StagedRecipe]:
    """The recipes waiting in ``staged_recipes`` (a checkout), sorted by directory name.

    Only real directories count (a symbolic link could point anywhere on the runner);
    files such as ``.DS_Store`` and directories without a recipe file are skipped.
    """
    folder = staged_recipes / RECIPES_DIR
    if not folder.is_dir():
        return []
    found = []
    for entry in sorted(folder.iterdir()):
        if entry.name in EXAMPLES or entry.is_symlink() or not entry.is_dir():
            continue
        for recipe_file in (V1, V0):
            candidate = entry / recipe_file
            if candidate.is_file() and not candidate.is_symlink():
                found.append(StagedRecipe(entry.name, recipe_file))
                break
        else:
            log.info("skipping %s: it has neither %s nor %s", entry.name, V1, V0)
    return found
