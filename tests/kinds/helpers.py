"""Load a request from YAML text and carry its items out, as the queue runner will."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from admin_requests.kinds import REGISTRY
from admin_requests.kinds.contract import Item, Outcome, OutcomeStatus, RequestKind
from admin_requests.services import Services
from admin_requests.validation.checker import check_text


@dataclass
class Loaded:
    kind: RequestKind
    model: Any
    items: list[Item]


def load(text: str) -> Loaded:
    report = check_text(text, "requests/test.yml")
    assert report.ok, [p.format_text() for p in report.problems]
    assert report.action is not None
    return Loaded(REGISTRY[report.action], report.model, report.items)


def run(loaded: Loaded, services: Services) -> list[Outcome]:
    """Execute every item (together: one by one unless the kind is batched), then the
    kind's after_run with the items that are done."""
    outcomes = loaded.kind.execute_batch(loaded.items, services)
    done = [
        i for i, o in zip(loaded.items, outcomes, strict=True) if o.status is OutcomeStatus.DONE
    ]
    loaded.kind.after_run(done, services)
    return outcomes


def statuses(outcomes: list[Outcome]) -> list[tuple[str, bool]]:
    return [(o.status.value, o.changed) for o in outcomes]
