"""The credential ledger (credentials/ledger.py): what was minted, for how long, and what
the job log says about each credential's fate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from admin_requests.credentials.ledger import CredentialLedger

START = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def test_records_keep_their_lifetimes_and_what_is_outstanding() -> None:
    clock = Clock()
    ledger = CredentialLedger(clock=clock)
    token = ledger.created(
        "github-installation-token", "repositories=[a]", "a.yml", lifetime=timedelta(hours=1)
    )
    session = ledger.created(
        "aws-session", "role", "job", lifetime=timedelta(seconds=900), revocable=False
    )
    assert (token.max_lifetime_seconds, token.lived_seconds) == (3600, None)
    assert ledger.outstanding() == [token]  # the session cannot be revoked: it expires
    clock.now = START + timedelta(seconds=12)
    ledger.revoked(token)
    assert token.lived_seconds == 12
    assert ledger.outstanding() == []
    assert token.ended_by(clock.now)
    assert not session.ended_by(clock.now)
    assert ledger.still_valid_after(clock.now) == [(session, 888)]


def test_the_text_names_each_fate_and_what_outlives_the_run() -> None:
    clock = Clock()
    ledger = CredentialLedger(clock=clock)
    assert ledger.text_lines(START) == [
        "credentials: 0 credentials minted, 0 revoked, none outstanding"
    ]
    revoked = ledger.created("anaconda-token", "api:write", "b.yml", lifetime=timedelta(hours=1))
    ledger.created(
        "github-installation-token", "repositories=[a]", "a.yml", lifetime=timedelta(hours=1)
    )
    ledger.created("github-app-jwt", "app", "job", lifetime=timedelta(seconds=60), revocable=False)
    clock.now = START + timedelta(seconds=2)
    ledger.revoked(revoked)
    assert ledger.text_lines(clock.now) == [
        "credentials: 3 credentials minted, 1 revoked, 1 NOT revoked",
        "  - anaconda-token for b.yml: api:write (at most 3600 s; revoked after 2.0 s)",
        "  - github-installation-token for a.yml: repositories=[a] (at most 3600 s; NOT REVOKED)",
        "  - github-app-jwt for job: app (at most 60 s; cannot be revoked, expires by itself)",
        "  2 credential(s) outlive the run by at most 3598 s (github-app-jwt, "
        "github-installation-token; they expire by themselves)",
    ]
    ledger.revoked(ledger.records[1])
    clock.now = START + timedelta(seconds=61)
    assert ledger.text_lines(clock.now)[-1] == "  none is still valid after the run"
