"""What a workflow run did to the sandbox, in words, from the services' own records.

Nothing here trusts the workflow's log: the state comes from the fakes (repositories,
labels, issues, pushes and the builds they start, tokens with their creation and
revocation times), the vault's audit device (logins, signatures, revocations) and the
bare git remote.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tests.fakes.github import FakePush, FakeToken

from .core import Sandbox
from .vault import AuditEvent

WIDTH = 100


# -- the state of the services, before and after ----------------------------------------


@dataclass(frozen=True)
class Snapshot:
    archived: dict[str, bool]
    refs: dict[str, dict[str, str]]
    files: dict[str, dict[str, bytes]]
    labels: dict[tuple[str, str], frozenset[str]]
    pushes: dict[str, tuple[FakePush, ...]]  # every branch move, in order
    issues: dict[int, str]

    @classmethod
    def take(cls, sandbox: Sandbox) -> Snapshot:
        gh, ac = sandbox.github, sandbox.anaconda
        with gh.lock, ac.lock:
            return cls(
                archived={name: repo.archived for name, repo in gh.repos.items()},
                refs={name: dict(repo.refs) for name, repo in gh.repos.items()},
                files={name: dict(repo.files) for name, repo in gh.repos.items()},
                labels={
                    (owner, basename): frozenset(f.labels)
                    for owner, files in ac.files.items()
                    for basename, f in files.items()
                },
                pushes={name: tuple(repo.pushes) for name, repo in gh.repos.items()},
                issues={
                    number: issue.state
                    for repo in gh.repos.values()
                    for number, issue in repo.issues.items()
                },
            )


def changes(before: Snapshot, after: Snapshot, sandbox: Sandbox) -> list[str]:
    """Each change between two snapshots, as one line of plain words."""
    lines: list[str] = []
    for name in sorted(after.archived):
        if after.archived[name] != before.archived.get(name, False):
            state = "archived (read-only)" if after.archived[name] else "unarchived"
            lines.append(f"GitHub  {name}: {state}")
    for name in sorted(after.refs):
        old, new = before.refs.get(name, {}), after.refs[name]
        for ref in sorted(set(old) - set(new)):
            lines.append(f"GitHub  {name}: {_ref(ref)} deleted (was at {old[ref][:7]})")
        for ref in sorted(set(new) - set(old)):
            lines.append(f"GitHub  {name}: {_ref(ref)} created at {new[ref][:7]}")
    for name in sorted(after.files):
        old_files, new_files = before.files.get(name, {}), after.files[name]
        for path in sorted(new_files):
            if path not in old_files:
                content = new_files[path].decode(errors="replace")
                lines.append(f"GitHub  {name}: added {path} = {' '.join(content.split())}")
            elif old_files[path] != new_files[path]:
                lines.append(f"GitHub  {name}: changed {path}")
    for name in sorted(after.pushes):
        for push in after.pushes[name][len(before.pushes.get(name, ())) :]:
            subject = push.message.splitlines()[0] if push.message else "(no message)"
            started = f", which started {', '.join(push.workflows)}" if push.workflows else ""
            lines.append(
                f"GitHub  {name}: {_ref(push.ref)} moved {push.before[:7]} -> "
                f"{push.after[:7]} ({subject}){started}"
            )
    for key in sorted(after.labels):
        owner, basename = key
        old_labels = before.labels.get(key)
        if old_labels is None:
            lines.append(
                f"anaconda.org  {owner}/{basename}: new file, labels {_labels(after.labels[key])}"
            )
        elif old_labels != after.labels[key]:
            lines.append(
                f"anaconda.org  {owner}/{basename}: labels {_labels(old_labels)} -> "
                f"{_labels(after.labels[key])}"
            )
    return lines


def _ref(ref: str) -> str:
    kind, _, name = ref.removeprefix("refs/").partition("/")
    return f"{'branch' if kind == 'heads' else 'tag'} {name}"


def _labels(labels: frozenset[str]) -> str:
    return ", ".join(sorted(labels))


# -- credentials --------------------------------------------------------------------------


@dataclass
class Credential:
    kind: str
    scope: str
    created: datetime
    ended: datetime | None  # revoked (or the job's token: the job ended)
    limit_seconds: float | None  # how long the issuer would have let it live
    how_ended: str

    @property
    def lived_seconds(self) -> float | None:
        return (self.ended - self.created).total_seconds() if self.ended else None


@dataclass
class CredentialAccount:
    credentials: list[Credential] = field(default_factory=list)
    app_jwts_signed: int = 0
    secret_reads: int = 0
    live_after: dict[str, int] = field(default_factory=dict)
    refused_logins: int = 0

    def outlived(self, job_end: datetime) -> list[Credential]:
        """Revocable credentials not ended by the end of the job."""
        return [c for c in self.credentials if c.ended is None or c.ended > job_end]


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _github_token(kind: str, token: FakeToken, scope: str, how: str) -> Credential:
    return Credential(
        kind,
        scope,
        _at(token.created_at),
        _at(token.revoked_at) if token.revoked_at is not None else None,
        (token.expires_at - token.created_at) if token.expires_at is not None else None,
        how if token.revoked_at is not None else "NOT REVOKED",
    )


def _permissions(token: FakeToken) -> str:
    permissions = ", ".join(f"{k}:{v}" for k, v in sorted((token.permissions or {}).items()))
    return f"{', '.join(sorted(token.repositories or ['every repository']))}: {permissions}"


def account(sandbox: Sandbox, since: datetime) -> CredentialAccount:
    """Every credential created since ``since``, from the services' own records."""
    result = CredentialAccount()
    gh, ac = sandbox.github, sandbox.anaconda
    for value in sandbox.job_tokens:
        token = gh.tokens[value]
        if _at(token.created_at) >= since:
            result.credentials.append(
                _github_token(
                    "GITHUB_TOKEN (the job's own)",
                    token,
                    _permissions(token),
                    "GitHub ends it with the job",
                )
            )
    events = [e for e in sandbox.vault.audit_events() if e.time >= since]
    result.credentials += _vault_tokens(events)
    result.refused_logins = sum(1 for e in events if e.is_login and e.error)
    result.app_jwts_signed = sum(
        1 for e in events if e.path.startswith("transit/sign/") and not e.error
    )
    result.secret_reads = sum(
        1 for e in events if e.path.endswith(f"/data/{sandbox.params.secret_path}") and not e.error
    )
    for token in gh.tokens.values():
        if token.installation_id is not None and _at(token.created_at) >= since:
            result.credentials.append(
                _github_token(
                    "GitHub App installation token",
                    token,
                    _permissions(token),
                    "revoked (DELETE /installation/token)",
                )
            )
    for minted in ac.tokens.values():
        if minted.note and _at(minted.created_at) >= since:
            result.credentials.append(
                Credential(
                    "anaconda.org token",
                    f"{' '.join(sorted(minted.scopes))} on "
                    f"{', '.join(sorted(minted.owners or []))}",
                    _at(minted.created_at),
                    _at(minted.removed_at) if minted.removed_at is not None else None,
                    (minted.expires_at - minted.created_at) if minted.expires_at else None,
                    "removed (DELETE /authentications)"
                    if minted.removed_at is not None
                    else "NOT REMOVED",
                )
            )
    result.credentials.sort(key=lambda c: c.created)
    live_installation = sum(
        1
        for value, t in list(gh.tokens.items())
        if t.installation_id is not None and gh.is_token_valid(value)
    )
    live_minted = sum(
        1 for value, t in list(ac.tokens.items()) if t.note and ac.is_token_valid(value)
    )
    result.live_after = {
        "vault tokens of the workflow's role": len(sandbox.vault.live_tokens("auth/jwt/login")),
        "GitHub installation tokens": live_installation,
        "anaconda.org minted tokens": live_minted,
    }
    return result


