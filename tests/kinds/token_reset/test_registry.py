"""The token registry of token_reset (kinds/token_reset/registry.py): which tokens finalising
ends, files it refuses to overwrite, and conda-smithy's hashing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from admin_requests.credentials.redact import Secret
from admin_requests.errors import PermanentError
from admin_requests.kinds.token_reset import registry

PROVIDERS = ("azure", "github_actions", "travis")


def entry(provider: str | None, salt: str, expires: int | None = None) -> dict[str, object]:
    found: dict[str, object] = {"salt": salt, "hashed_token": "00"}
    if provider:
        found["provider"] = provider
    if expires is not None:
        found["expires_at"] = expires
    return found


def accepted_salts(entries: list[dict[str, object]], provider: str, now: int) -> set[object]:
    return {
        e["salt"]
        for e in entries
        if e.get("provider") in (None, provider)
        and (e.get("expires_at") is None or int(str(e["expires_at"])) > now)
    }


@given(
    old=st.lists(
        st.tuples(st.sampled_from((None, *PROVIDERS)), st.sampled_from((None, 50, 5000))),
        max_size=6,
    ),
    ours=st.sets(st.sampled_from(("azure", "github_actions")), min_size=1),
    in_use=st.sets(st.sampled_from(PROVIDERS)),
    expire_in=st.sampled_from((None, 600)),
)
def test_finalising_ends_old_tokens_only_where_new_ones_arrived(
    old: list[tuple[str | None, int | None]],
    ours: set[str],
    in_use: set[str],
    expire_in: int | None,
) -> None:
    now = 1000
    entries = [entry(p, f"old{i}", e) for i, (p, e) in enumerate(old)]
    new = {p: entry(p, f"new-{p}", now + 86400) for p in sorted(ours)}
    result = registry.finalized(
        registry.with_pending(entries, new.values()),
        new,
        now=now,
        old_tokens_expire_in=expire_in,
        still_in_use=in_use,
    )
    for provider in PROVIDERS:
        before = accepted_salts(entries, provider, now)
        after_now = accepted_salts(result, provider, now)
        later = accepted_salts(result, provider, now + 10**6)
        if provider in ours:
            # the new token, forever; old ones only until the expiry asked for
            assert f"new-{provider}" in later
            assert {s for s in later if str(s).startswith("old")} == set()
            expected_now = before if expire_in else set()
            assert {s for s in after_now if str(s).startswith("old")} == expected_now
        elif provider in in_use:
            # a provider that keeps the old token: what it accepted, it still accepts
            assert before <= after_now
        for other in ours - {provider}:
            assert f"new-{other}" not in after_now  # one token per provider
    assert all("expires_at" not in e for e in result if str(e["salt"]).startswith("new"))


def test_registry_files_that_are_not_what_we_expect_are_not_overwritten() -> None:
    with pytest.raises(PermanentError, match="ask core to repair it"):
        registry.parse(b'{"tokens": "nope"}', "tokens/x-feedstock.json")
    with pytest.raises(PermanentError):
        registry.parse(b"not json", "tokens/x-feedstock.json")
    assert registry.parse(None, "x") == []


def test_new_entries_hash_with_conda_smithys_parameters() -> None:
    found = registry.new_entry(Secret("a" * 64), "azure", expires_at=None)
    assert len(bytes.fromhex(str(found["salt"]))) == 64
    assert len(bytes.fromhex(str(found["hashed_token"]))) == 256
    assert found["provider"] == "azure"
    assert "expires_at" not in found


def test_registry_files_are_written_as_conda_smithy_writes_them() -> None:
    # conda_smithy/feedstock_tokens.py: json.dump(token_data, fp), its defaults, no newline;
    # an old entry that got an expiry keeps its keys in order, expires_at last.
    old = {"salt": "0a1b", "hashed_token": "2c3d", "provider": "azure", "expires_at": 1700000000}
    new = {"salt": "4e5f", "hashed_token": "6071", "provider": "github_actions"}
    assert registry.render([old, new]) == (
        b'{"tokens": [{"salt": "0a1b", "hashed_token": "2c3d", "provider": "azure", '
        b'"expires_at": 1700000000}, {"salt": "4e5f", "hashed_token": "6071", '
        b'"provider": "github_actions"}]}'
    )
    assert registry.parse(registry.render([old, new]), "tokens/x-feedstock.json") == [old, new]
