"""The registry of request kinds: the only place that lists them.

Adding a kind: write its folder (``kinds/<kind>/``) and add it here.
"""

from __future__ import annotations

import difflib

from admin_requests.kinds.add_feedstock_output import ADD_FEEDSTOCK_OUTPUT
from admin_requests.kinds.archive import ARCHIVE
from admin_requests.kinds.archive_branch import ARCHIVE_BRANCH
from admin_requests.kinds.blacksmith import BLACKSMITH
from admin_requests.kinds.broken import BROKEN
from admin_requests.kinds.cfep3_copy import CFEP3_COPY
from admin_requests.kinds.cirrus_runners import CIRRUS_RUNNERS
from admin_requests.kinds.cirun import CIRUN
from admin_requests.kinds.contract import RequestKind
from admin_requests.kinds.depot import DEPOT
from admin_requests.kinds.namespace import NAMESPACE
from admin_requests.kinds.not_broken import NOT_BROKEN
from admin_requests.kinds.token_reset import TOKEN_RESET
from admin_requests.kinds.travis import TRAVIS
from admin_requests.kinds.unarchive import UNARCHIVE
from admin_requests.kinds.unarchive_branch import UNARCHIVE_BRANCH

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
