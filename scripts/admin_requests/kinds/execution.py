"""Turning service failures into Outcomes and preflight Problems, the same way for every kind.

Transient failures (timeouts, 5xx, rate limits) become RETRY: a later run may succeed.
Everything else is FAILED with words saying what a person should do, because retrying
the same call cannot help; except a 401, which means the run's own token is unknown or
expired: it is raised on to the queue, which mints a fresh one and tries again.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from admin_requests.errors import (
    AccessDeniedError,
    NotFoundError,
    PermanentError,
    ServiceError,
    TransientError,
)
from admin_requests.kinds.contract import Item, Outcome, OutcomeStatus
from admin_requests.validation.fields import Text
from admin_requests.validation.problems import Problem

if TYPE_CHECKING:
    from admin_requests.services import Services

log = logging.getLogger(__name__)

ACCESS_FIX = (
    "the credentials this run was given were refused; ask core to check the GitHub App "
    "installation and anaconda.org token permissions for this request"
)


def guarded(what: str, action: Callable[[], Outcome], *, not_found: str) -> Outcome:
    """Run ``action``; map service errors to RETRY or FAILED with a plain-words detail.

    ``not_found`` says what a 404 means for this item and what to do about it. ``what``
    (the item's description) names it in the log only: wherever an outcome is shown
    (job summary, commit message, the requester's issue) the item is named beside it.
    """
    try:
        return action()
    except TransientError as error:
        log.warning("%s: transient failure: %s", what, error)
        return Outcome.retry(str(error))
    except NotFoundError as error:
        log.warning("%s: not found: %s", what, error)
        return Outcome.failed(not_found)
    except AccessDeniedError as error:
        if error.status == 401:
            # Our own token was unknown or expired: not the requester's failure. The
            # queue mints afresh and tries again (queue/execute.py).
            raise
        log.error("%s: access denied: %s", what, error)
        return Outcome.failed(f"{ACCESS_FIX} ({error}).")
    except PermanentError as error:
        log.error("%s: refused: %s", what, error)
        return Outcome.failed(f"{error}. Ask core to look at this request.")


def guarded_all(
    what: str,
    items: Sequence[Item[Any]],
    action: Callable[[], dict[str, Outcome]],
    *,
    not_found: str,
) -> dict[str, Outcome]:
    """``guarded`` for items carried out together: a service error is every item's outcome.

    ``action`` returns each item's outcome by id; an item it leaves out is a retry (it
    was not reached).
    """
    found: dict[str, Outcome] = {}

    def run() -> Outcome:
        found.update(action())
        return Outcome.done("")

    shared = guarded(what, run, not_found=not_found)
    if shared.status is not OutcomeStatus.DONE:
        return {item.id: shared for item in items}
    return {item.id: found.get(item.id, Outcome.retry(NOT_REACHED)) for item in items}


NOT_REACHED = "this was not reached in this run; it is retried automatically."


def check_online(
    path: str,
    where: Text,
    check: Callable[[], str | None],
    code: str,
    *,
    severity: str = "error",
) -> list[Problem]:
    """A preflight check of one value: its message (an error unless told), or a warning if
    the check could not be made."""
    try:
        message = check()
    except ServiceError as error:
        return [unchecked_online(path, where, error)]
    if message is None:
        return []
    return [Problem(path, where.line, where.column, code, message, severity=severity)]


def feedstocks_exist(
    path: str, names: Iterable[Text], services: Services, *, bare: Callable[[Text], str] = str
) -> list[Problem]:
    """Preflight: each ``<name>-feedstock`` repository exists in the organisation."""
    problems: list[Problem] = []
    for name in names:
        problems += check_online(
            path,
            name,
            functools.partial(missing_feedstock, services, bare(name)),
            "no-such-feedstock",
        )
    return problems


def missing_feedstock(services: Services, name: str) -> str | None:
    """Why ``<name>-feedstock`` cannot be acted on, or None when it exists."""
    repository = f"{name}-feedstock"
    try:
        services.github.repository(repository)
    except NotFoundError:
        org = services.settings.organisation
        return f"there is no repository {repository!r} in {org!r}; check the feedstock name."
    return None


def unchecked_online(path: str, where: Text, error: ServiceError) -> Problem:
    """The warning for a value whose online check could not be made (``error``)."""
    return Problem(
        path,
        where.line,
        where.column,
        "online-check-unavailable",
        f"could not check {str(where)!r} online ({error}); it is checked again when the "
        "request is carried out.",
        severity="warning",
    )
