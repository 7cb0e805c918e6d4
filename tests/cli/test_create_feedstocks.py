"""``admin-requests create-feedstocks``: render, the dry run, and refusing to run without
the credential broker. conda-smithy is a stand-in here (not installable from PyPI)."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from admin_requests.cli import EXIT_USAGE, build_parser, main
from admin_requests.cli.create_feedstocks import command_run_creation
from admin_requests.creation.render import write_index
from admin_requests.git_auth import token_environment
from admin_requests.queue.lease import LeaseInfo
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
    names = ["bar", "broken", "existing", "foo", "pushfail"]
    assert sorted(p.name for p in out.iterdir()) == [*names, "renderings.json"]
    printed = capsys.readouterr().out
    assert "recipes/foo: foo-feedstock" in printed
    assert "recipes/broken: failed: conda-smithy init of recipes/broken failed" in printed
    index = json.loads((out / "renderings.json").read_text())
    assert [e["recipe"] for e in index["renderings"]] == names
    assert [e["recipe"] for e in index["renderings"] if e["error"]] == ["broken"]


def test_render_writes_its_index_when_no_recipe_waits_and_when_it_cannot_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The artifact always exists: the create job's download never fails on a quiet run."""
    with creation_world(tmp_path, recipes={}) as world:
        monkeypatch.setenv("CONDA_SMITHY", str(install_standin(world.tmp / "bin")))
        out = world.tmp / "out"
        argv = ["create-feedstocks", "render", "--staged-recipes", str(world.staged)]
        assert main([*argv, "--output", str(out)]) == 0
        assert sorted(p.name for p in out.iterdir()) == ["renderings.json"]
        assert json.loads((out / "renderings.json").read_text()) == {
            "format": 1,
            "renderings": [],
        }
        assert "0 recipe(s) rendered, 0 failed" in capsys.readouterr().out
        # No conda-smithy at all: the command fails, and the index is there all the same.
        monkeypatch.delenv("CONDA_SMITHY")
        broken = world.tmp / "broken-out"
        assert main([*argv, "--output", str(broken)]) == EXIT_USAGE
        assert json.loads((broken / "renderings.json").read_text())["renderings"] == []


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


def job(world: World) -> tuple[Path, dict[str, str]]:
    """This repository's checkout and the create job's environment, as the workflow has
    them: the env credential backend against the fakes (the workflow uses the vault),
    the job's GITHUB_TOKEN for issues and fetches."""
    world.github.public_reads = True  # staged-recipes is public: the job token may fetch it
    seed = world.tmp / "home-seed"
    seed.mkdir()
    git("init", "--quiet", "--initial-branch=main", cwd=seed)
    (seed / "README.md").write_text("admin-requests\n")
    git("add", "-A", cwd=seed)
    git("commit", "--quiet", "-m", "initial", cwd=seed)
    url = world.server.add_repository("admin-requests", seed)
    world.github.add_repo("admin-requests")
    token = world.github.add_token(
        "ghs_job_token",
        repositories=["admin-requests"],
        permissions={"contents": "read", "issues": "write"},
    )
    home = world.tmp / "home"
    subprocess.run(
        ["git", "clone", "--quiet", url, str(home)],
        check=True,
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", **token_environment(token)},
    )
    environ = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(world.tmp),
        "GITHUB_TOKEN": token,
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
    return home, environ


def run_args(world: World, home: Path) -> list[str]:
    return [
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


def test_run_creates_the_feedstocks_and_pushes_what_it_remembers(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    home, environ = job(world)
    world.fail_pushes("pushfail-feedstock", *range(1, 100))
    world.render()
    args = build_parser().parse_args(run_args(world, home))

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
    # The run held the creation lease, and gave it up at its end.
    assert lease_updates(world) == ["creation", "deletion"]
    assert lease_commit(world) == ""


LEASE = "refs/heads/admin-requests/create-feedstocks-lease"


def lease_updates(world: World) -> list[str]:
    """What the pushes to this repository did to the creation lease, in order."""
    return [
        update.kind
        for push in world.server.pushes
        if push.repository == "admin-requests" and not push.reason
        for update in push.updates
        if update.ref == LEASE
    ]


def lease_commit(world: World) -> str:
    bare = world.server.bare("admin-requests")
    return git("for-each-ref", "--format=%(objectname)", LEASE, cwd=bare)


def hold_the_lease(world: World, holder: str) -> str:
    """Another creation run's lease on the remote, valid for ten more minutes."""
    now = datetime.now(UTC)
    info = LeaseInfo(holder, now - timedelta(minutes=2), now + timedelta(minutes=10))
    bare = world.server.bare("admin-requests")
    tree = subprocess.run(
        ["git", "mktree"], cwd=bare, input="", capture_output=True, text=True, check=True
    ).stdout.strip()
    commit = git("commit-tree", tree, "-m", info.to_message(), cwd=bare)
    git("update-ref", LEASE, commit, cwd=bare)
    return commit


def test_a_second_run_while_the_lease_is_held_does_nothing_and_says_so(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    home, environ = job(world)
    world.render()
    held = hold_the_lease(world, "run 41.1 on runner-a")
    repositories = set(world.github.repos)
    recipes = world.remote_recipes()

    code = command_run_creation(build_parser().parse_args(run_args(world, home)), environ)

    assert code == 0  # another run's turn: not a failure
    printed = capsys.readouterr().out
    assert (
        "admin-requests: another run is creating feedstocks: 'run 41.1 on runner-a' holds "
        "the run lease 'admin-requests/create-feedstocks-lease' since"
    ) in printed
    assert (
        "Nothing done: another run is creating feedstocks" in (world.tmp / "summary.md").read_text()
    )
    # Nothing was created, removed, pushed or minted, and the other run's lease stands.
    assert set(world.github.repos) == repositories
    assert world.remote_recipes() == recipes
    assert not any(p.repository == "admin-requests" for p in world.server.pushes)
    assert not [t for t in world.github.tokens.values() if t.installation_id is not None]
    assert lease_commit(world) == held
    assert not (home / "creation-state").exists()


def test_a_run_with_no_recipe_waiting_creates_nothing_and_succeeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with creation_world(tmp_path, recipes={}) as world:
        home, environ = job(world)
        # The render job's artifact on a quiet run: the index and nothing else.
        write_index(world.rendered, [])
        log = world.remote_log()

        code = command_run_creation(build_parser().parse_args(run_args(world, home)), environ)

        assert code == 0
        assert "no recipe waits in staged-recipes: nothing to create" in capsys.readouterr().out
        assert world.remote_log() == log  # no removal commit
        assert lease_updates(world) == ["creation", "deletion"]
        assert not (home / "creation-state").exists()


def test_a_lease_that_cannot_be_read_stops_the_run_before_anything_is_done(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    home, environ = job(world)
    world.render()
    git("remote", "set-url", "origin", str(world.tmp / "no-such-remote.git"), cwd=home)
    repositories = set(world.github.repos)

    code = command_run_creation(build_parser().parse_args(run_args(world, home)), environ)

    assert code == 1
    err = capsys.readouterr().err
    assert "admin-requests: error: cannot read the run lease" in err
    assert "create-feedstocks-lease" in err
    assert set(world.github.repos) == repositories
