"""The named exceptions: one family, and the split the retry logic depends on."""

from __future__ import annotations

import inspect

import pytest

from admin_requests import errors
from admin_requests.errors import (
    AccessDeniedError,
    AdminRequestsError,
    ConflictError,
    DocsReferenceError,
    NotFoundError,
    PermanentError,
    ServiceError,
    TransientError,
    UncertainWriteError,
)


def test_every_named_exception_is_an_admin_requests_error() -> None:
    """The CLI turns AdminRequestsError into a message and an exit code, never a traceback."""
    classes = [
        c for _, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__
    ]
    assert len(classes) > 20
    assert [c.__name__ for c in classes if not issubclass(c, AdminRequestsError)] == []


@pytest.mark.parametrize("error", [NotFoundError, AccessDeniedError, ConflictError])
def test_refusals_are_permanent_and_never_retried(error: type[ServiceError]) -> None:
    assert issubclass(error, PermanentError)
    assert not issubclass(error, TransientError)


def test_an_uncertain_write_is_transient_and_keeps_its_status() -> None:
    """Retried in a later run, but looked at first: it may have happened."""
    failure = UncertainWriteError("the answer was lost", status=502)
    assert isinstance(failure, TransientError)
    assert not isinstance(failure, PermanentError)
    assert (str(failure), failure.status) == ("the answer was lost", 502)
    assert ServiceError("no status").status is None


def test_a_docs_reference_error_lists_each_problem() -> None:
    error = DocsReferenceError(["archive: 'feedstocks' has no description", "extra note 'x'"])
    assert str(error) == (
        "the request reference is out of step with the code:\n"
        "  - archive: 'feedstocks' has no description\n"
        "  - extra note 'x'"
    )
    assert error.problems == ["archive: 'feedstocks' has no description", "extra note 'x'"]
