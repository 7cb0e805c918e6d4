"""cfep3_copy against FakeAnaconda: verify, copy, verify again."""

from __future__ import annotations

import hashlib

import pytest

from admin_requests.kinds.cfep3_copy import same_sha256
from tests.fakes import FakeAnaconda, Fault
from tests.fakes.wiring import services_for
from tests.kinds.helpers import load, run, statuses

FILE = "linux-64/foo-1.0-h0_0.conda"
CONTENT = b"reviewed artifact"
SHA = hashlib.sha256(CONTENT).hexdigest()


def _request(sha: str = SHA, label: str = "cf202003") -> str:
    return (
        "action: cfep3_copy\n"
        "anaconda_org_packages:\n"
        f"  - package: staging/label/{label}/{FILE}\n"
        f"    sha256: {sha}\n"
    )


@pytest.fixture
def ac(fake_anaconda: FakeAnaconda) -> FakeAnaconda:
    fake_anaconda.add_token("ac-admin", scopes=["api:read", "api:write"], owners=["conda-forge"])
    fake_anaconda.add_file("staging", FILE, labels=["cf202003"], content=CONTENT)
    return fake_anaconda


def test_copy_then_rerun_changes_nothing(ac: FakeAnaconda) -> None:
    request = load(_request())
    services = services_for(None, ac)
    assert statuses(run(request, services)) == [("done", True)]
    copied = ac.file("conda-forge", FILE)
    assert (copied.content, copied.labels) == (CONTENT, {"main"})
    assert statuses(run(request, services)) == [("done", False)]
    assert ac.effects == {"copy": 1}


def test_uppercase_sha_in_the_request_still_matches(ac: FakeAnaconda) -> None:
    assert same_sha256(SHA, SHA.upper())
    assert not same_sha256(SHA, "0" * 64)
    assert statuses(run(load(_request(SHA.upper())), services_for(None, ac))) == [("done", True)]


def test_sha_mismatch_copies_nothing(ac: FakeAnaconda) -> None:
    request = load(_request("ab" * 32))
    (outcome,) = run(request, services_for(None, ac))
    assert outcome.status.value == "failed"
    assert "nothing was copied" in outcome.detail
    assert not ac.has_file("conda-forge", FILE)
    problems = request.kind.preflight(request.model, services_for(None, ac))
    assert [(p.code, p.line) for p in problems] == [("bad-copy-source", 3)]


def test_a_different_file_already_on_the_channel_is_never_replaced(ac: FakeAnaconda) -> None:
    ac.add_file("conda-forge", FILE, content=b"something else")
    (outcome,) = run(load(_request()), services_for(None, ac))
    assert outcome.status.value == "failed"
    assert ac.file("conda-forge", FILE).content == b"something else"
    assert ac.effects == {}


def test_a_file_already_on_the_channel_is_labelled_only_once_its_source_is_verified(
    ac: FakeAnaconda,
) -> None:
    # The channel has the very file, under another label; the requested source does not.
    ac.add_file("conda-forge", FILE, labels=["broken"], content=CONTENT)
    request = (
        "action: cfep3_copy\nanaconda_org_packages:\n"
        f"  - package: nowhere/label/cf202003/{FILE}\n    sha256: {SHA}\n"
    )
    (outcome,) = run(load(request), services_for(None, ac))
    assert outcome.status.value == "failed"
    assert "'nowhere/label/cf202003/linux-64/foo-1.0-h0_0.conda' does not exist" in outcome.detail
    assert ac.file("conda-forge", FILE).labels == {"broken"}
    assert ac.effects == {}


def test_missing_source_or_label_fails(ac: FakeAnaconda) -> None:
    (outcome,) = run(load(_request(label="other")), services_for(None, ac))
    assert outcome.status.value == "failed"
    assert "does not have the label 'other'" in outcome.detail


def test_a_lost_answer_is_verified_not_repeated(ac: FakeAnaconda) -> None:
    # The copy happens, but the answer never arrives; the retry gets 409 and verifies.
    ac.faults.on_call(1, fault=Fault.lost_response(), method="POST", path="/copy/")
    assert statuses(run(load(_request()), services_for(None, ac))) == [("done", True)]
    assert ac.effects == {"copy": 1}
    assert ac.count("POST", "/copy/") == 2


def test_transient_failures_are_retried_later(ac: FakeAnaconda) -> None:
    ac.faults.at_rate(1.0, Fault.too_many_requests("1"), method="POST")
    assert statuses(run(load(_request()), services_for(None, ac))) == [("retry", False)]
    assert not ac.has_file("conda-forge", FILE)


def test_a_token_for_another_channel_is_refused(ac: FakeAnaconda) -> None:
    ac.add_token("elsewhere", scopes=["api:write"], owners=["staging"])
    request = load(_request())
    (outcome,) = run(request, services_for(None, ac, anaconda_token="elsewhere"))
    assert outcome.status.value == "failed"
    assert not ac.has_file("conda-forge", FILE)
    assert request.kind.access(request.model, services_for(None, ac)).anaconda_scopes == (
        "api:read",
        "api:write",
    )
