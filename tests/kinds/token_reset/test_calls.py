"""What a token_reset costs in GitHub calls (issue 18: a reset of 1,000 feedstocks within
the installation's 5,000 requests an hour), and that the cuts keep it safe.

Each call counted here was checked to be necessary: the Actions public key once per
repository, no registry file read again for the final commit, the unregistered-outputs
hint left out of a mass reset.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from admin_requests.kinds import token_reset
from admin_requests.services import Services
from tests.fakes import FakeGitHub
from tests.fakes.azure import FakeAzure
from tests.kinds.helpers import Loaded, load, run, statuses
from tests.kinds.token_reset import test_token_reset as base
from tests.kinds.token_reset.test_token_reset import (
    GHA_ONLY,
    TOKENS,
    accepts,
    old_entry,
    registry,
    request,
    services,
)

gh, azure = base.gh, base.azure  # the fixtures

META = '{% set name = "NAME" %}\npackage:\n  name: {{ name }}\n'
PUBLIC_KEY = r"/actions/secrets/public-key$"
SKIPPED = "Whether its outputs are registered to it was not checked"


def _many(gh: FakeGitHub, count: int) -> Loaded:
    """A request of ``count`` feedstocks on GitHub Actions, each with a recipe and an
    output registered to it, and an old token in the registry."""
    names = [f"pkg{n}" for n in range(count)]
    for name in names:
        gh.add_repo(
            f"{name}-feedstock",
            files={"conda-forge.yml": GHA_ONLY, "recipe/meta.yaml": META.replace("NAME", name)},
        )
        gh.repo("feedstock-outputs").files[f"outputs/p/k/g/{name}.json"] = json.dumps(
            {"feedstocks": [name]}
        ).encode()
        gh.repo(TOKENS).files[f"tokens/{name}-feedstock.json"] = json.dumps(
            {"tokens": [old_entry("github_actions")]}
        ).encode()
    return load("action: token_reset\nfeedstocks:\n" + "".join(f"  - {n}\n" for n in names))


def _github_calls(gh: FakeGitHub) -> int:
    """Calls to repositories: the request's work, not the credentials' mint and revoke."""
    return sum(1 for call in gh.calls if call.path.startswith("/repos/"))


def _registry_reads(gh: FakeGitHub) -> int:
    """Registry files read: a contents read each for a few, a blob each for many
    (change_files lists the trees above them first: services/tree_reads.py)."""
    return gh.count("GET", rf"/repos/[^/]+/{TOKENS}/(contents|git/blobs)/")


def _registry_listings(gh: FakeGitHub) -> int:
    return gh.count("GET", rf"/repos/[^/]+/{TOKENS}/git/trees/")


def test_the_actions_public_key_is_read_once_per_repository(
    gh: FakeGitHub, azure: FakeAzure
) -> None:
    loaded = request()
    svc = services(gh, azure, loaded)
    # The same services twice (a re-run in one scope): each key was read the first time.
    assert statuses(run(loaded, svc)) == [("done", True)] * 2
    assert statuses(run(loaded, svc)) == [("done", True)] * 2
    assert gh.count("GET", PUBLIC_KEY) == 2  # foo and bar, once each (before: 4)
    assert gh.effects["put_secret"] == 4
    now = time.time()
    for name in ("foo", "bar"):
        token = gh.actions_secret(f"{name}-feedstock", "FEEDSTOCK_TOKEN")
        assert accepts(registry(gh, name), token, "github_actions", now)


def test_a_rotated_actions_key_is_read_again_and_the_secret_still_stored(
    gh: FakeGitHub, azure: FakeAzure
) -> None:
    loaded = request()
    svc = services(gh, azure, loaded)
    run(loaded, svc)
    gh.rotate_actions_key("foo-feedstock")  # the key the client holds is stale now
    assert statuses(run(loaded, svc)) == [("done", True)] * 2
    assert gh.count("GET", PUBLIC_KEY) == 3  # foo again, once
    token = gh.actions_secret("foo-feedstock", "FEEDSTOCK_TOKEN")  # sealed to the new key
    assert accepts(registry(gh, "foo"), token, "github_actions", time.time())


def test_the_final_commit_reads_no_registry_file_again(gh: FakeGitHub, azure: FakeAzure) -> None:
    loaded = _many(gh, 30)
    outcomes = run(loaded, services(gh, azure, loaded))
    assert statuses(outcomes) == [("done", True)] * 30
    # One read per file, for the provisional commit; the final one builds on what that
    # commit wrote (before: 60 reads, and the branch's ref and head read twice).
    assert _registry_reads(gh) == 30
    assert _registry_listings(gh) == 2  # the root and tokens/, once
    assert gh.count("GET", rf"/{TOKENS}/git/ref/") == 1
    assert gh.count("GET", rf"/{TOKENS}/git/commits/") == 1
    first, final = gh.repo(TOKENS).pushes
    assert final.before == first.after
    now = time.time()
    for n in range(30):
        entries = json.loads(registry(gh, f"pkg{n}"))["tokens"]
        assert len(entries) == 1  # the old one is gone
        assert "expires_at" not in entries[0]
        token = gh.actions_secret(f"pkg{n}-feedstock", "FEEDSTOCK_TOKEN")
        assert accepts(registry(gh, f"pkg{n}"), token, "github_actions", now)


def test_a_push_between_the_two_commits_is_read_and_kept(
    gh: FakeGitHub, azure: FakeAzure, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = request()
    store = token_reset.TokenResetKind._store
    theirs = old_entry("travis", "x" * 64)

    def push_then_store(self: object, svc: Services, repo: str, *args: object) -> None:
        if not gh.repo(TOKENS).pushes[1:]:  # once, after our provisional commit
            current = json.loads(registry(gh, "foo"))
            current["tokens"].append(theirs)
            gh.push_commit(
                TOKENS, "main", "theirs", {"tokens/foo-feedstock.json": json.dumps(current)}
            )
        store(self, svc, repo, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(token_reset.TokenResetKind, "_store", push_then_store)
    assert statuses(run(loaded, services(gh, azure, loaded))) == [("done", True)] * 2
    _ours, other, final = gh.repo(TOKENS).pushes
    assert other.message == "theirs"
    assert final.before == other.after  # on top of theirs
    entries = json.loads(registry(gh, "foo"))["tokens"]
    assert theirs in entries  # their change kept: the file was read again
    assert all("expires_at" not in e for e in entries)
    now = time.time()
    token = gh.actions_secret("foo-feedstock", "FEEDSTOCK_TOKEN")
    assert accepts(registry(gh, "foo"), token, "github_actions", now)
    assert not accepts(registry(gh, "foo"), "0123456789abcdef" * 4, "github_actions", now)


def test_a_request_of_30_feedstocks_takes_at_most_6_5_calls_a_feedstock(
    gh: FakeGitHub, azure: FakeAzure
) -> None:
    loaded = _many(gh, 30)
    outcomes = run(loaded, services(gh, azure, loaded))
    assert statuses(outcomes) == [("done", True)] * 30
    # conda-forge.yml, the registry file, the key, the secret; the hint's recipe and
    # registration; per request: the registry's branch, two commits, the outputs'
    # config and allowlist (before: 7.4, the registry files read twice).
    assert _github_calls(gh) / 30 <= 6.5
    assert not any(SKIPPED in o.detail for o in outcomes)


def test_a_mass_reset_leaves_the_hint_out_and_says_so(
    gh: FakeGitHub, azure: FakeAzure, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(token_reset, "HINT_MAX_FEEDSTOCKS", 10)
    loaded = _many(gh, 30)
    gh.repo("feedstock-outputs").files.pop("outputs/p/k/g/pkg3.json")  # unregistered
    outcomes = run(loaded, services(gh, azure, loaded))
    assert statuses(outcomes) == [("done", True)] * 30
    assert gh.count("GET", r"/contents/recipe/") == 0
    assert gh.count("GET", r"feedstock-outputs/contents/") == 0
    # The four calls a feedstock no reset can do without, and the request's few (its
    # branch, two commits, the registry's two tree listings).
    assert _github_calls(gh) / 30 <= 4.4
    assert all(SKIPPED in o.detail for o in outcomes)
    assert "more than 10 feedstocks" in outcomes[3].detail
    assert not any("not registered to it:" in o.detail for o in outcomes)


def test_the_calls_by_endpoint_stay_one_a_feedstock(gh: FakeGitHub, azure: FakeAzure) -> None:
    loaded = _many(gh, 30)
    run(loaded, services(gh, azure, loaded))
    per_feedstock = [
        r"/contents/conda-forge\.yml$",
        r"/contents/recipe/meta\.yaml$",
        rf"/{TOKENS}/git/blobs/",  # each registry file, found in the listings below
        PUBLIC_KEY,
        r"feedstock-outputs/contents/outputs/",
    ]
    for pattern in per_feedstock:
        assert gh.count("GET", pattern) == 30, pattern
    assert gh.count("PUT", r"/actions/secrets/FEEDSTOCK_TOKEN$") == 30
    others = [
        c
        for c in gh.calls
        if c.path.startswith("/repos/")
        and not any(re.search(p, c.path) for p in [*per_feedstock, "/actions/secrets/"])
    ]
    # The registry's branch; the two commits (ref and head once, then tree, commit and
    # ref each); the registry's root and tokens/ listed once; the outputs' config and
    # allowlist.
    assert len(others) == 1 + 2 + 2 * 3 + 2 + 2, [(c.method, c.path) for c in others]


def test_a_rerun_of_the_request_converges_with_the_same_calls(
    gh: FakeGitHub, azure: FakeAzure
) -> None:
    loaded = _many(gh, 5)
    run(loaded, services(gh, azure, loaded))
    first = _github_calls(gh)
    gh.reset_counters()
    assert statuses(run(loaded, services(gh, azure, loaded))) == [("done", True)] * 5
    assert _github_calls(gh) == first
    for n in range(5):
        entries = json.loads(registry(gh, f"pkg{n}"))["tokens"]
        assert len(entries) == 1  # nothing accumulates


def test_the_online_check_of_a_mass_reset_leaves_the_outputs_out_too(
    gh: FakeGitHub, azure: FakeAzure, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = _many(gh, 3)
    gh.repo("feedstock-outputs").files.pop("outputs/p/k/g/pkg1.json")  # unregistered
    svc = services(gh, azure, loaded)
    [problem] = loaded.kind.preflight(loaded.model, svc)
    assert problem.code == "output-not-registered"
    gh.reset_counters()
    monkeypatch.setattr(token_reset, "HINT_MAX_FEEDSTOCKS", 2)
    assert loaded.kind.preflight(loaded.model, svc) == []
    assert gh.count("GET", r"/contents/recipe/") == 0
    assert gh.count("GET", r"^/repos/[^/]+/pkg\d-feedstock$") == 3  # each still looked up
