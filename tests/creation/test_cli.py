"""``admin-requests create-feedstocks``: render, the dry run, and refusing to run without
the credential broker. conda-smithy is a stand-in here (not installable from PyPI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from admin_requests.cli import EXIT_USAGE, main

from .world import World, creation_world, install_standin


@pytest.fixture
def world(tmp_path: Path) -> World:
    with creation_world(tmp_path) as made:
        yield made  # type: ignore[misc]


def test_render_writes_one_rendering_per_waiting_recipe(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONDA_SMITHY", str(install_standin(world.tmp / "bin")))
    out = world.tmp / "out"

    code = main(
        ["create-feedstocks", "render", "--staged-recipes", str(world.staged), "--output", str(out)]
    )

    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["bar", "broken", "existing", "foo", "pushfail"]
    printed = capsys.readouterr().out
    assert "recipes/foo: foo-feedstock" in printed
    assert "recipes/broken: failed: conda-smithy init of recipes/broken failed" in printed


def test_the_dry_run_shows_each_recipe_and_calls_nothing(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.render()
    calls = world.github.call_count

    code = main(
        [
            "create-feedstocks",
            "run",
            "--dry-run",
            "--staged-recipes",
            str(world.staged),
            "--rendered",
            str(world.rendered),
            "--root",
            str(world.root),
        ]
    )

    assert code == 0
    assert world.github.call_count == calls
    lines = capsys.readouterr().out.splitlines()
    steps = "repository, ruleset, content, ci, token, outputs, maintainers"
    then = "then removed from staged-recipes"
    assert f"recipes/foo (v0): foo-feedstock: {steps}, {then}" in lines
    assert f"recipes/bar (v1): bar-feedstock: {steps}, {then}" in lines
    assert any(
        line.startswith("recipes/broken (v0): stuck: conda-smithy could not render")
        for line in lines
    )
    assert not any("example" in line for line in lines)
    assert not (world.root / "creation-state").exists()


def test_run_refuses_to_work_without_the_credential_broker(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ADMIN_REQUESTS_CREDENTIALS", raising=False)
    code = main(
        [
            "create-feedstocks",
            "run",
            "--staged-recipes",
            str(world.staged),
            "--rendered",
            str(world.rendered),
            "--root",
            str(world.root),
        ]
    )

    assert code == EXIT_USAGE
    assert "never runs on the job's GITHUB_TOKEN alone" in capsys.readouterr().err
