"""What the next creation run does with each waiting recipe (``run --dry-run``).

Reads only the staged-recipes checkout, the renderings and ``creation-state/``, and asks
the queue's decision rule, as the run does: no client, no credential.
"""

from __future__ import annotations

import subprocess
from datetime import datetime

from admin_requests.creation.engine import CreationConfig
from admin_requests.creation.progress import ProgressStore
from admin_requests.creation.recipes import find_recipes
from admin_requests.creation.render import load_renderings
from admin_requests.creation.steps import STEP_NAMES
from admin_requests.queue.decision import decide


def describe_plan(config: CreationConfig, now: datetime) -> list[str]:
    store = ProgressStore(config.root)
    renderings = load_renderings(config.rendered)
    retry = frozenset(ProgressStore.request_of(r) for r in config.retry)
    lines = []
    recipes = [
        r for r in find_recipes(config.staged_recipes) if not config.only or r.name in config.only
    ]
    attempted = 0
    for recipe in recipes:
        tree = subprocess.run(
            ["git", "rev-parse", f"HEAD:{recipe.path}"],
            cwd=config.staged_recipes,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        progress = store.load(recipe.name)
        decision = decide(
            ProgressStore.request_of(recipe.name),
            progress.state if progress else None,
            tree,
            now,
            retry=retry,
        )
        rendering = renderings.get(recipe.name)
        if not decision.runs:
            what = decision.describe()
        elif rendering is None or rendering.recipe_tree != tree:
            what = "waits for the render job"
        elif attempted >= config.max_recipes:
            what = f"not this run (the budget is {config.max_recipes} recipes a run)"
        elif rendering.error:
            attempted += 1
            what = f"stuck: conda-smithy could not render it ({rendering.error})"
        else:
            attempted += 1
            done = set(progress.steps) if progress and not decision.changed else set()
            left = [s for s in STEP_NAMES if s not in done]
            what = (
                f"{rendering.feedstock}-feedstock: {', '.join(left) or 'verify'}, "
                "then removed from staged-recipes"
            )
        lines.append(f"recipes/{recipe.name} ({recipe.format}): {what}")
    return lines or ["no recipe waits in staged-recipes"]
