"""Feedstock creation end to end against the fakes (tests/creation/world.py).

conda-smithy is not installable from PyPI (only a 0.0.0 placeholder): the renderings are
made by the production renderer running a stand-in (standin_smithy.py), so what the real
conda-smithy writes is not tested here; everything after it is.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from admin_requests.creation.steps import MAINTAINERS_FILE, RULESET_NAME, ruleset_holds
from admin_requests.kinds.token_reset import registry

from .world import WAITING, World, creation_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with creation_world(tmp_path) as made:
        made.fail_pushes("pushfail-feedstock", *range(1, 100))
        made.render()
        yield made


def statuses(report: object) -> dict[str, str]:
    return {r.recipe: r.status for r in report.results}  # type: ignore[attr-defined]


def test_one_run_creates_the_good_feedstocks_and_isolates_each_bad_recipe(world: World) -> None:
    report = world.run()

    assert statuses(report) == {
        "bar": "created",
        "broken": "parked",
        "existing": "parked",
        "foo": "created",
        "pushfail": "retrying",
    }
    assert report.exit_code() == 1  # a parked recipe fails the job visibly
    for name in ("foo", "bar"):
        repo = world.github.repo(f"{name}-feedstock")
        assert set(repo.files) >= {"recipe/" + ("meta.yaml" if name == "foo" else "recipe.yaml"), "conda-forge.yml", MAINTAINERS_FILE}
        assert repo.files[MAINTAINERS_FILE] == b"{}"
        (ruleset,) = repo.admin.rulesets.values()
        assert ruleset["name"] == RULESET_NAME and ruleset_holds(ruleset)
        assert world.pushes_to(f"{name}-feedstock") == 1
        assert "FEEDSTOCK_TOKEN" in repo.secrets
        entries = registry.parse(
            world.github.repo("feedstock-tokens").files[registry.registry_path(name)], "x"
        )
        assert [(e["provider"], "expires_at" in e) for e in entries] == [("github_actions", False)]
        (comment,) = world.comments(name)
        assert f"https://github.com/conda-forge/{name}-feedstock" in comment
    outputs = world.github.repo("feedstock-outputs").files
    assert json.loads(outputs["outputs/f/o/o/foo.json"]) == {"feedstocks": ["foo"]}
    assert json.loads(outputs["outputs/l/i/b/libfoo.json"]) == {"feedstocks": ["foo"]}
    assert json.loads(outputs["outputs/b/a/r/bar.json"]) == {"feedstocks": ["bar"]}
    # One commit removed exactly the finished recipes; the examples stay.
    assert world.remote_recipes() == ["broken", "example-v0-deprecated", "example-v1", "existing", "pushfail"]
    assert world.remote_log()[0] == "Removed recipes (bar, foo) after converting into feedstocks."


def test_a_recipe_that_fails_to_render_is_parked_with_the_reason_on_its_pull_request(
    world: World,
) -> None:
    # staged-recipes #27802, #27423, #33187: one recipe that did not render crashed the
    # run for everyone; here it is parked on its own, and its author is told.
    report = world.run()

    broken = next(r for r in report.results if r.recipe == "broken")
    assert broken.status == "parked"
    (comment,) = world.comments("broken")
    assert "could not render the recipe" in comment
    assert "the recipe does not render" in comment  # conda-smithy's own last words
    assert "broken-feedstock" not in world.github.repos  # nothing was created
    (issue,) = world.tracker.issues.values()  # noqa: F841 (the 'existing' one is the other)
