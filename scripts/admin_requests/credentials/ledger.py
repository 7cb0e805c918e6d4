"""What credentials a run created, how long each could live, and when it was revoked.

The ledger holds no secret: only kind, scope, lifetimes and times. It is what lets a
run say "4 credentials minted, 4 revoked, longest lived 3 s" in its job summary, and
what the tests use to prove nothing outlived the job.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class CredentialRecord:
    kind: str  # vault-token | aws-session | github-installation-token | anaconda-token
    scope: str  # what it can do, in words ("repositories=[a]; administration:write")
    label: str  # which request (or "job") it was for
    created_at: datetime
    expires_at: datetime  # the issuer's own limit, whether or not we revoke earlier
    revoked_at: datetime | None = None
    # Credentials that cannot be revoked (an STS session) say so, and expire instead.
    revocable: bool = True

    @property
    def max_lifetime_seconds(self) -> float:
        return (self.expires_at - self.created_at).total_seconds()

    @property
    def lived_seconds(self) -> float | None:
        if self.revoked_at is None:
            return None
        return (self.revoked_at - self.created_at).total_seconds()

    def ended_by(self, moment: datetime) -> bool:
        """Revoked, or expired by itself, no later than ``moment``."""
        end = self.revoked_at if self.revoked_at is not None else self.expires_at
        return end <= moment


@dataclass
class CredentialLedger:
    clock: Callable[[], datetime] = utc_now
    records: list[CredentialRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def created(
        self, kind: str, scope: str, label: str, *, lifetime: timedelta, revocable: bool = True
    ) -> CredentialRecord:
        now = self.clock()
        record = CredentialRecord(kind, scope, label, now, now + lifetime, revocable=revocable)
        with self._lock:
            self.records.append(record)
        return record

    def revoked(self, record: CredentialRecord) -> None:
        record.revoked_at = self.clock()

    def outstanding(self) -> list[CredentialRecord]:
        """Revocable credentials not revoked yet."""
        return [r for r in self.records if r.revocable and r.revoked_at is None]

    def still_valid_after(self, moment: datetime) -> list[tuple[CredentialRecord, float]]:
        """Credentials still usable at ``moment`` (the job's end) and for how long after.

        Only ones that cannot be revoked should ever appear: App JWTs (at most 60 s) and
        an aws backend's STS session (at most 900 s from its creation).
        """
        return [
            (r, (r.expires_at - moment).total_seconds())
            for r in self.records
            if not r.ended_by(moment)
        ]

    def text_lines(self, end: datetime) -> list[str]:
        """The ledger for a terminal or job log; ``end`` is when the job stopped using it."""
        lines = [f"credentials: {self.summary()}"]
        for r in self.records:
            if r.revoked_at is not None:
                fate = f"revoked after {r.lived_seconds:.1f} s"
            elif not r.revocable:
                fate = "cannot be revoked, expires by itself"
            else:
                fate = "NOT REVOKED"
            lines.append(
                f"  - {r.kind} for {r.label}: {r.scope} "
                f"(at most {r.max_lifetime_seconds:.0f} s; {fate})"
            )
        outliving = self.still_valid_after(end)
        if outliving:
            longest = max(seconds for _, seconds in outliving)
            lines.append(
                f"  {len(outliving)} credential(s) outlive the run by at most {longest:.0f} s "
                f"({', '.join(sorted({r.kind for r, _ in outliving}))}; they expire by themselves)"
            )
        elif self.records:
            lines.append("  none is still valid after the run")
        return lines

    def summary(self) -> str:
        revoked = sum(1 for r in self.records if r.revoked_at is not None)
        return f"{len(self.records)} credentials minted, {revoked} revoked, " + (
            "none outstanding"
            if not self.outstanding()
            else f"{len(self.outstanding())} NOT revoked"
        )
