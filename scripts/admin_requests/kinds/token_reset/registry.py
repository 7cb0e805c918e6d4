"""The feedstock-tokens registry: hashed feedstock tokens, as conda-forge checks them.

Each feedstock has ``tokens/<name>-feedstock.json`` in the organisation's
feedstock-tokens repository::

    {"tokens": [{"salt": "<hex>", "hashed_token": "<hex>", "provider": "azure",
                 "expires_at": 1767225600}, ...]}

Where these parameters come from (read in conda-forge/conda-smithy,
``conda_smithy/feedstock_tokens.py``: ``register_feedstock_token`` writes, and
``is_valid_feedstock_token`` checks): ``salt = os.urandom(64)``; ``hashed_token =
scrypt.hash(token, salt, buflen=256)``, both hex-encoded; an entry is valid for a CI
provider when it has no ``provider`` or that provider, and no ``expires_at`` or one
later than ``time.time()``; the token is compared with ``hmac.compare_digest``. The
``scrypt`` package's ``hash(password, salt, N=1 << 14, r=8, p=1, buflen=64)`` (read in
holgern/py-scrypt, ``scrypt/scrypt.py``) encodes a str password as UTF-8; with buflen
256 that is exactly ``hashlib.scrypt(token.encode(), salt=salt, n=2**14, r=8, p=1,
dklen=256)``. The oldest files hold one entry object instead of ``{"tokens": [...]}``;
both are read, the current form is written.

The token itself never reaches this module's output or any file: only its salted hash.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from admin_requests.errors import PermanentError

if TYPE_CHECKING:
    from admin_requests.credentials.redact import Secret

SCRYPT_N = 1 << 14
SCRYPT_R = 8
SCRYPT_P = 1
HASH_BYTES = 256
SALT_BYTES = 64
# scrypt needs 128 * r * N bytes (16 MiB here); OpenSSL's default cap is 32 MiB.
SCRYPT_MAXMEM = 64 * 1024 * 1024

Entry = dict[str, Any]


def registry_path(feedstock: str) -> str:
    return f"tokens/{feedstock}-feedstock.json"


def hash_token(token: str, salt: bytes) -> bytes:
    return hashlib.scrypt(
        token.encode(),
        salt=salt,
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        dklen=HASH_BYTES,
        maxmem=SCRYPT_MAXMEM,
    )


def new_entry(token: Secret, provider: str, *, expires_at: int | None) -> Entry:
    """A registry entry for ``token`` (fresh random salt); only the hash is kept."""
    salt = secrets.token_bytes(SALT_BYTES)
    entry: Entry = {
        "salt": salt.hex(),
        "hashed_token": hash_token(token.reveal(), salt).hex(),
        "provider": provider,
    }
    if expires_at is not None:
        entry["expires_at"] = expires_at
    return entry


def parse(content: bytes | None, path: str) -> list[Entry]:
    """The entries of a registry file (none when it does not exist yet)."""
    if content is None:
        return []
    try:
        data = json.loads(content)
    except ValueError:
        data = None
    if isinstance(data, dict) and "tokens" not in data and "salt" in data:
        data = {"tokens": [data]}  # the oldest form: one entry, no list
    tokens = data.get("tokens") if isinstance(data, dict) else None
    if not isinstance(tokens, list) or not all(
        isinstance(t, dict) and "salt" in t and "hashed_token" in t for t in tokens
    ):
        raise PermanentError(
            f"{path!r} in the feedstock-tokens repository is not a JSON object with a "
            "'tokens' list of {salt, hashed_token} entries; ask core to repair it."
        )
    return [dict(t) for t in tokens]


def render(entries: Iterable[Entry]) -> bytes:
    """The registry file as conda-smithy writes it (``json.dump`` defaults, no newline)."""
    return json.dumps({"tokens": list(entries)}).encode()


def with_pending(entries: list[Entry], pending: Iterable[Entry]) -> list[Entry]:
    """``entries`` plus the new (still expiring) entries; nothing old is touched yet."""
    known = {e["salt"] for e in entries}
    return entries + [e for e in pending if e["salt"] not in known]


def finalized(
    entries: list[Entry],
    ours: Mapping[str, Entry],
    *,
    now: int,
    old_tokens_expire_in: int | None,
    still_in_use: Iterable[str] = (),
) -> list[Entry]:
    """The registry once the tokens in ``ours`` (provider -> entry) are in their CI.

    Our entries lose their provisional expiry. Every other entry of a provider in
    ``ours`` is removed, or, with ``old_tokens_expire_in``, expires then (never later
    than it already would). Entries of other providers are kept as they are. An entry
    without a provider (the old token shared by every provider) may still be what the
    providers in ``still_in_use`` (skipped, or whose store failed) hold: it is kept for
    exactly those, as one entry each, and ends for ours. Entries that have expired
    already are dropped, as no check accepts them.
    """
    keep_for = [p for p in dict.fromkeys(still_in_use) if p not in ours]
    our_salts = {e["salt"] for e in ours.values()}
    result: list[Entry] = []
    for entry in entries:
        expires = entry.get("expires_at")
        if entry["salt"] in our_salts:
            continue  # re-added below, in its final form
        if expires is not None and float(expires) <= now:
            continue
        provider = entry.get("provider")
        if provider is not None and provider not in ours:
            result.append(entry)
            continue
        if provider is None:
            result += [{**entry, "provider": p} for p in keep_for]
        if old_tokens_expire_in is not None:
            limit = now + old_tokens_expire_in
            ending = {**entry, "expires_at": min(int(expires), limit) if expires else limit}
            if provider is None and keep_for:
                result += [{**ending, "provider": p} for p in ours]  # not keep_for's
            else:
                result.append(ending)
    for entry in ours.values():
        result.append({k: v for k, v in entry.items() if k != "expires_at"})
    return result
