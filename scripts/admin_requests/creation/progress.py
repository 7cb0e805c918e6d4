"""What feedstock creation remembers about each recipe between runs: ``creation-state/``.

One file per recipe, ``creation-state/<recipe>.json``: the queue's own ``RequestState``
(queue/state.py: attempts, backoff, parking, the issue; the same ``RetryPolicy`` and
``decide`` rule, so a stuck recipe is treated exactly like a stuck request) plus two keys
of creation's own::

    "feedstock": "foo",                       # the name the rendering gave
    "steps": {"repository": "created (id 1234)", "ruleset": "verified (id 9)", ...}

The request is ``recipes/<recipe>`` and the content digest is the recipe directory's git
tree in staged-recipes: a recipe changed in staged-recipes starts afresh, as an edited
request file does. ``steps`` is a report, not the source of truth: every step looks up
GitHub before it writes (steps.py), so a run that crashed before saving this file, or
lost it with its runner, still does nothing twice.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from admin_requests.queue.state import RequestState, StateStore

STATE_DIR = "creation-state"


@dataclass(frozen=True)
class RecipeProgress:
    state: RequestState
    feedstock: str = ""
    steps: dict[str, str] = field(default_factory=dict)

    @property
    def recipe(self) -> str:
        return Path(self.state.request).name

    def with_step(self, step: str, evidence: str) -> RecipeProgress:
        return dataclasses.replace(self, steps={**self.steps, step: evidence})

    def to_json(self) -> str:
        data = json.loads(self.state.to_json())
        data["feedstock"] = self.feedstock
        data["steps"] = dict(self.steps)
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class ProgressStore:
    """Reads and writes ``<root>/creation-state/<recipe>.json`` (through StateStore)."""

    def __init__(self, root: Path, state_dir: str = STATE_DIR) -> None:
        self.states = StateStore(root, state_dir)
        self.root = root

    @staticmethod
    def request_of(recipe: str) -> str:
        return f"recipes/{recipe}"

    def relative_path(self, recipe: str) -> str:
        return self.states.relative_path(self.request_of(recipe))

    def load(self, recipe: str) -> RecipeProgress | None:
        state = self.states.load(self.request_of(recipe))
        if state is None:
            return None
        # StateStore checked the file (no symlink, valid state); read creation's keys.
        data = json.loads((self.root / self.relative_path(recipe)).read_text(encoding="utf-8"))
        steps = data.get("steps") if isinstance(data.get("steps"), dict) else {}
        return RecipeProgress(
            state,
            str(data.get("feedstock") or ""),
            {str(k): str(v) for k, v in steps.items()},
        )

    def save(self, progress: RecipeProgress) -> None:
        self.states.save(progress.state)  # replaces a symlink with a file of our own
        path = self.root / self.relative_path(progress.recipe)
        path.write_text(progress.to_json(), encoding="utf-8")

    def delete(self, recipe: str) -> None:
        self.states.delete(self.request_of(recipe))

    def recipes(self) -> list[str]:
        return [Path(r).name for r in self.states.requests_with_state()]
