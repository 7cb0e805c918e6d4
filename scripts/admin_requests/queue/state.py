"""What the queue remembers about a request between runs, stored in the repository.

One JSON file per request file, ``queue-state/<request file name>.json``, committed by
the processing workflow together with the request file it describes (outside
``requests/``, which holds request files only). A request that completes on its first
attempt never gets one. The file is small, sorted and stable, so it only changes (and is
only committed) when something meaningful changed: an attempt, parking, an issue.

Format (version 1)::

    {
      "version": 1,
      "request": "requests/foo.yml",
      "content_sha256": "<sha256 of the request file as last seen or written>",
      "attempts": 2,                        # failed attempts since the content changed
      "last_attempt": "2026-01-01T00:00:00Z",
      "next_attempt": "2026-01-01T00:30:00Z",   # null when parked
      "last_error": "plain words for people",
      "parked": false,
      "parked_reason": null,
      "issue": null,                        # the GitHub issue number once one is open
      "pending": {"archive:foo": "why it is not done yet"},
      "completed": false                    # done and removed, but its issue is not closed yet
    }

A ``completed`` state outlives its request file only until a run manages to close the
request's issue (closing it failed when the request completed).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from admin_requests.errors import StateFileError, UsageError

log = logging.getLogger(__name__)

STATE_VERSION = 1
DEFAULT_STATE_DIR = "queue-state"


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff 15 min, 30 min, 1 h, 2 h ... capped at 6 h; parked after 8 attempts."""

    first_delay: timedelta = timedelta(minutes=15)
    max_delay: timedelta = timedelta(hours=6)
    max_attempts: int = 8

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> RetryPolicy:
        """The default policy, or the one these variables ask for (seconds; all optional).

        ``ADMIN_REQUESTS_RETRY_FIRST_DELAY``, ``ADMIN_REQUESTS_RETRY_MAX_DELAY`` and
        ``ADMIN_REQUESTS_RETRY_MAX_ATTEMPTS``. An organisation may tune them; the
        workflow tests use seconds instead of minutes, so that retries, backoff and
        parking happen across real runs while real time passes.
        """
        defaults = cls()
        first = _whole_number(environ, "ADMIN_REQUESTS_RETRY_FIRST_DELAY", defaults.first_delay)
        maximum = _whole_number(environ, "ADMIN_REQUESTS_RETRY_MAX_DELAY", defaults.max_delay)
        attempts = _whole_number(
            environ, "ADMIN_REQUESTS_RETRY_MAX_ATTEMPTS", defaults.max_attempts
        )
        if maximum < first:
            raise UsageError(
                f"ADMIN_REQUESTS_RETRY_MAX_DELAY ({maximum}) is shorter than "
                f"ADMIN_REQUESTS_RETRY_FIRST_DELAY ({first}); make it at least as long"
            )
        return cls(timedelta(seconds=first), timedelta(seconds=maximum), attempts)

    def delay_after(self, attempts: int) -> timedelta:
        # Cap the exponent before multiplying: 2**attempts would overflow timedelta.
        factor = 2 ** min(max(attempts - 1, 0), 20)
        delay: timedelta = min(self.first_delay * factor, self.max_delay)
        return delay


def _whole_number(environ: Mapping[str, str], name: str, default: timedelta | int) -> int:
    fallback = int(default.total_seconds()) if isinstance(default, timedelta) else default
    value = environ.get(name, "").strip()
    if not value:
        return fallback
    if not value.isdigit() or int(value) < 1:
        raise UsageError(
            f"{name}={value!r} is not a whole number of 1 or more; set it like {name}="
            f"{fallback}, or unset it for the default ({fallback})"
        )
    return int(value)


def content_digest(data: bytes | str) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def format_time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: object, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise StateFileError(f"{name!r} must be a timestamp string or null, not {value!r}")
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise StateFileError(
            f"{name!r} is {value!r}, not a timestamp like '2026-01-01T00:00:00Z'"
        ) from exc


