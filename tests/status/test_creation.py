"""The feedstock-creation queue on the page: creation-state/ read with the queue's rule."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema

from admin_requests.creation.steps import STEP_NAMES
from admin_requests.status import StatusReport, render_html
from admin_requests.status.creation import CreationQueue, CreationState, read_creation_queue
from admin_requests.status.schema import status_schema
from tests.status.creation_data import EXPECTED, seed_creation
from tests.status.test_render import EVIL, parse

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
URL = "https://github.com/conda-forge/admin-requests"


def _read(root: Path, now: datetime = NOW) -> tuple[CreationQueue, list[str]]:
    problems: list[str] = []
    return read_creation_queue(root, now, problems, repository_url=URL), problems


def test_each_recipe_is_waiting_in_progress_or_stuck_as_the_next_run_sees_it(
    tmp_path: Path,
) -> None:
    seed_creation(tmp_path, NOW)

    queue, problems = _read(tmp_path)

    assert problems == []
    assert queue.tracked
    assert {r.recipe: r.state.value for r in queue.recipes} == EXPECTED
    # Stuck first (longest first), then waiting, then in progress.
    assert [r.recipe for r in queue.recipes] == [
        "stuck-recipe",
        "tired",
        "flaky-ci",
        "almost",
        "crashed",
    ]
    by_name = {r.recipe: r for r in queue.recipes}
    stuck = by_name["stuck-recipe"]
    assert stuck.why.startswith("parked: a permanent failure")
    assert "conda-smithy could not render" in (stuck.last_error or "")
    assert (stuck.issue, stuck.issue_url) == (41, f"{URL}/issues/41")
    assert by_name["tired"].parked_reason == "it failed 8 times in a row"
    flaky = by_name["flaky-ci"]
    assert flaky.attempts == 2
    assert flaky.next_attempt == NOW - timedelta(minutes=20) + timedelta(minutes=30)
    assert flaky.why == "2 failed attempt(s); next attempt not before 2026-03-02T12:10:00Z"
    assert [s for s, _ in flaky.done] == list(STEP_NAMES[:3])
    assert flaky.pending == STEP_NAMES[3:]
    assert by_name["crashed"].why == "the next run carries on from step 'content'"
    assert by_name["almost"].pending == ()
    assert "removes the recipe from staged-recipes" in by_name["almost"].why


def test_a_waiting_recipe_is_in_progress_once_its_backoff_is_over(tmp_path: Path) -> None:
    seed_creation(tmp_path, NOW)

    queue, _ = _read(tmp_path, NOW + timedelta(minutes=11))

    flaky = next(r for r in queue.recipes if r.recipe == "flaky-ci")
    assert flaky.state is CreationState.IN_PROGRESS
    assert flaky.why == "the next run carries on from step 'ci' (2 failed attempt(s) so far)"


def test_a_broken_or_linked_state_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    seed_creation(tmp_path, NOW)
    (tmp_path / "creation-state" / "broken.json").write_text("{not json")
    (tmp_path / "elsewhere.json").write_text("{}")
    (tmp_path / "creation-state" / "linked.json").symlink_to(tmp_path / "elsewhere.json")
    (tmp_path / "creation-state" / "README.md").write_text("not a state file")

    queue, problems = _read(tmp_path)

    assert len(queue.recipes) == len(EXPECTED)
    assert len(problems) == 2
    assert problems[0].startswith("creation-state/broken.json is broken (not valid JSON")
    assert "starts that recipe afresh" in problems[0]
    assert problems[1].startswith("creation-state/linked.json is a symbolic link")


def test_without_creation_state_the_page_has_no_creation_section(tmp_path: Path) -> None:
    queue, problems = _read(tmp_path)
    assert (queue, problems) == (CreationQueue(), [])


def test_the_page_lists_the_creation_queue_and_status_json_carries_it(
    scenario_report: StatusReport,
) -> None:
    html = render_html(scenario_report)
    elements = parse(html)
    rows = {a["data-recipe"]: a["class"] for a in elements.find("tr") if "data-recipe" in a}
    assert rows == {name: f"creation-{state}" for name, state in EXPECTED.items()}
    text = " ".join(" ".join(elements.text).split())
    assert "5 recipes of staged-recipes not yet a feedstock" in text
    assert "2 stuck, 1 waiting for a retry, 2 in progress" in text
    assert "2 stuck recipes" in scenario_report.attention
    assert elements.find("a", href=f"{URL}/issues/41")
    assert elements.find("a", href="#creation")

    data = scenario_report.to_dict()
    creation = data["creation"]
    assert (creation["stuck"], creation["waiting"], creation["in_progress"]) == (2, 1, 2)
    assert data["summary"]["recipes_stuck"] == 2
    assert creation["steps"] == list(STEP_NAMES)
    schema = status_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    validator.validate(data)
    broken = {**creation, "recipes": [{**creation["recipes"][0], "state": "sleepy"}]}
    assert not validator.is_valid({**data, "creation": broken})
    assert not validator.is_valid({**data, "creation": {**creation, "surprise": 1}})


def test_recipe_text_is_escaped(scenario_report: StatusReport) -> None:
    [first, *rest] = scenario_report.creation.recipes
    hostile = dataclasses.replace(first, recipe=EVIL, feedstock=EVIL, last_error=EVIL, why=EVIL)
    creation = dataclasses.replace(scenario_report.creation, recipes=(hostile, *rest))
    html = render_html(dataclasses.replace(scenario_report, creation=creation))
    assert parse(html).find("script") == []
    assert EVIL in "".join(parse(html).text)
    assert json.loads(json.dumps(creation.to_dict()))["recipes"][0]["recipe"] == EVIL
