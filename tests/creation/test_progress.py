"""creation-state/: the queue's state per recipe plus the steps, and the names refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from admin_requests.config import Settings
from admin_requests.creation.engine import refused_name
from admin_requests.creation.progress import ProgressStore, RecipeProgress
from admin_requests.queue.state import RequestState, RetryPolicy


def test_progress_round_trips_with_the_queue_state_it_carries(tmp_path: Path) -> None:
    store = ProgressStore(tmp_path)
    state = RequestState("recipes/foo", "tree1").after_failed_attempt(
        now=datetime(2026, 1, 1, tzinfo=UTC),
        digest="tree1",
        pending={"content": "not verified yet"},
        error="push failed",
        permanent=False,
        policy=RetryPolicy(),
    )
    store.save(RecipeProgress(state, "foo", {"repository": "created", "ruleset": "holds"}))

    back = store.load("foo")

    assert back is not None
    assert back.state == state
    assert (back.feedstock, back.steps) == ("foo", {"repository": "created", "ruleset": "holds"})
    data = json.loads((tmp_path / "creation-state" / "foo.json").read_text())
    assert data["attempts"] == 1
    assert data["next_attempt"] == "2026-01-01T00:15:00Z"
    assert store.recipes() == ["foo"]


def test_a_symlinked_state_file_is_never_read(tmp_path: Path) -> None:
    (tmp_path / "creation-state").mkdir()
    (tmp_path / "elsewhere.json").write_text("{}")
    (tmp_path / "creation-state" / "foo.json").symlink_to(tmp_path / "elsewhere.json")

    assert ProgressStore(tmp_path).load("foo") is None


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("core", "reserved"),
        ("all-members", "reserved"),
        ("feedstock-tokens", "infrastructure"),
        ("../evil", "contains '/'"),
        ("", "names no feedstock"),
    ],
)
def test_names_that_would_take_a_team_or_an_infrastructure_repository_are_refused(
    name: str, words: str
) -> None:
    # conda-forge's script skipped core, bot, staged-recipes... (REPO_SKIP_LIST): the
    # feedstock's team is named after it. A name whose '<name>-feedstock' is one of the
    # protected infrastructure repositories is refused too.
    settings = Settings(feedstock_tokens_repository="feedstock-tokens-feedstock")

    refused = refused_name(name, settings)

    assert refused is not None
    assert words in refused


def test_an_ordinary_name_is_accepted() -> None:
    assert refused_name("numpy", Settings()) is None