def _vault_tokens(events: list[AuditEvent]) -> list[Credential]:
    revoked = {e.accessor: e.time for e in events if e.is_revoke_self and not e.error}
    found = []
    for event in events:
        if not event.is_login or event.error:
            continue
        ended = revoked.get(event.accessor)
        found.append(
            Credential(
                "vault token (OIDC login)",
                f"role {event.metadata.get('role', '?')}, event {event.metadata.get('event_name')}"
                f", run {event.metadata.get('run_id')}",
                event.time,
                ended,
                float(event.token_ttl) or None,
                "revoked (revoke-self)" if ended else "NOT REVOKED",
            )
        )
    return found


def credential_lines(credentials: CredentialAccount, job_end: datetime) -> list[str]:
    lines = []
    for c in credentials.credentials:
        lived = f"lived {c.lived_seconds:.2f} s" if c.lived_seconds is not None else "still live"
        limit = f"limit {c.limit_seconds:.0f} s" if c.limit_seconds else "no fixed limit"
        lines.append(f"{c.kind}: {c.scope}")
        lines.append(f"    {lived} ({limit}); {c.how_ended}")
    lines.append(
        f"GitHub App JWTs signed inside the vault (transit): {credentials.app_jwts_signed}; "
        "each is valid for 60 s and cannot be revoked, so it is used once, to mint"
    )
    lines.append(
        f"reads of the job's vault secret: {credentials.secret_reads} (the "
        "anaconda.org machine account's password is read just before each mint and "
        "dropped after it)"
    )
    if credentials.refused_logins:
        lines.append(f"vault logins refused: {credentials.refused_logins}")
    outlived = credentials.outlived(job_end)
    live = ", ".join(f"{name}: {n}" for name, n in credentials.live_after.items())
    if outlived:
        lines.append(f"OUTLIVED THE JOB: {', '.join(c.kind for c in outlived)}")
    else:
        lines.append("none outlived the job (every revocable credential ended before it did)")
    lines.append(f"still valid now: {live}")
    return lines


# -- formatting ---------------------------------------------------------------------------


def heading(title: str) -> str:
    return f"\n{title}\n{'-' * len(title)}"


def wrap(text: str, indent: str = "  ", hang: str = "    ") -> str:
    """``text`` wrapped to the report's width; continuation lines hang by ``hang``."""
    return textwrap.fill(
        text,
        WIDTH,
        initial_indent=indent,
        subsequent_indent=indent + hang,
        break_on_hyphens=False,
        break_long_words=False,
    )
