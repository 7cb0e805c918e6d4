"""Keeping secret values out of logs, exceptions and reprs.

Two layers, because either alone leaks: the ``Secret`` wrapper stops a value from being
printed by accident (f-strings, ``repr`` in a traceback's locals, a dataclass repr), and
the ``Masker`` catches the value where it was revealed on purpose and then ended up in
text anyway: it tells the Actions runner to mask it (``::add-mask::``) the moment it is
obtained, and a logging filter and ``Masker.redact`` replace it in our own messages.
"""

from __future__ import annotations

import logging
import sys
import threading
import weakref
from collections.abc import Callable
from typing import Any, NoReturn, TextIO

from admin_requests.actions_output import escape_command_data

REDACTED = "***"


class Secret:
    """A string that does not show itself: ``str``/``repr``/``format`` print ``***``.

    Call ``reveal()`` at the one place the value is sent (an Authorization header).
    ``clear()`` drops the reference; Python strings are immutable, so the bytes stay in
    memory until the garbage collector reuses them, but nothing in this process can
    reach them through this object any more.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"Secret wraps a str, not {type(value).__name__}")
        self._value: str | None = value

    def reveal(self) -> str:
        if self._value is None:
            raise ValueError("this secret was cleared after use; obtain a new one")
        return self._value

    @property
    def cleared(self) -> bool:
        return self._value is None

    def clear(self) -> None:
        self._value = None

    def __repr__(self) -> str:
        return "Secret('***')" if self._value is not None else "Secret(<cleared>)"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        # Compare by identity only: equality on the value invites ``secret == "..."``
        # in code paths that then log the other side.
        return self is other

    __hash__ = object.__hash__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled or copied out of the process")


class Masker:
    """Registers secret values: masks them in Actions and redacts them from our text.

    ``in_actions`` comes from configuration (``GITHUB_ACTIONS == "true"`` read once at
    the edge): outside Actions an ``::add-mask::`` line would print the value itself.
    """

    # Short values would redact ordinary words; real tokens are far longer.
    MIN_LENGTH = 6

    def __init__(self, *, in_actions: bool, stream: TextIO | None = None) -> None:
        self.in_actions = in_actions
        self._stream = stream
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def register(self, value: str) -> Secret:
        """Mask ``value`` from now on and return it wrapped."""
        if value and len(value) >= self.MIN_LENGTH:
            # Actions masks line by line, so a multi-line value is registered per line.
            pieces = {value, *(line for line in value.splitlines() if len(line) >= 4)}
            with self._lock:
                new = pieces - self._values
                self._values |= pieces
            if self.in_actions:
                stream = self._stream or sys.stdout
                for piece in sorted(new, key=len, reverse=True):
                    stream.write(f"::add-mask::{escape_command_data(piece)}\n")
                stream.flush()
        return Secret(value)

    def redact(self, text: str) -> str:
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for value in values:
            if value in text:
                text = text.replace(value, REDACTED)
        return text

    def logging_filter(self) -> RedactingFilter:
        return RedactingFilter(self)


class RedactingFilter(logging.Filter):
    """Rewrites log records so registered values never reach a handler."""

    def __init__(self, masker: Masker) -> None:
        super().__init__()
        self._masker = masker

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._masker.redact(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[1] is not None:
            # Render the traceback now, so handlers print our (redacted) text instead.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        # Another masker's filter may have rendered it already: redact it either way.
        if record.exc_text:
            record.exc_text = self._masker.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._masker.redact(record.stack_info)
        return True


_active_maskers: weakref.WeakSet[Masker] = weakref.WeakSet()
_factory_lock = threading.Lock()
_factory_installed = False


def _redacting_record_factory(
    previous: Callable[..., logging.LogRecord],
) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        for masker in list(_active_maskers):
            try:
                RedactingFilter(masker).filter(record)
            except Exception:  # a bad format string is the handler's to report
                break
        return record

    return factory


def install_redaction(masker: Masker, logger: logging.Logger | None = None) -> RedactingFilter:
    """Redact ``masker``'s values from every log record from now on.

    Two hooks: a record factory (installed once per process), which reaches every
    record whichever handler is added later, and a filter on ``logger``'s current
    handlers (the root's by default) for records made before the masker knew a value.
    """
    global _factory_installed
    with _factory_lock:
        _active_maskers.add(masker)
        if not _factory_installed:
            logging.setLogRecordFactory(_redacting_record_factory(logging.getLogRecordFactory()))
            _factory_installed = True
    target = logger or logging.getLogger()
    redacting = masker.logging_filter()
    for handler in target.handlers:
        handler.addFilter(redacting)
    return redacting
