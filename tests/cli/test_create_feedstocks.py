"""``admin-requests create-feedstocks``: render, the dry run, and refusing to run without
the credential broker. conda-smithy is a stand-in here (not installable from PyPI)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from admin_requests.cli import EXIT_USAGE, build_parser, main
from admin_requests.cli.create_feedstocks import command_run_creation
from admin_requests.git_auth import token_environment
from tests.creation.world import World, creation_world, git, install_standin


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


def test_run_creates_the_feedstocks_and_pushes_what_it_remembers(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    # The command as the workflow runs it: the env credential backend against the fakes
    # (the workflow uses the vault), the job's GITHUB_TOKEN for issues and fetches.
    world.github.public_reads = True  # staged-recipes is public: the job token may fetch it
    world.fail_pushes("pushfail-feedstock", *range(1, 100))
    world.render()
    seed = world.tmp / "home-seed"
    seed.mkdir()
    git("init", "--quiet", "--initial-branch=main", cwd=seed)
    (seed / "README.md").write_text("admin-requests\n")
    git("add", "-A", cwd=seed)
    git("commit", "--quiet", "-m", "initial", cwd=seed)
    url = world.server.add_repository("admin-requests", seed)
    world.github.add_repo("admin-requests")
    job = world.github.add_token(
        "ghs_job_token",
        repositories=["admin-requests"],
        permissions={"contents": "read", "issues": "write"},
    )
    home = world.tmp / "home"
    subprocess.run(
        ["git", "clone", "--quiet", url, str(home)],
        check=True,
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", **token_environment(job)},
    )
    environ = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(world.tmp),
        "GITHUB_TOKEN": job,
        "GITHUB_API_URL": world.github.url,
        "GITHUB_SERVER_URL": world.server.url,
        "GITHUB_REPOSITORY": "conda-forge/admin-requests",
        "ADMIN_REQUESTS_CREDENTIALS": "env",
        "ADMIN_DEV_GITHUB_APP_KEY_FILE": str(world.key_file),
        "GITHUB_APP_ID": "4242",
        "GITHUB_APP_INSTALLATION_ID": "77",
        "ADMIN_REQUESTS_HTTP_TIMEOUT": "5",
        "GITHUB_STEP_SUMMARY": str(world.tmp / "summary.md"),
        "GITHUB_ACTIONS": "true",
        "ADMIN_REQUESTS_ALLOW_ENV_BACKEND": "test-only",
    }
    args = build_parser().parse_args(
        [
            "create-feedstocks",
            "run",
            "--staged-recipes",
            str(world.staged),
            "--rendered",
            str(world.rendered),
            "--root",
            str(home),
            "--push",
        ]
    )

    code = command_run_creation(args, environ)

    assert code == 1  # 'broken' and 'existing' are parked
    printed = capsys.readouterr().out
    assert "recipes/foo: created: created https://github.com/conda-forge/foo-feedstock" in printed
    assert "foo" not in world.remote_recipes()
    pushed = git("ls-tree", "-r", "--name-only", "main", cwd=world.server.bare("admin-requests"))
    assert pushed.splitlines() == [
        "README.md",
        "creation-state/broken.json",
        "creation-state/existing.json",
        "creation-state/pushfail.json",
    ]
    assert "::error title=feedstock creation stuck::recipes/broken: " in printed
    summary = (world.tmp / "summary.md").read_text()
    assert "5 recipe(s): 2 created, 2 parked now, 0 still parked, 1 to retry later" in summary
    assert "| `recipes/foo` | `foo-feedstock` | created |" in summary
    assert "❌" not in summary  # every revocable credential was revoked
    # Only App JWTs outlive the run (GitHub cannot revoke them), by at most a minute.
    assert "stay valid after the run for at most 60 s: github-app-jwt." in summary
    issues = world.github.issues("admin-requests")
    assert sorted(i.title for i in issues) == [
        "Feedstock creation is stuck: recipes/broken",
        "Feedstock creation is stuck: recipes/existing",
    ]
