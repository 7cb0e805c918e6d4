"""token_reset against FakeGitHub (feedstocks, feedstock-tokens, feedstock-outputs) and
FakeAzure (pipelines), with tokens scoped exactly to the kind's Access.

The stored registry entries are checked with an independent implementation of the
validation service's check (``accepts`` below: cryptography's scrypt, not hashlib's, and
hmac.compare_digest), so a mistake in our hashing cannot pass by agreeing with itself.
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from admin_requests.credentials.redact import Secret
from admin_requests.errors import AccessDeniedError, NotFoundError
from admin_requests.kinds.contract import OutcomeStatus
from admin_requests.kinds.token_reset.registry import hash_token
from admin_requests.services import GitHubClient, Services
from tests.fakes import FakeGitHub, Fault
from tests.fakes.azure import FakeAzure
from tests.fakes.clock import FakeClock
from tests.kinds.helpers import Loaded, load, run, statuses
from tests.kinds.scoped import Minted, scoped_services

TOKENS = "feedstock-tokens"
OUTPUTS = "feedstock-outputs"
OLD_TOKEN = "0123456789abcdef" * 4
GHA_ONLY = (
    "provider:\n  linux_64: github_actions\n  osx_64: github_actions\n  win_64: github_actions\n"
)
META = '{% set name = "Foo" %}\npackage:\n  name: {{ name|lower }}\n  version: 1.0\n'


def accepts(registry: bytes, token: str, provider: str, now: float) -> bool:
    """conda-forge's validation service's check, written independently of our code."""
    data = json.loads(registry)
    entries = data.get("tokens", [data])
    for entry in entries:
        if entry.get("provider") not in (None, provider):
            continue
        if entry.get("expires_at") is not None and entry["expires_at"] <= now:
            continue
        kdf = Scrypt(salt=bytes.fromhex(entry["salt"]), length=256, n=2**14, r=8, p=1)
        if hmac.compare_digest(kdf.derive(token.encode()), bytes.fromhex(entry["hashed_token"])):
            return True
    return False


def old_entry(provider: str | None, token: str = OLD_TOKEN, **extra: object) -> dict[str, object]:
    salt = os.urandom(64)
    entry: dict[str, object] = {"salt": salt.hex(), "hashed_token": hash_token(token, salt).hex()}
    if provider:
        entry["provider"] = provider
    return {**entry, **extra}


@pytest.fixture
def azure() -> Iterator[FakeAzure]:
    with FakeAzure() as fake:
        fake.add_pipeline("foo-feedstock", {"OTHER": {"value": "kept", "isSecret": True}})
        yield fake


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_repo("foo-feedstock", files={"recipe/meta.yaml": META})
    fake_github.add_repo("bar-feedstock", files={"conda-forge.yml": GHA_ONLY})
    fake_github.add_repo(
        TOKENS,
        files={
            "tokens/foo-feedstock.json": json.dumps(
                {"tokens": [old_entry(None), old_entry("travis", "t" * 64)]}
            )
        },
    )
    fake_github.add_repo(
        OUTPUTS,
        files={
            "config.json": json.dumps(
                {"outputs_path": "outputs", "shard_level": 3, "shard_fill": "z"}
            ),
            "feedstock_outputs_autoreg_allowlist.yml": "bar:\n  - bar-*\n",
            "outputs/f/o/o/foo.json": json.dumps({"feedstocks": ["foo"]}),
        },
    )
    return fake_github


def request(text: str = "") -> Loaded:
    return load(f"action: token_reset\nfeedstocks:\n  - foo\n  - bar\n{text}")


def services(
    gh: FakeGitHub, azure: FakeAzure | None, loaded: Loaded, minted: Minted | None = None
) -> Services:
    probe = scoped_services(gh, loaded.kind.access(loaded.model, _reader(gh)), azure=azure)
    access = loaded.kind.access(loaded.model, probe)
    return scoped_services(gh, access, azure=azure, clock=FakeClock(), minted=minted)


def _reader(gh: FakeGitHub) -> Services:
    from tests.fakes.wiring import services_for

    gh.add_token("job-token", permissions={"contents": "read"})
    return services_for(gh, None, github_token="job-token", anaconda_token=None)


def registry(gh: FakeGitHub, name: str) -> bytes:
    return gh.repo(TOKENS).files[f"tokens/{name}-feedstock.json"]


def test_fresh_tokens_are_stored_in_ci_and_accepted_by_the_validation_check(
    gh: FakeGitHub, azure: FakeAzure
) -> None:
    loaded = request()
    outcomes = run(loaded, services(gh, azure, loaded))
    assert statuses(outcomes) == [("done", True), ("done", True)]
    now = time.time()
    foo_gha = gh.actions_secret("foo-feedstock", "FEEDSTOCK_TOKEN")
    foo_azure = azure.pipeline("foo-feedstock").variables["FEEDSTOCK_TOKEN"]
    assert foo_azure["isSecret"]
    assert not foo_azure["allowOverride"]
    assert len(foo_gha) == 64
    assert int(foo_gha, 16) >= 0
    assert foo_gha != foo_azure["value"]  # one token per provider
    assert accepts(registry(gh, "foo"), foo_gha, "github_actions", now)
    assert accepts(registry(gh, "foo"), foo_azure["value"], "azure", now)
    assert not accepts(registry(gh, "foo"), foo_gha, "azure", now)
    # The old shared token is gone; the travis entry (a provider we cannot store on,
    # and that foo does not build on) is kept as it was.
    assert not accepts(registry(gh, "foo"), OLD_TOKEN, "github_actions", now)
    assert accepts(registry(gh, "foo"), "t" * 64, "travis", now)
    entries = json.loads(registry(gh, "foo"))["tokens"]
    assert sorted(e.get("provider") for e in entries) == ["azure", "github_actions", "travis"]
    assert all("expires_at" not in e for e in entries)
    # The other secret variable of the pipeline kept its stored value.
    assert azure.pipeline("foo-feedstock").variables["OTHER"]["value"] == "kept"
    # bar builds only on GitHub Actions: no Azure pipeline is needed or touched.
    bar = gh.actions_secret("bar-feedstock", "FEEDSTOCK_TOKEN")
    assert accepts(registry(gh, "bar"), bar, "github_actions", now)
    assert [e["provider"] for e in json.loads(registry(gh, "bar"))["tokens"]] == ["github_actions"]
    assert azure.effects["update_definition"] == 1


def test_old_tokens_expire_when_asked_and_an_expired_entry_fails_the_check(
    gh: FakeGitHub, azure: FakeAzure
) -> None:
    loaded = request("existing_tokens_time_to_expiration: 3600\n")
    before = time.time()
    assert statuses(run(loaded, services(gh, azure, loaded)))[0] == ("done", True)
    new = gh.actions_secret("foo-feedstock", "FEEDSTOCK_TOKEN")
    data = registry(gh, "foo")
    # Still accepted for now; refused once its expires_at has passed.
    assert accepts(data, OLD_TOKEN, "github_actions", before)
    assert not accepts(data, OLD_TOKEN, "github_actions", before + 3601)
    assert accepts(data, new, "github_actions", before + 3601)
    [old] = [e for e in json.loads(data)["tokens"] if "provider" not in e]
    assert int(before) + 3600 <= old["expires_at"] <= time.time() + 3600


def test_a_second_reset_replaces_the_first_and_nothing_accumulates(
    gh: FakeGitHub, azure: FakeAzure
) -> None:
    loaded = request()
    run(loaded, services(gh, azure, loaded))
    first = gh.actions_secret("foo-feedstock", "FEEDSTOCK_TOKEN")
    assert statuses(run(loaded, services(gh, azure, loaded))) == [("done", True)] * 2
    second = gh.actions_secret("foo-feedstock", "FEEDSTOCK_TOKEN")
    assert first != second
    now = time.time()
    assert not accepts(registry(gh, "foo"), first, "github_actions", now)
    assert accepts(registry(gh, "foo"), second, "github_actions", now)
    assert len(json.loads(registry(gh, "foo"))["tokens"]) == 3  # gha, azure, travis


def test_skip_providers_leaves_that_provider_alone(gh: FakeGitHub, azure: FakeAzure) -> None:
    gh.repo(TOKENS).files["tokens/foo-feedstock.json"] = json.dumps(
        {"tokens": [old_entry("azure"), old_entry("github_actions", "g" * 64)]}
    ).encode()
    loaded = request("skip_providers: [azure]\n")
    assert statuses(run(loaded, services(gh, azure, loaded)))[0] == ("done", True)
    assert azure.effects["update_definition"] == 0
    now = time.time()
    assert accepts(registry(gh, "foo"), OLD_TOKEN, "azure", now)
    assert not accepts(registry(gh, "foo"), "g" * 64, "github_actions", now)


def test_a_crash_after_registering_keeps_ci_working_and_the_rerun_converges(
    gh: FakeGitHub, azure: FakeAzure, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = request()

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the runner was cancelled")

    with monkeypatch.context() as patch:
        patch.setattr(GitHubClient, "set_actions_secret", crash)
        with pytest.raises(RuntimeError):
            loaded.kind.execute(loaded.items[0], services(gh, azure, loaded))
    now = time.time()
    entries = json.loads(registry(gh, "foo"))["tokens"]
    # Two provisional hashes whose tokens nobody has: they expire by themselves...
    provisional = [e for e in entries if "expires_at" in e]
    assert len(provisional) == 2
    assert all(now < e["expires_at"] <= now + 7 * 24 * 3600 + 5 for e in provisional)
    # ...and the old token still works, so CI keeps uploading meanwhile.
    assert accepts(registry(gh, "foo"), OLD_TOKEN, "github_actions", now)
    assert "FEEDSTOCK_TOKEN" not in gh.repo("foo-feedstock").secrets

    assert statuses(run(loaded, services(gh, azure, loaded)))[0] == ("done", True)
    entries = json.loads(registry(gh, "foo"))["tokens"]
    assert sorted(e.get("provider") for e in entries) == ["azure", "github_actions", "travis"]
    assert all("expires_at" not in e for e in entries)
    token = gh.actions_secret("foo-feedstock", "FEEDSTOCK_TOKEN")
    assert accepts(registry(gh, "foo"), token, "github_actions", now)


def test_a_failure_after_storing_leaves_the_new_token_accepted(
    gh: FakeGitHub, azure: FakeAzure
) -> None:
    loaded = request()
    # The finalising commit (the second tree written to the registry) keeps failing.
    for n in range(2, 8):
        gh.faults.on_call(n, fault=Fault.server_error(503), method="POST", path="/git/trees")
    outcome = loaded.kind.execute(loaded.items[0], services(gh, azure, loaded))
    assert outcome.status is OutcomeStatus.RETRY
    now = time.time()
    token = gh.actions_secret("foo-feedstock", "FEEDSTOCK_TOKEN")
    assert accepts(registry(gh, "foo"), token, "github_actions", now)  # provisional, valid
    assert accepts(registry(gh, "foo"), OLD_TOKEN, "github_actions", now)
    gh.faults.clear()
    assert loaded.kind.execute(loaded.items[0], services(gh, azure, loaded)).status.value == "done"
    assert not accepts(registry(gh, "foo"), token, "github_actions", now)  # replaced


def test_a_missing_pipeline_fails_azure_only_and_keeps_its_old_token(
    gh: FakeGitHub, azure: FakeAzure
) -> None:
    azure.pipelines.clear()
    loaded = request()
    outcomes = run(loaded, services(gh, azure, loaded))
    assert [o.status for o in outcomes] == [OutcomeStatus.FAILED, OutcomeStatus.DONE]
    assert "azure: not stored" in outcomes[0].detail
    assert "no pipeline 'foo-feedstock'" in outcomes[0].detail
    now = time.time()
    gha = gh.actions_secret("foo-feedstock", "FEEDSTOCK_TOKEN")
    assert accepts(registry(gh, "foo"), gha, "github_actions", now)
    assert not accepts(registry(gh, "foo"), gha, "azure", now)
    # Azure still holds the old shared token: it keeps working there, and only there.
    assert accepts(registry(gh, "foo"), OLD_TOKEN, "azure", now)
    assert not accepts(registry(gh, "foo"), OLD_TOKEN, "github_actions", now)


def test_a_skipped_provider_keeps_the_old_shared_token(gh: FakeGitHub, azure: FakeAzure) -> None:
    loaded = request("skip_providers: [azure]\nexisting_tokens_time_to_expiration: 600\n")
    assert run(loaded, services(gh, azure, loaded))[0].status is OutcomeStatus.DONE
    now = time.time()
    data = registry(gh, "foo")
    assert accepts(data, OLD_TOKEN, "azure", now + 3600)  # skipped: untouched, no expiry
    assert accepts(data, OLD_TOKEN, "github_actions", now)  # expires in 10 minutes
    assert not accepts(data, OLD_TOKEN, "github_actions", now + 601)


def test_a_feedstock_on_a_provider_we_cannot_store_on_fails_before_changing_anything(
    gh: FakeGitHub, azure: FakeAzure
) -> None:
    gh.repo("foo-feedstock").files["conda-forge.yml"] = b"provider:\n  linux_aarch64: travis\n"
    loaded = request()
    gh.reset_counters()
    outcome = loaded.kind.execute(loaded.items[0], services(gh, azure, loaded))
    assert outcome.status is OutcomeStatus.FAILED
    assert "builds on travis (conda-forge.yml: provider.linux_aarch64: travis)" in outcome.detail
    assert "'skip_providers'" in outcome.detail
    assert gh.effects == {}
    skipping = load("action: token_reset\nfeedstocks: [foo]\nskip_providers: [travis]\n")
    assert run(skipping, services(gh, azure, skipping))[0].status is OutcomeStatus.DONE


def test_a_missing_feedstock_fails_with_words(gh: FakeGitHub, azure: FakeAzure) -> None:
    gh.add_repo("nope-feedstock")  # so the token can be minted; then it disappears
    loaded = load("action: token_reset\nfeedstocks: [nope]\n")
    svc = services(gh, azure, loaded)
    del gh.repos["nope-feedstock"]
    [outcome] = run(loaded, svc)
    assert outcome.status is OutcomeStatus.FAILED
    assert "there is no repository 'nope-feedstock'" in outcome.detail
    assert "tokens/nope-feedstock.json" not in gh.repo(TOKENS).files
    assert gh.effects == {}


def test_transient_failures_are_retried_later(gh: FakeGitHub, azure: FakeAzure) -> None:
    loaded = request()
    gh.faults.at_rate(1.0, Fault.server_error(502), path="/actions/secrets/")
    outcomes = run(loaded, services(gh, azure, loaded))
    assert [o.status for o in outcomes] == [OutcomeStatus.RETRY, OutcomeStatus.RETRY]
    assert gh.effects.get("put_secret", 0) == 0


def test_each_token_is_refused_outside_what_access_declares(
    gh: FakeGitHub, azure: FakeAzure
) -> None:
    loaded = request()
    minted = Minted()
    assert statuses(run(loaded, services(gh, azure, loaded, minted)))[0] == ("done", True)
    access = loaded.kind.access(loaded.model, services(gh, azure, loaded))
    assert access.github_repositories == ("foo-feedstock", "bar-feedstock")
    assert access.github_permissions == {"contents": "read", "secrets": "write"}
    assert [(g.repositories, dict(g.permissions)) for g in access.github_extra] == [
        ((TOKENS,), {"contents": "write"}),
        ((OUTPUTS,), {"contents": "read"}),
    ]
    settings = services(gh, azure, loaded).settings
    feedstocks = GitHubClient.build(settings, minted.main)
    registry_writer = GitHubClient.build(settings, minted.grants[(TOKENS,)])
    # The feedstocks' token cannot touch the registry, nor write the feedstocks' code.
    with pytest.raises(NotFoundError):
        feedstocks.put_file(TOKENS, "tokens/x.json", b"{}", "x", None)
    with pytest.raises(AccessDeniedError):
        feedstocks.put_file("foo-feedstock", "README.md", b"x", "x", None)
    # The registry's token cannot store secrets on the feedstocks.
    with pytest.raises(NotFoundError):
        registry_writer.set_actions_secret("foo-feedstock", "FEEDSTOCK_TOKEN", Secret("x" * 64))
    # Without its grants (one token for everything) the kind cannot do its job.
    narrow = scoped_services(
        gh, type(access)(access.github_repositories, access.github_permissions)
    )
    [first, _] = run(loaded, narrow)
    assert first.status is OutcomeStatus.FAILED
    assert "'feedstock-tokens' repository is missing" in first.detail
    assert "cannot reach it" in first.detail


def test_the_token_is_never_written_to_disk_or_logged(
    gh: FakeGitHub,
    azure: FakeAzure,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    tempfile.tempdir = None  # pick up TMPDIR
    caplog.set_level(logging.DEBUG)
    started = time.time() - 1
    loaded = request()
    try:
        run(loaded, services(gh, azure, loaded))
    finally:
        tempfile.tempdir = None
    tokens = [
        gh.actions_secret("foo-feedstock", "FEEDSTOCK_TOKEN"),
        gh.actions_secret("bar-feedstock", "FEEDSTOCK_TOKEN"),
        azure.pipeline("foo-feedstock").variables["FEEDSTOCK_TOKEN"]["value"],
    ]
    assert caplog.records  # the run did log
    for token in tokens:
        assert token not in caplog.text
        for where in {tmp_path, Path(tempfile.gettempdir()), Path.cwd()}:
            for path in where.rglob("*"):
                if path.is_file() and path.stat().st_mtime >= started:
                    assert token.encode() not in path.read_bytes(), path
        for content in gh.repo(TOKENS).files.values():
            assert token.encode() not in content


def test_unregistered_outputs_are_named_in_the_check_and_in_the_outcome(
    gh: FakeGitHub, azure: FakeAzure
) -> None:
    gh.repo("foo-feedstock").files["recipe/meta.yaml"] = (
        META + "outputs:\n  - name: libfoo\n  - name: {{ name|lower }}-tools\n"
    ).encode()
    gh.repo(OUTPUTS).files["outputs/l/i/b/libfoo.json"] = json.dumps(
        {"feedstocks": ["other"]}
    ).encode()
    loaded = request()
    problems = loaded.kind.preflight(loaded.model, _reader(gh))
    [problem] = problems
    assert (problem.code, problem.severity, problem.line) == (
        "output-not-registered",
        "warning",
        3,
    )
    assert "'libfoo' (registered to other-feedstock)" in problem.message
    assert "'foo-tools' (registered to no feedstock)" in problem.message
    assert "feedstock_to_output_mapping: {foo: [libfoo, foo-tools]}" in problem.message
    [foo, bar] = run(loaded, services(gh, azure, loaded))
    assert foo.status is OutcomeStatus.DONE
    assert "not registered to it" in foo.detail
    assert "add_feedstock_output" in foo.detail
    assert "add_feedstock_output" not in bar.detail


def test_outputs_are_owned_as_the_validation_service_owns_them(
    gh: FakeGitHub, azure: FakeAzure
) -> None:
    """conda-forge-metadata's package_to_feedstock, which the upload validation uses:
    an output's feedstocks are those registered for it together with every feedstock
    whose allowlist glob matches it, whoever else is registered."""
    gh.repo("foo-feedstock").files["recipe/meta.yaml"] = (
        META + "outputs:\n  - name: libfoo\n  - name: {{ name|lower }}-tools\n"
    ).encode()
    gh.repo(OUTPUTS).files["feedstock_outputs_autoreg_allowlist.yml"] = (
        b"foo:\n  - libfoo*\nbar:\n  - bar-*\n  - '*-tools'\n"
    )
    # Registered to another feedstock, but foo's glob matches: foo may upload it.
    gh.repo(OUTPUTS).files["outputs/l/i/b/libfoo.json"] = json.dumps(
        {"feedstocks": ["other"]}
    ).encode()
    loaded = request()

    [problem] = loaded.kind.preflight(loaded.model, _reader(gh))

    # Registered to nobody, but bar's glob matches it: it is bar's, not foo's.
    assert "'foo-tools' (registered to bar-feedstock)" in problem.message
    assert "libfoo" not in problem.message


def test_preflight_flags_a_missing_feedstock(gh: FakeGitHub) -> None:
    loaded = load("action: token_reset\nfeedstocks:\n  - foo\n  - nope\n")
    problems = loaded.kind.preflight(loaded.model, _reader(gh))
    assert [(p.code, p.line) for p in problems] == [("no-such-feedstock", 4)]


def test_the_oldest_single_entry_file_is_read_and_rewritten(
    gh: FakeGitHub, azure: FakeAzure
) -> None:
    gh.repo(TOKENS).files["tokens/bar-feedstock.json"] = json.dumps(old_entry(None)).encode()
    loaded = request("existing_tokens_time_to_expiration: 60\n")
    run(loaded, services(gh, azure, loaded))
    data = json.loads(registry(gh, "bar"))
    assert [e.get("provider") for e in data["tokens"]] == [None, "github_actions"]
    assert accepts(registry(gh, "bar"), OLD_TOKEN, "github_actions", time.time())


def test_without_azure_configured_the_item_says_so(gh: FakeGitHub) -> None:
    loaded = request()
    [foo, bar] = run(loaded, services(gh, None, loaded))
    assert foo.status is OutcomeStatus.FAILED
    assert "Azure Pipelines is not configured for admin-requests" in foo.detail
    assert bar.status is OutcomeStatus.DONE


def test_an_item_with_a_grace_beyond_the_maximum_is_refused_before_anything_changes(
    gh: FakeGitHub, azure: FakeAzure
) -> None:
    # Issue 16 finding 11: the checker refuses such a file (tests/validation/
    # test_malformed.py); an item that reaches execute anyway changes nothing either.
    loaded = request("existing_tokens_time_to_expiration: 3600\n")
    svc = services(gh, azure, loaded)
    item = loaded.items[0]
    forged = dataclasses.replace(
        item, params=dataclasses.replace(item.params, expiration=999999999999999999)
    )
    outcome = loaded.kind.execute(forged, svc)
    assert outcome.status is OutcomeStatus.FAILED
    assert "at most 2,592,000 seconds (30 days)" in outcome.detail
    assert gh.effects == {}
    assert accepts(registry(gh, "foo"), OLD_TOKEN, "github_actions", time.time() + 10**9)


def test_many_feedstocks_are_registered_in_two_commits_in_the_kinds_order(
    gh: FakeGitHub, azure: FakeAzure
) -> None:
    names = [f"pkg{n}" for n in range(30)]
    for name in names:
        gh.add_repo(f"{name}-feedstock", files={"conda-forge.yml": GHA_ONLY})
    loaded = load("action: token_reset\nfeedstocks:\n" + "".join(f"  - {n}\n" for n in names))
    outcomes = run(loaded, services(gh, azure, loaded))
    assert statuses(outcomes) == [("done", True)] * 30
    # Two commits for the request (upstream, and before: two per feedstock, 60).
    pushes = gh.repo(TOKENS).pushes
    assert [p.message.split(" for ")[0] for p in pushes] == [
        "[ci skip] [skip ci] [cf admin skip] ***NO_CI*** new tokens",
        "[ci skip] [skip ci] [cf admin skip] ***NO_CI*** tokens",
    ]
    assert pushes[0].message.endswith("pkg4-feedstock and 25 more (provisional)")
    # The order of the steps holds for every feedstock: all provisional entries are
    # on the registry before the first secret is stored, the final ones after the last.
    writes = [(c.method, c.path) for c in gh.calls if c.method in ("PATCH", "PUT")]
    secrets_at = [i for i, (m, path) in enumerate(writes) if "/actions/secrets/" in path]
    refs_at = [i for i, (m, path) in enumerate(writes) if "/git/refs/" in path]
    assert len(secrets_at) == 30
    assert refs_at[0] < secrets_at[0]
    assert secrets_at[-1] < refs_at[-1]
    now = time.time()
    for name in names:
        token = gh.actions_secret(f"{name}-feedstock", "FEEDSTOCK_TOKEN")
        assert accepts(registry(gh, name), token, "github_actions", now)
        entries = json.loads(registry(gh, name))["tokens"]
        assert all("expires_at" not in e for e in entries)


def test_a_registry_file_in_a_bad_format_fails_its_feedstock_only(
    gh: FakeGitHub, azure: FakeAzure
) -> None:
    gh.repo(TOKENS).files["tokens/foo-feedstock.json"] = b"[not a registry"
    loaded = request()
    outcomes = run(loaded, services(gh, azure, loaded))
    assert [o.status for o in outcomes] == [OutcomeStatus.FAILED, OutcomeStatus.DONE]
    assert "Ask core to look at this request" in outcomes[0].detail
    assert "FEEDSTOCK_TOKEN" not in gh.repo("foo-feedstock").secrets  # nothing stored
    assert gh.actions_secret("bar-feedstock", "FEEDSTOCK_TOKEN")
