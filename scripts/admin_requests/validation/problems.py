"""A Problem is one thing wrong with a request file, with where it is and how to fix it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, order=True)
class Problem:
    """One finding about a request file.

    ``line`` and ``column`` are 1-based, as editors and GitHub annotations count them.
    ``code`` is a short stable identifier (``unknown-key``, ``bad-sha256``...) that tests
    and tools can match on; ``message`` is for people and says how to fix it. A
    ``warning`` is worth fixing but harmless (a package listed twice), so it does not
    make the file invalid.
    """

    file: str
    line: int
    column: int
    code: str
    message: str
    severity: str = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def format_text(self) -> str:
        return (
            f"{self.file}:{self.line}:{self.column}: {self.severity} [{self.code}]: {self.message}"
        )
