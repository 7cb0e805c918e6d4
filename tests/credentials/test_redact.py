"""Redaction (credentials/redact.py): the Secret wrapper, masking in Actions, and the logging
filter."""

from __future__ import annotations

import io
import logging

import pytest

from admin_requests.credentials.redact import Masker, Secret, install_redaction

TOKEN = "ghs_" + "A1b2" * 9


# -- Secret and Masker ------------------------------------------------------------------


def test_secret_never_shows_its_value() -> None:
    secret = Secret(TOKEN)
    for text in (
        str(secret),
        repr(secret),
        f"{secret}",
        f"{secret!r}",
        f"{secret:>50}",
        repr({"token": secret}),
        repr([secret]),
    ):
        assert TOKEN not in text
    assert secret.reveal() == TOKEN
    secret.clear()
    assert secret.cleared
    with pytest.raises(ValueError, match="cleared"):
        secret.reveal()


def test_secret_cannot_be_pickled_or_compared_by_value() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(Secret(TOKEN))
    assert Secret(TOKEN) != Secret(TOKEN)


def test_masker_prints_add_mask_only_in_actions() -> None:
    stream = io.StringIO()
    Masker(in_actions=False, stream=stream).register(TOKEN)
    assert stream.getvalue() == ""
    Masker(in_actions=True, stream=stream).register(TOKEN)
    assert stream.getvalue() == f"::add-mask::{TOKEN}\n"


def test_masker_masks_each_line_of_a_multi_line_value() -> None:
    stream = io.StringIO()
    Masker(in_actions=True, stream=stream).register("first-line-secret\nsecond-line-secret")
    lines = stream.getvalue().splitlines()
    assert "::add-mask::first-line-secret" in lines
    assert "::add-mask::second-line-secret" in lines
    assert "::add-mask::first-line-secret%0Asecond-line-secret" in lines


def test_logging_filter_redacts_messages_args_and_tracebacks() -> None:
    masker = Masker(in_actions=False)
    masker.register(TOKEN)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    install_redaction(masker, logger)
    try:
        logger.warning("token is %s", TOKEN)
        logger.warning(f"inline {TOKEN}")
        try:
            raise RuntimeError(f"boom {TOKEN}")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert TOKEN not in text
    assert text.count("***") == 3


def test_handlers_added_later_get_redacted_records_too() -> None:
    masker = Masker(in_actions=False)
    install_redaction(masker)
    masker.register(TOKEN)
    stream = io.StringIO()
    logger = logging.getLogger("test.redaction.later")
    logger.addHandler(logging.StreamHandler(stream))  # after install_redaction
    logger.propagate = False
    logger.error("leaked %s", TOKEN)
    logger.error("bad format %d", "not a number")  # must not raise into the caller
    assert TOKEN not in stream.getvalue()
    assert "leaked ***" in stream.getvalue()
