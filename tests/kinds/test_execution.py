"""Service failures as Outcomes and preflight Problems, the same for every kind
(kinds/execution.py)."""

from __future__ import annotations

import pytest

from admin_requests.errors import (
    AccessDeniedError,
    ConflictError,
    NotFoundError,
    ServiceError,
    TransientError,
)
from admin_requests.kinds.contract import Outcome, OutcomeStatus
from admin_requests.kinds.execution import ACCESS_FIX, check_online, guarded
from admin_requests.validation.fields import Text


def raising(error: Exception) -> Outcome:
    raise error


def test_an_action_that_succeeds_gives_its_own_outcome() -> None:
    done = Outcome.done("archived")
    assert guarded("foo", lambda: done, not_found="no foo") is done


@pytest.mark.parametrize(
    ("error", "status", "detail"),
    [
        (TransientError("timed out"), OutcomeStatus.RETRY, "timed out"),
        (NotFoundError("404"), OutcomeStatus.FAILED, "there is no foo; check the name."),
        (AccessDeniedError("403"), OutcomeStatus.FAILED, f"{ACCESS_FIX} (403)."),
        (
            ConflictError("the branch moved"),
            OutcomeStatus.FAILED,
            "the branch moved. Ask core to look at this request.",
        ),
    ],
)
def test_service_errors_become_a_retry_or_a_failure_in_words(
    error: Exception, status: OutcomeStatus, detail: str
) -> None:
    outcome = guarded("foo", lambda: raising(error), not_found="there is no foo; check the name.")
    assert (outcome.status, outcome.detail) == (status, detail)


def test_other_exceptions_are_not_swallowed() -> None:
    with pytest.raises(ValueError, match="a bug"):
        guarded("foo", lambda: raising(ValueError("a bug")), not_found="no foo")


def test_an_online_check_is_an_error_a_pass_or_a_warning_when_it_cannot_run() -> None:
    where = Text("foo", line=3, column=5)
    [problem] = check_online("requests/a.yml", where, lambda: "no foo-feedstock", "no-such")
    assert (problem.line, problem.column, problem.code) == (3, 5, "no-such")
    assert (problem.message, problem.is_error) == ("no foo-feedstock", True)
    assert check_online("requests/a.yml", where, lambda: None, "no-such") == []

    def unreachable() -> str | None:
        raise ServiceError("GitHub is down")

    [warning] = check_online("requests/a.yml", where, unreachable, "no-such")
    assert warning.code == "online-check-unavailable"
    assert not warning.is_error
    assert "could not check 'foo' online (GitHub is down)" in warning.message


def test_a_401_is_raised_on_for_the_queue_to_mint_afresh() -> None:
    """401: the run's own token is unknown or expired, which is not the requester's
    failure; the queue mints a fresh one and tries again (issue 16, finding 4)."""
    expired = AccessDeniedError("label: access denied (401): Invalid or expired token", status=401)
    with pytest.raises(AccessDeniedError):
        guarded("foo", lambda: raising(expired), not_found="no foo")
