"""The retry policy: what is retried, how long it waits, and that it stops."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from admin_requests.errors import AccessDeniedError, NotFoundError, PermanentError, TransientError
from admin_requests.services.http import (
    HttpClient,
    RetryPolicy,
    error_message,
    rate_limit_reset_seconds,
    retry_after_seconds,
    retryable,
)
from tests.fakes import FakeAnaconda, Fault
from tests.fakes.clock import FakeClock
from tests.fakes.wiring import TEST_TIMEOUT, retrier_for

FILE = "noarch/foo-1.0-pyh0_0.conda"
DIST = f"/dist/conda-forge/foo/1.0/{FILE}"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.fromtimestamp(1_000_000, UTC))


@pytest.fixture
def client(fake_anaconda: FakeAnaconda, clock: FakeClock) -> HttpClient:
    fake_anaconda.add_file("conda-forge", FILE)
    fake_anaconda.add_token("secret-token-value", scopes=["api:write"])
    return HttpClient(
        fake_anaconda.url,
        token="secret-token-value",
        timeout=TEST_TIMEOUT,
        retrier=retrier_for(clock),
    )


def test_retry_after_in_seconds_and_as_a_date() -> None:
    now = 1_000_000.0
    assert retry_after_seconds({"Retry-After": "7"}, now) == 7.0
    date = format_datetime(datetime.fromtimestamp(now + 30, UTC), usegmt=True)
    assert retry_after_seconds({"retry-after": date}, now) == pytest.approx(30.0)
    assert retry_after_seconds({"Retry-After": "soon"}, now) is None
    assert retry_after_seconds({}, now) is None


def test_github_primary_rate_limit_waits_until_reset() -> None:
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1000042"}
    assert rate_limit_reset_seconds(headers, 1_000_000.0) == 43.0
    assert rate_limit_reset_seconds({"x-ratelimit-remaining": "12"}, 0.0) is None


SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes."


@pytest.mark.parametrize(
    ("status", "headers", "message", "expected"),
    [
        (500, {}, "", (True, None, False)),
        (503, {"Retry-After": "3"}, "", (True, 3.0, False)),
        (429, {"Retry-After": "2"}, "", (True, 2.0, True)),
        (429, {}, "", (True, None, True)),
        (403, {"Retry-After": "60"}, SECONDARY, (True, 60.0, True)),  # secondary rate limit
        (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "10"}, "", (True, 11.0, True)),
        (403, {}, SECONDARY, (True, None, True)),  # a secondary limit without headers
        (403, {}, "Resource not accessible by integration", (False, None, False)),
        (404, {}, "", (False, None, False)),
        (409, {}, "", (False, None, False)),
        (422, {"Retry-After": "1"}, "", (False, None, False)),
    ],
)
def test_which_statuses_are_retried(
    status: int,
    headers: dict[str, str],
    message: str,
    expected: tuple[bool, float | None, bool],
) -> None:
    failure = retryable(status, headers, 0.0, message)
    found = (False, None, False) if failure is None else (True, failure.wait, failure.rate_limited)
    assert found == expected


def test_server_errors_are_retried_with_growing_jittered_waits(
    client: HttpClient, fake_anaconda: FakeAnaconda, clock: FakeClock
) -> None:
    fake_anaconda.faults.on_call(1, 2, 3, fault=Fault.server_error(502), path="/dist/")
    assert client.json("GET", DIST)["sha256"]
    assert fake_anaconda.count("GET", "/dist/") == 4
    assert len(clock.sleeps) == 3
    for attempt, wait in enumerate(clock.sleeps, start=1):
        assert 0.5 * 2 ** (attempt - 1) <= wait <= 2 ** (attempt - 1)


def test_retry_after_is_honoured(
    client: HttpClient, fake_anaconda: FakeAnaconda, clock: FakeClock
) -> None:
    fake_anaconda.faults.on_call(1, fault=Fault.too_many_requests("7"))
    date = format_datetime(datetime.fromtimestamp(clock.time() + 20, UTC), usegmt=True)
    fake_anaconda.faults.on_call(
        2, fault=Fault("status", status=503, headers=(("Retry-After", date),))
    )
    client.json("GET", DIST)
    assert clock.sleeps[0] == 7.0
    assert clock.sleeps[1] == pytest.approx(13.0, abs=1.0)  # 20s after the start, minus 7


@pytest.mark.parametrize(("status", "error"), [(400, PermanentError), (403, AccessDeniedError)])
def test_client_errors_are_not_retried(
    client: HttpClient,
    fake_anaconda: FakeAnaconda,
    clock: FakeClock,
    status: int,
    error: type[Exception],
) -> None:
    fake_anaconda.faults.on_call(1, fault=Fault("status", status=status))
    with pytest.raises(error):
        client.json("GET", DIST)
    assert fake_anaconda.count() == 1
    assert clock.sleeps == []


def test_not_found_is_permanent_or_none_when_allowed(
    client: HttpClient, fake_anaconda: FakeAnaconda
) -> None:
    missing = "/dist/conda-forge/foo/9.9/noarch/foo-9.9-pyh0_0.conda"
    with pytest.raises(NotFoundError):
        client.json("GET", missing)
    assert client.json("GET", missing, missing_ok=True) is None
    assert fake_anaconda.count() == 2


def test_attempts_are_bounded(
    client: HttpClient, fake_anaconda: FakeAnaconda, clock: FakeClock
) -> None:
    fake_anaconda.faults.at_rate(1.0, Fault.server_error(500))
    with pytest.raises(TransientError, match="failed 4 times"):
        client.json("GET", DIST)
    assert fake_anaconda.count() == 4
    assert len(clock.sleeps) == 3


def test_total_wait_is_bounded(
    client: HttpClient, fake_anaconda: FakeAnaconda, clock: FakeClock
) -> None:
    fake_anaconda.faults.on_call(1, fault=Fault.too_many_requests("3600"))
    with pytest.raises(TransientError, match="later run"):
        client.json("GET", DIST)
    assert clock.sleeps == []
    assert fake_anaconda.count() == 1


def test_total_wait_bound_counts_every_wait(fake_anaconda: FakeAnaconda, clock: FakeClock) -> None:
    fake_anaconda.add_file("conda-forge", FILE)
    policy = RetryPolicy(max_attempts=10, max_delay=30.0, max_total_wait=50.0)
    client = HttpClient(fake_anaconda.url, timeout=TEST_TIMEOUT, retrier=retrier_for(clock, policy))
    # A 503's Retry-After (rate limits have their own budget: tests/services/test_limits.py).
    fake_anaconda.faults.at_rate(1.0, Fault("status", status=503, headers=(("Retry-After", "20"),)))
    with pytest.raises(TransientError):
        client.json("GET", DIST)
    assert clock.sleeps == [20.0, 20.0]


@pytest.mark.parametrize("fault", [Fault.timeout(1.0), Fault.reset()])
def test_timeouts_and_resets_are_retried(
    client: HttpClient, fake_anaconda: FakeAnaconda, clock: FakeClock, fault: Fault
) -> None:
    fake_anaconda.faults.on_call(1, fault=fault)
    assert client.json("GET", DIST)["basename"] == FILE
    assert len(clock.sleeps) == 1


def test_a_body_that_is_not_json_is_retried(
    client: HttpClient, fake_anaconda: FakeAnaconda
) -> None:
    fake_anaconda.faults.on_call(1, fault=Fault.wrong_data())
    assert client.json("GET", DIST)["basename"] == FILE
    assert fake_anaconda.count() == 2


def test_the_token_never_reaches_logs_or_errors(
    client: HttpClient, fake_anaconda: FakeAnaconda, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_anaconda.faults.on_call(1, fault=Fault.server_error())
    fake_anaconda.faults.on_call(2, fault=Fault("status", status=401))
    with pytest.raises(AccessDeniedError) as raised:
        client.json("GET", DIST)
    assert "secret-token-value" not in caplog.text
    assert "secret-token-value" not in str(raised.value)
    assert "secret-token-value" not in repr(client)


def test_githubs_error_detail_is_read_from_errors_as_well_as_message() -> None:
    """A 422 "Validation Failed" carries what failed in errors[]: both are kept."""
    validation = {
        "message": "Validation Failed",
        "errors": [
            {
                "resource": "PullRequest",
                "code": "custom",
                "message": "A pull request already exists for conda-forge:x.",
            },
            {"resource": "Label", "code": "already_exists", "field": "name"},
        ],
        "documentation_url": "https://docs.github.com/rest",
    }
    assert error_message(validation) == (
        "Validation Failed: A pull request already exists for conda-forge:x.: "
        "Label name already_exists"
    )
    assert error_message({"message": "Reference already exists"}) == "Reference already exists"
    assert error_message(["not", "a", "mapping"]) == "['not', 'a', 'mapping']"
    assert len(error_message({"message": "x" * 1000})) == 300