@dataclass(frozen=True)
class RequestState:
    request: str
    content_sha256: str
    attempts: int = 0
    last_attempt: datetime | None = None
    next_attempt: datetime | None = None
    last_error: str | None = None
    parked: bool = False
    parked_reason: str | None = None
    issue: int | None = None
    pending: dict[str, str] = field(default_factory=dict)
    completed: bool = False

    # -- transitions ------------------------------------------------------------------

    def for_new_content(self, digest: str) -> RequestState:
        """A person changed the file: start counting afresh, but keep the issue."""
        return RequestState(self.request, digest, issue=self.issue)

    def unparked(self) -> RequestState:
        """A maintainer asked for a retry: due now, with a fresh attempt budget."""
        return dataclasses.replace(
            self, attempts=0, next_attempt=None, parked=False, parked_reason=None
        )

    def after_failed_attempt(
        self,
        *,
        now: datetime,
        digest: str,
        pending: dict[str, str],
        error: str,
        permanent: bool,
        policy: RetryPolicy,
    ) -> RequestState:
        attempts = self.attempts + 1
        parked_reason = None
        if permanent:
            parked_reason = "a permanent failure: retrying cannot help until someone acts"
        elif attempts >= policy.max_attempts:
            parked_reason = f"it failed {attempts} times in a row"
        return dataclasses.replace(
            self,
            content_sha256=digest,
            attempts=attempts,
            last_attempt=now,
            next_attempt=None if parked_reason else now + policy.delay_after(attempts),
            last_error=error,
            parked=parked_reason is not None,
            parked_reason=parked_reason,
            pending=dict(pending),
        )

    def completed_with_open_issue(self) -> RequestState:
        """Every item is done and the file removed, but closing the issue failed."""
        return dataclasses.replace(
            self,
            completed=True,
            pending={},
            parked=False,
            parked_reason=None,
            next_attempt=None,
            last_error="done; closing its issue failed and is tried again",
        )

    def is_due(self, now: datetime) -> bool:
        return not self.parked and (self.next_attempt is None or self.next_attempt <= now)

    # -- serialisation ----------------------------------------------------------------

    def to_json(self) -> str:
        data = {
            "version": STATE_VERSION,
            "request": self.request,
            "content_sha256": self.content_sha256,
            "attempts": self.attempts,
            "last_attempt": format_time(self.last_attempt),
            "next_attempt": format_time(self.next_attempt),
            "last_error": self.last_error,
            "parked": self.parked,
            "parked_reason": self.parked_reason,
            "issue": self.issue,
            "pending": dict(sorted(self.pending.items())),
            "completed": self.completed,
        }
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> RequestState:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StateFileError(f"not valid JSON ({exc.msg} at line {exc.lineno})") from exc
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            version = data.get("version") if isinstance(data, dict) else None
            raise StateFileError(f"unsupported state version {version!r}; expected 1")
        try:
            pending = data.get("pending") or {}
            issue = data.get("issue")
            state = cls(
                request=str(data["request"]),
                content_sha256=str(data["content_sha256"]),
                attempts=int(data.get("attempts", 0)),
                last_attempt=_parse_time(data.get("last_attempt"), "last_attempt"),
                next_attempt=_parse_time(data.get("next_attempt"), "next_attempt"),
                last_error=data.get("last_error"),
                parked=bool(data.get("parked", False)),
                parked_reason=data.get("parked_reason"),
                issue=int(issue) if issue is not None else None,
                pending={str(k): str(v) for k, v in dict(pending).items()},
                completed=bool(data.get("completed", False)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise StateFileError(f"missing or malformed field ({exc})") from exc
        return state


class StateStore:
    """Reads and writes ``<root>/<state_dir>/<request file name>.json``."""

    def __init__(self, root: Path, state_dir: str = DEFAULT_STATE_DIR) -> None:
        self.root = root
        self.state_dir = state_dir

    def relative_path(self, request: str) -> str:
        return f"{self.state_dir}/{Path(request).name}.json"

    def load(self, request: str) -> RequestState | None:
        path = self.root / self.relative_path(request)
        if path.is_symlink():
            # Never followed (it could point anywhere on the runner); save() replaces it.
            log.warning("ignoring the state file %s: it is a symbolic link", path)
            return None
        if not path.exists():
            return None
        try:
            return RequestState.from_json(path.read_text(encoding="utf-8"))
        except StateFileError as exc:
            # Losing the counters only costs a few extra attempts; a broken state file
            # must not block its request forever.
            log.warning("ignoring the broken state file %s: %s", path, exc)
            return None

    def save(self, state: RequestState) -> None:
        path = self.root / self.relative_path(state.request)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            path.unlink()  # write a file of our own, never through a link
        path.write_text(state.to_json(), encoding="utf-8")

    def delete(self, request: str) -> None:
        (self.root / self.relative_path(request)).unlink(missing_ok=True)

    def requests_with_state(self) -> list[str]:
        """The request paths recorded in every state file (for finding orphans)."""
        folder = self.root / self.state_dir
        if not folder.is_dir():
            return []
        found = []
        for path in sorted(folder.glob("*.json")):
            if path.is_symlink():
                continue
            try:
                found.append(RequestState.from_json(path.read_text(encoding="utf-8")).request)
            except StateFileError as exc:
                log.warning("ignoring the broken state file %s: %s", path, exc)
        return found
