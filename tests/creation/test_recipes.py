"""Which recipes wait in staged-recipes, and the one list of examples."""

from __future__ import annotations

from pathlib import Path

from admin_requests.creation.recipes import EXAMPLES, StagedRecipe, find_recipes


def recipe(root: Path, name: str, filename: str, text: str = "package:\n  name: x\n") -> None:
    (root / "recipes" / name).mkdir(parents=True, exist_ok=True)
    (root / "recipes" / name / filename).write_text(text)


def test_v0_and_v1_recipes_are_found_and_the_examples_never(tmp_path: Path) -> None:
    recipe(tmp_path, "foo", "meta.yaml")
    recipe(tmp_path, "bar", "recipe.yaml")
    for example in sorted(EXAMPLES):
        recipe(tmp_path, example, "recipe.yaml")
    (tmp_path / "recipes" / ".DS_Store").write_text("macOS")
    (tmp_path / "recipes" / "empty").mkdir()

    assert find_recipes(tmp_path) == [
        StagedRecipe("bar", "recipe.yaml"),
        StagedRecipe("foo", "meta.yaml"),
    ]


def test_the_examples_are_the_ones_staged_recipes_keeps() -> None:
    # admin-requests #2245: the workflow's list and the script's list drifted apart.
    # staged-recipes has example-v0-deprecated and example-v1 (main, August 2026);
    # 'example' was the v0 example's old name and is still refused.
    assert {"example-v0-deprecated", "example-v1", "example"} == EXAMPLES


def test_a_recipe_with_both_files_is_the_v1_recipe_as_conda_smithy_takes_it(
    tmp_path: Path,
) -> None:
    recipe(tmp_path, "both", "meta.yaml")
    recipe(tmp_path, "both", "recipe.yaml")

    (found,) = find_recipes(tmp_path)

    assert (found.recipe_file, found.format, found.path) == ("recipe.yaml", "v1", "recipes/both")


def test_a_symlinked_recipe_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "meta.yaml").write_text("package:\n  name: x\n")
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "linked").symlink_to(outside)

    assert find_recipes(tmp_path) == []


def test_no_recipes_folder_means_nothing_waits(tmp_path: Path) -> None:
    assert find_recipes(tmp_path) == []
