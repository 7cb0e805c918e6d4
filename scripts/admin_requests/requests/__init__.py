"""The registry of request kinds: the only place that lists them.

Adding a kind: write its module (model, parse, validate, plan) and add it here.
"""

from __future__ import annotations

import difflib

from .archive import ARCHIVE, UNARCHIVE
from .archive_branch import ARCHIVE_BRANCH, UNARCHIVE_BRANCH
from .base import Item, RequestKind, RequestModel
from .broken import BROKEN, NOT_BROKEN
from .cfep3_copy import CFEP3_COPY
from .ci_resources import BLACKSMITH, CIRRUS_RUNNERS, CIRUN, DEPOT, NAMESPACE, TRAVIS
from .feedstock_output import ADD_FEEDSTOCK_OUTPUT
from .token_reset import TOKEN_RESET

REGISTRY: dict[str, RequestKind] = {
    kind.action: kind
    for kind in (
        BROKEN,
        NOT_BROKEN,
        TOKEN_RESET,
        ARCHIVE,
        UNARCHIVE,
        ARCHIVE_BRANCH,
        UNARCHIVE_BRANCH,
        ADD_FEEDSTOCK_OUTPUT,
        CFEP3_COPY,
        TRAVIS,
        CIRUN,
        BLACKSMITH,
        NAMESPACE,
        DEPOT,
        CIRRUS_RUNNERS,
    )
}


def closest_action(action: str) -> str | None:
    matches = difflib.get_close_matches(action, REGISTRY, n=1, cutoff=0.5)
    return matches[0] if matches else None


__all__ = ["REGISTRY", "Item", "RequestKind", "RequestModel", "closest_action"]
