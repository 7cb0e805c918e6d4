"""Feedstock creation's left-overs for the status tests, written by creation's own store.

``seed_creation`` writes ``creation-state/`` the way creation/engine.py does: through
``ProgressStore`` with ``RequestState``'s own transitions (``after_failed_attempt`` with
the default ``RetryPolicy``), relative to ``now``:

- ``stuck-recipe``: rendering refused it (a permanent failure), parked, issue #41;
- ``flaky-ci``: three steps done, the CI registration failed twice, in backoff;
- ``crashed``: two steps recorded, then the runner was lost (no failed attempt): due;
- ``almost``: every step verified, the recipe's removal is left: due;
- ``tired``: failed 8 times in a row, parked without an issue recorded.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path

from admin_requests.creation.progress import ProgressStore, RecipeProgress
from admin_requests.creation.steps import STEP_NAMES
from admin_requests.queue.state import RequestState, RetryPolicy

EXPECTED = {
    "stuck-recipe": "stuck",
    "tired": "stuck",
    "flaky-ci": "waiting",
    "crashed": "in-progress",
    "almost": "in-progress",
}


def _failed(
    state: RequestState, at: datetime, error: str, *, permanent: bool = False, done: int = 0
) -> RequestState:
    return state.after_failed_attempt(
        now=at,
        digest=state.content_sha256,
        pending={n: "not verified yet" for n in STEP_NAMES[done:]},
        error=error,
        permanent=permanent,
        policy=RetryPolicy(),
    )


def _steps(count: int) -> dict[str, str]:
    evidence = ("created (id 1234)", "verified (id 9)", "pushed abc123", "registered")
    return {name: evidence[i % len(evidence)] for i, name in enumerate(STEP_NAMES[:count])}


def seed_creation(root: Path, now: datetime) -> None:
    store = ProgressStore(root)
    stuck = _failed(
        RequestState("recipes/stuck-recipe", "tree-stuck"),
        now - timedelta(days=3),
        "conda-smithy could not render the recipe: 'source' is missing. Fix the recipe in a "
        "new pull request to staged-recipes (it is rendered again when it changes).",
        permanent=True,
    )
    store.save(RecipeProgress(dataclasses.replace(stuck, issue=41), ""))

    flaky = RequestState("recipes/flaky-ci", "tree-flaky")
    for minutes in (40, 20):
        flaky = _failed(flaky, now - timedelta(minutes=minutes), "Azure answered 503", done=3)
    store.save(RecipeProgress(flaky, "flaky-ci", _steps(3)))

    store.save(
        RecipeProgress(RequestState("recipes/crashed", "tree-crashed"), "crashed", _steps(2))
    )
    store.save(RecipeProgress(RequestState("recipes/almost", "tree-almost"), "almost", _steps(7)))

    tired = RequestState("recipes/tired", "tree-tired")
    for hours in range(60, 20, -5):
        tired = _failed(tired, now - timedelta(hours=hours), "GitHub answered 502", done=1)
    store.save(RecipeProgress(tired, "tired", _steps(1)))
