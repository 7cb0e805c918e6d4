"""The feedstock-creation queue on the status page, read from ``creation-state/``.

Feedstock creation (creation/engine.py) keeps one file per recipe that did not become a
feedstock in one run, ``creation-state/<recipe>.json``: the queue's ``RequestState``
plus the feedstock's name and the steps verified so far (creation/progress.py). The
page sorts them with the queue's own rule, ``queue.decision.decide``, exactly as the
next creation run will:

- stuck: parked (a permanent failure or too many attempts); waits for a person;
- waiting: failed before and in backoff until its next attempt;
- in progress: due, so the next run carries on from its first unverified step.

The recipe's digest is its directory's tree in staged-recipes, which this checkout does
not have, so the page takes the recorded one: a recipe changed since (which the next
run starts afresh) shows as it was recorded. Reads only; a broken file is a problem on
the page, not an error.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from admin_requests.creation.progress import STATE_DIR
from admin_requests.creation.steps import STEP_NAMES
from admin_requests.errors import StateFileError
from admin_requests.queue.decision import Verdict, decide
from admin_requests.queue.state import RequestState, format_time

ERROR_CHARS = 400  # as the request queue: the issue has the whole text


class CreationState(enum.Enum):
    STUCK = "stuck"  # parked: a change to the recipe or a retry resumes it
    WAITING = "waiting"  # in backoff after failed attempts
    IN_PROGRESS = "in-progress"  # due: the next run carries on with its pending steps


ORDER = {CreationState.STUCK: 0, CreationState.WAITING: 1, CreationState.IN_PROGRESS: 2}


@dataclass(frozen=True)
class CreationRecipe:
    recipe: str  # the folder name in staged-recipes' recipes/
    feedstock: str  # as conda-smithy rendered it; empty before the first rendering
    state: CreationState
    why: str  # in words: what the next run does with it, and why
    attempts: int
    last_attempt: datetime | None
    next_attempt: datetime | None
    last_error: str | None
    parked_reason: str | None
    issue: int | None  # the issue that tells the recipe's authors and core
    issue_url: str | None
    done: tuple[tuple[str, str], ...]  # (step, evidence), in the engine's step order
    pending: tuple[str, ...]  # the steps not verified yet, in order
    state_file: str  # creation-state/<recipe>.json

    def to_dict(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe,
            "feedstock": self.feedstock,
            "state": self.state.value,
            "why": self.why,
            "attempts": self.attempts,
            "last_attempt": format_time(self.last_attempt),
            "next_attempt": format_time(self.next_attempt),
            "last_error": self.last_error,
            "parked_reason": self.parked_reason,
            "issue": None if self.issue is None else {"number": self.issue, "url": self.issue_url},
            "steps_done": [{"step": s, "evidence": e} for s, e in self.done],
            "steps_pending": list(self.pending),
            "state_file": self.state_file,
        }


@dataclass(frozen=True)
class CreationQueue:
    recipes: tuple[CreationRecipe, ...] = ()  # stuck first, then waiting, then in progress
    tracked: bool = False  # the checkout has a creation-state/ folder
    state_dir: str = STATE_DIR

    def count(self, state: CreationState) -> int:
        return sum(r.state is state for r in self.recipes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tracked": self.tracked,
            "state_dir": self.state_dir,
            "recipes_total": len(self.recipes),
            **{s.value.replace("-", "_"): self.count(s) for s in CreationState},
            "steps": list(STEP_NAMES),
            "recipes": [r.to_dict() for r in self.recipes],
        }


def read_creation_queue(
    root: Path,
    now: datetime,
    problems: list[str],
    *,
    repository_url: str,
    state_dir: str = STATE_DIR,
) -> CreationQueue:
    """Every recipe in ``root/state_dir``, classified as the next creation run will."""
    folder = root / state_dir
    if not folder.is_dir():
        return CreationQueue(state_dir=state_dir)
    recipes = []
    for path in sorted(folder.glob("*.json")):
        relative = f"{state_dir}/{path.name}"
        if path.is_symlink():
            problems.append(f"{relative} is a symbolic link; creation ignores it, so does this")
            continue
        try:
            recipes.append(_recipe(path, relative, now, repository_url))
        except (StateFileError, OSError, UnicodeDecodeError, ValueError) as exc:
            problems.append(
                f"{relative} is broken ({exc}); the next creation run starts that recipe afresh"
            )
    recipes.sort(key=lambda r: (ORDER[r.state], r.last_attempt or now, r.recipe))
    return CreationQueue(tuple(recipes), tracked=True, state_dir=state_dir)


def _recipe(path: Path, relative: str, now: datetime, repository_url: str) -> CreationRecipe:
    text = path.read_text(encoding="utf-8")
    state = RequestState.from_json(text)
    data = json.loads(text)  # valid: from_json read it
    raw_steps = data.get("steps") if isinstance(data.get("steps"), dict) else {}
    steps = {str(k): str(v) for k, v in raw_steps.items()}
    decision = decide(state.request, state, state.content_sha256, now)
    done = tuple((name, steps[name]) for name in STEP_NAMES if name in steps)
    done += tuple((k, v) for k, v in sorted(steps.items()) if k not in STEP_NAMES)
    pending = tuple(name for name in STEP_NAMES if name not in steps)
    if decision.verdict is Verdict.PARKED:
        kind = CreationState.STUCK
        why = f"parked: {state.parked_reason or 'parked'}; change the recipe or retry it"
    elif decision.verdict is Verdict.WAIT:
        kind = CreationState.WAITING
        why = decision.describe()
    else:
        kind = CreationState.IN_PROGRESS
        if state.completed or not pending:
            why = "every step verified; the next run removes the recipe from staged-recipes"
        else:
            why = f"the next run carries on from step {pending[0]!r}"
            if state.attempts:
                why += f" ({state.attempts} failed attempt(s) so far)"
    issue_url = f"{repository_url}/issues/{state.issue}" if state.issue is not None else None
    error = state.last_error
    if error is not None and len(error) > ERROR_CHARS:
        error = error[: ERROR_CHARS - 1].rstrip() + "…"
    return CreationRecipe(
        recipe=Path(state.request).name or path.stem,
        feedstock=str(data.get("feedstock") or ""),
        state=kind,
        why=why,
        attempts=state.attempts,
        last_attempt=state.last_attempt,
        next_attempt=state.next_attempt if kind is CreationState.WAITING else None,
        last_error=error,
        parked_reason=state.parked_reason if kind is CreationState.STUCK else None,
        issue=state.issue,
        issue_url=issue_url,
        done=done,
        pending=pending,
        state_file=relative,
    )
