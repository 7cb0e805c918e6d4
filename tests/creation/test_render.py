"""The render job's side: conda-smithy on each recipe, with no credential in reach.

conda-smithy is not installable from PyPI (a 0.0.0 placeholder): a stand-in takes its
place (standin_smithy.py). What is real: the environment it gets, the conda-forge.yml
settings, the rendering files and how the privileged job reads them back.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from admin_requests.creation.recipes import StagedRecipe
from admin_requests.creation.render import (
    RecipeRenderer,
    conda_forge_yml_settings,
    load_renderings,
)
from admin_requests.services.smithy import ALLOWED_VARIABLES

from .world import BROKEN, FOO, git, install_standin


@pytest.fixture
def staged(tmp_path: Path) -> Path:
    root = tmp_path / "staged"
    for name, text in (("foo", FOO), ("broken", BROKEN)):
        (root / "recipes" / name).mkdir(parents=True)
        (root / "recipes" / name / "meta.yaml").write_text(text)
    git("init", "--quiet", "--initial-branch=main", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "--quiet", "-m", "recipes", cwd=root)
    return root


def environ(tmp_path: Path) -> dict[str, str]:
    seen = tmp_path / "seen"
    seen.mkdir(exist_ok=True)
    return {
        "PATH": "/usr/bin:/bin",
        "TMPDIR": str(seen),
        "GITHUB_TOKEN": "ghs_job_token",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "oidc",
        "ACTIONS_ID_TOKEN_REQUEST_URL": "http://127.0.0.1:9",
        "VAULT_ADDR": "http://127.0.0.1:9",
        "VAULT_TOKEN": "hvs.secret",
        "AWS_SECRET_ACCESS_KEY": "aws",
        "ADMIN_DEV_GITHUB_APP_KEY_FILE": "/key.pem",
    }


def test_a_recipe_renders_into_a_feedstock_named_by_conda_smithy(
    tmp_path: Path, staged: Path
) -> None:
    renderer = RecipeRenderer(str(install_standin(tmp_path / "bin")), environ(tmp_path))

    rendering = renderer.render(staged, StagedRecipe("foo", "meta.yaml"), tmp_path / "out")

    assert rendering.error is None
    assert (rendering.feedstock, rendering.outputs) == ("foo", ("foo", "libfoo"))
    tree = subprocess.run(
        ["git", "rev-parse", "HEAD:recipes/foo"], cwd=staged, capture_output=True, text=True
    ).stdout.strip()
    assert rendering.recipe_tree == tree
    content = tmp_path / "out" / "foo" / "feedstock"
    assert not (content / ".git").exists()
    config = YAML(typ="safe").load((content / "conda-forge.yml").read_text())
    assert config["conda_forge_output_validation"] is True
    assert config["github"] == {"branch_name": "main", "tooling_branch_name": "main"}
    assert config["conda_build"] == {"error_overlinking": True}
    # Read back by the privileged job, content and all.
    (back,) = load_renderings(tmp_path / "out").values()
    assert back == rendering
    assert back.content == content


def test_conda_smithy_sees_no_credential_of_the_job(tmp_path: Path, staged: Path) -> None:
    renderer = RecipeRenderer(str(install_standin(tmp_path / "bin")), environ(tmp_path))

    renderer.render(staged, StagedRecipe("foo", "meta.yaml"), tmp_path / "out")

    seen = [json.loads(p.read_text()) for p in (tmp_path / "seen").glob("standin-env-*.json")]
    assert len(seen) == 2  # init and rerender
    for names in seen:
        allowed = set(ALLOWED_VARIABLES) | {"HOME", "PWD", "SHLVL", "_"}
        assert {n for n in names if not n.startswith("GIT_")} <= allowed, names
        assert "GITHUB_TOKEN" not in names
        assert not any(n.startswith(("ACTIONS_", "VAULT_", "AWS_", "ADMIN_DEV_")) for n in names)


def test_a_recipe_that_does_not_render_gets_a_rendering_with_the_error(
    tmp_path: Path, staged: Path
) -> None:
    renderer = RecipeRenderer(str(install_standin(tmp_path / "bin")), environ(tmp_path))

    rendering = renderer.render(staged, StagedRecipe("broken", "meta.yaml"), tmp_path / "out")

    assert rendering.error is not None
    assert "conda-smithy init of recipes/broken failed (exit 1)" in rendering.error
    assert "the recipe does not render" in rendering.error
    (back,) = load_renderings(tmp_path / "out").values()
    assert back.error == rendering.error
    assert back.content is None


def test_a_missing_conda_smithy_says_how_to_install_it(tmp_path: Path, staged: Path) -> None:
    renderer = RecipeRenderer(str(tmp_path / "no-such-conda-smithy"), environ(tmp_path))

    rendering = renderer.render(staged, StagedRecipe("foo", "meta.yaml"), tmp_path / "out")

    assert rendering.error is not None
    assert "set CONDA_SMITHY to its path" in rendering.error
    # Every file the message sends the reader to exists (it once named a lock that
    # did not).
    root = Path(__file__).resolve().parents[2]
    for named in re.findall(r"[\w./-]+\.(?:md|lock|yml|txt)\b", rendering.error):
        assert (root / named).is_file(), f"the message names {named}, which does not exist"


def test_renderings_that_are_not_ours_are_skipped(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "a").mkdir(parents=True)
    (out / "a" / "rendering.json").write_text('{"format": 2}')
    (out / "b").mkdir()
    (out / "b" / "rendering.json").write_text(
        json.dumps({"format": 1, "recipe": "other", "recipe_tree": "x"})
    )

    assert load_renderings(out) == {}


def test_conda_forge_yml_keeps_what_the_recipe_set_and_adds_the_new_feedstock_settings() -> None:
    text = (
        "upload_on_branch: master\n"
        "conda_build:\n  error_overlinking: false\n"
        "bot: {automerge: true}\n"
    )

    config = YAML(typ="safe").load(conda_forge_yml_settings(text))

    assert config["upload_on_branch"] == "main"
    assert config["conda_build"] == {"error_overlinking": False}  # the recipe's choice
    assert config["bot"] == {"automerge": True}
    assert config["conda_forge_output_validation"] is True
