"""Minted anaconda.org tokens (credentials/anaconda_token.py) in a simulated run."""

from __future__ import annotations

import pytest

from tests.credentials.broker_world import MARK_BROKEN, Run, label

pytestmark = pytest.mark.vault


def test_minted_anaconda_token_expires_by_itself(run: Run) -> None:
    with run.broker() as broker, broker.request_credentials(MARK_BROKEN, label="r.yml") as creds:
        assert creds.anaconda_token is not None
        raw = creds.anaconda_token.reveal()
        assert run.anaconda.is_token_valid(raw)
        run.anaconda.advance(broker.settings.anaconda_token_max_age + 1)
        assert not run.anaconda.is_token_valid(raw)
        assert label(run, creds.anaconda_token) == 401
