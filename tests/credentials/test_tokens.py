"""Minted tokens (credentials/tokens.py): revoked once at the end of their with, refusals
raised by revoke() and logged redacted by close()."""

from __future__ import annotations

from datetime import timedelta

import pytest

from admin_requests.credentials.ledger import CredentialLedger
from admin_requests.credentials.redact import Masker
from admin_requests.credentials.tokens import MintedToken
from admin_requests.errors import (
    CredentialError,
)

TOKEN = "ghs_" + "A1b2" * 9


class CountedToken(MintedToken):
    """A token whose issuer is a counter: refuses while ``refuse`` is set."""

    ENDED = "ended the counted token for {label}"

    def __init__(self, ledger: CredentialLedger, masker: Masker) -> None:
        record = ledger.created("counted", "nothing", "r.yml", lifetime=timedelta(seconds=60))
        super().__init__(masker.register(TOKEN), record, ledger, masker)
        self.ends = 0
        self.refuse = False

    def _end(self) -> None:
        self.ends += 1
        if self.refuse:
            raise CredentialError(f"the issuer kept {TOKEN} for {self.record.label!r}")


def test_a_minted_token_revokes_itself_once_at_the_end_of_its_with() -> None:
    ledger = CredentialLedger()
    with CountedToken(ledger, Masker(in_actions=False)) as token:
        assert token.secret.reveal() == TOKEN
        assert ledger.outstanding() == [token.record]
    assert token.ends == 1
    assert token.revoked
    assert token.secret.cleared
    token.revoke()  # already revoked: the issuer is not asked again
    assert token.ends == 1
    assert ledger.outstanding() == []


def test_a_refused_revocation_raises_from_revoke_and_is_logged_redacted_by_close(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ledger = CredentialLedger()
    token = CountedToken(ledger, Masker(in_actions=False))
    token.refuse = True
    with pytest.raises(CredentialError, match="kept"):
        token.revoke()
    with token:
        pass  # close(): logged, not raised
    assert "the issuer kept *** for 'r.yml'" in caplog.text
    assert TOKEN not in caplog.text
    assert ledger.outstanding() == [token.record]
    assert not token.secret.cleared
