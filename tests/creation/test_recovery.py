"""A crash between any two steps, then a re-run, ends as an uninterrupted run does, with
nothing done twice: one repository, one push, one feedstock token, one comment.

The run is stopped at each of its checkpoints in turn (queue/checkpoints.py's hook,
raising an exception no handler catches, as a killed runner would stop it), then run
again; half of the re-runs also lose creation-state/ (a runner that vanished with its
checkout), so every step must recognise its own earlier work on GitHub itself.
conda-smithy is a stand-in here (not installable from PyPI): see world.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from admin_requests.creation.steps import MAINTAINERS_FILE
from admin_requests.kinds.token_reset import registry

from .world import World, creation_world


class Crash(BaseException):
    """The runner vanished: no handler of the run catches it."""


class CrashAt:
    def __init__(self, at: int | None) -> None:
        self.at = at
        self.seen: list[str] = []

    def __call__(self, name: str) -> None:
        self.seen.append(name)
        if len(self.seen) == self.at:
            raise Crash(name)


def end_state(world: World) -> dict[str, Any]:
    repo = world.github.repo("foo-feedstock")
    tokens = world.github.repo("feedstock-tokens").files[registry.registry_path("foo")]
    return {
        "created": world.github.effects["create_repo"],
        "pushes": world.pushes_to("foo-feedstock"),
        "rulesets": len(repo.admin.rulesets),
        "secret writes": world.github.count("PUT", r"/foo-feedstock/actions/secrets/"),
        "tokens": [sorted(e) for e in registry.parse(tokens, "x")],
        "outputs": sorted(
            p
            for p, c in world.github.repo("feedstock-outputs").files.items()
            if p.startswith("outputs/") and json.loads(c) == {"feedstocks": ["foo"]}
        ),
        "maintainers": repo.files.get(MAINTAINERS_FILE),
        "recipes": world.remote_recipes(),
        "removals": [s for s in world.remote_log() if s.startswith("Removed")],
        "comments": len(world.comments("foo")),
        "state": sorted(p.name for p in (world.root / "creation-state").glob("*.json")),
    }


def run_to_the_end(
    tmp: Path, crash_at: int | None, *, lose_state: bool
) -> tuple[dict[str, Any], list[str]]:
    with creation_world(tmp) as world:
        world.render("foo")
        hook = CrashAt(crash_at)
        try:
            world.run(only=("foo",), checkpoint=hook)
        except Crash:
            if lose_state:
                shutil.rmtree(world.root / "creation-state", ignore_errors=True)
            world.later(1)
            report = world.run(only=("foo",))
            # Nothing left to do when it stopped after the removal (and lost its state).
            assert [r.status for r in report.results] in (["created"], []), report.results
        return end_state(world), hook.seen


def test_a_crash_between_any_two_steps_then_a_rerun_ends_the_same_with_nothing_twice(
    tmp_path: Path,
) -> None:
    expected, points = run_to_the_end(tmp_path / "whole", None, lose_state=False)
    assert expected["pushes"] == expected["created"] == expected["comments"] == 1
    assert (
        expected["recipes"] == ["example-v0-deprecated", "example-v1"]
        or "foo" not in expected["recipes"]
    )
    assert len(points) >= 14, points  # every step's effect and its record, and the removal
    for at in range(1, len(points) + 1):
        for lose_state in (False, True) if at % 2 else (False,):
            got, _ = run_to_the_end(
                tmp_path / f"crash-{at}-{lose_state}", at, lose_state=lose_state
            )
            assert got == expected, (at, points[at - 1], lose_state)
