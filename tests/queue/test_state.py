"""The queue state file and the retry policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from admin_requests.errors import StateFileError, UsageError
from admin_requests.queue.state import RequestState, RetryPolicy, StateStore

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def test_backoff_doubles_from_15_minutes_up_to_6_hours() -> None:
    policy = RetryPolicy()
    delays = [policy.delay_after(n) / timedelta(minutes=1) for n in range(1, 10)]
    assert delays == [15, 30, 60, 120, 240, 360, 360, 360, 360]
    assert policy.delay_after(10_000) == timedelta(hours=6)


def test_the_policy_can_be_set_from_the_environment() -> None:
    assert RetryPolicy.from_environ({}) == RetryPolicy()
    assert RetryPolicy.from_environ({"ADMIN_REQUESTS_RETRY_FIRST_DELAY": ""}) == RetryPolicy()
    policy = RetryPolicy.from_environ(
        {
            "ADMIN_REQUESTS_RETRY_FIRST_DELAY": "5",
            "ADMIN_REQUESTS_RETRY_MAX_DELAY": "60",
            "ADMIN_REQUESTS_RETRY_MAX_ATTEMPTS": "3",
        }
    )
    assert policy == RetryPolicy(timedelta(seconds=5), timedelta(seconds=60), 3)
    assert [policy.delay_after(n) for n in (1, 2, 3)] == [timedelta(seconds=s) for s in (5, 10, 20)]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ADMIN_REQUESTS_RETRY_MAX_ATTEMPTS", "0", "not a whole number of 1 or more"),
        ("ADMIN_REQUESTS_RETRY_FIRST_DELAY", "1.5", "set it like ADMIN_REQUESTS_RETRY_FIRST"),
        ("ADMIN_REQUESTS_RETRY_FIRST_DELAY", "99999", "is shorter than"),
    ],
)
def test_a_bad_policy_setting_says_how_to_fix_it(name: str, value: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        RetryPolicy.from_environ({name: value})


def test_parks_at_the_attempt_limit_or_at_once_when_permanent() -> None:
    policy = RetryPolicy(max_attempts=2)
    state = RequestState("requests/a.yml", "h")
    common = {"now": NOW, "digest": "h", "pending": {"x": "y"}, "error": "e", "policy": policy}
    first = state.after_failed_attempt(permanent=False, **common)  # type: ignore[arg-type]
    assert not first.parked
    assert first.next_attempt == NOW + timedelta(minutes=15)
    second = first.after_failed_attempt(permanent=False, **common)  # type: ignore[arg-type]
    assert second.parked
    assert second.next_attempt is None
    assert state.after_failed_attempt(permanent=True, **common).parked  # type: ignore[arg-type]


def test_new_content_and_retry_start_afresh_but_keep_the_issue() -> None:
    parked = RequestState("requests/a.yml", "old", attempts=8, parked=True, issue=7)
    assert parked.for_new_content("new") == RequestState("requests/a.yml", "new", issue=7)
    unparked = parked.unparked()
    assert not unparked.parked
    assert unparked.attempts == 0
    assert unparked.issue == 7
    assert unparked.is_due(NOW)


def test_json_round_trip_is_stable(tmp_path: Path) -> None:
    state = RequestState(
        "requests/a.yml",
        "h",
        attempts=2,
        last_attempt=NOW,
        next_attempt=NOW + timedelta(minutes=30),
        last_error="ünïcode error",
        issue=3,
        pending={"b": "2", "a": "1"},
    )
    store = StateStore(tmp_path)
    store.save(state)
    text = (tmp_path / "queue-state" / "a.yml.json").read_text()
    assert '"next_attempt": "2026-01-05T12:30:00Z"' in text
    assert store.load("requests/a.yml") == state
    assert RequestState.from_json(text).to_json() == text
    assert store.requests_with_state() == ["requests/a.yml"]
    store.delete("requests/a.yml")
    assert store.load("requests/a.yml") is None


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        '{"version": 2}',
        '{"version": 1}',
        '{"version": 1, "request": "r", "content_sha256": "h", "next_attempt": "soon"}',
        '{"version": 1, "request": "r", "content_sha256": "h", "attempts": "many"}',
    ],
)
def test_malformed_state_is_a_named_error(text: str) -> None:
    with pytest.raises(StateFileError):
        RequestState.from_json(text)
