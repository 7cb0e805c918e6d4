"""AnacondaClient (binstar_client.Binstar on the project's session) against FakeAnaconda."""

from __future__ import annotations

import pytest

from admin_requests.errors import AccessDeniedError, ConflictError, NotFoundError, TransientError
from admin_requests.services.anaconda import AnacondaClient, ProjectAdapter
from tests.fakes import FakeAnaconda
from tests.fakes.faults import Fault
from tests.fakes.wiring import services_for

FILE = "linux-64/foo-1.0-h0_0.conda"


def _client(ac: FakeAnaconda, token: str | None = "ac-admin") -> AnacondaClient:
    return services_for(None, ac, anaconda_token=token).anaconda


@pytest.fixture
def ac(fake_anaconda: FakeAnaconda) -> FakeAnaconda:
    fake_anaconda.add_token("ac-admin", scopes=["api:read", "api:write"])
    fake_anaconda.add_file("conda-forge", FILE)
    return fake_anaconda


def test_distribution_metadata(ac: FakeAnaconda) -> None:
    dist = _client(ac, None).distribution("conda-forge", "foo", "1.0", FILE)
    assert dist is not None
    assert dist.sha256 == ac.file("conda-forge", FILE).sha256
    assert dist.labels == {"main"}
    assert _client(ac).distribution("conda-forge", "foo", "2.0", FILE) is None


def test_labels(ac: FakeAnaconda) -> None:
    client = _client(ac)
    client.add_label("conda-forge", "broken", "foo", "1.0", FILE)
    assert ac.file("conda-forge", FILE).labels == {"main", "broken"}
    client.remove_label("conda-forge", "broken", "foo", "1.0", FILE)
    assert ac.file("conda-forge", FILE).labels == {"main"}
    with pytest.raises(NotFoundError):
        client.add_label("conda-forge", "broken", "foo", "1.0", "linux-64/foo-1.0-h1_0.conda")


def test_copy(ac: FakeAnaconda) -> None:
    ac.add_file("staging", FILE, labels=["cf202003"], content=b"built elsewhere")
    client = _client(ac)
    client.copy("staging", "foo", "1.0", FILE, to_owner="target", from_label="cf202003")
    assert ac.file("target", FILE).content == b"built elsewhere"
    assert ac.file("target", FILE).labels == {"main"}
    with pytest.raises(ConflictError):
        client.copy("staging", "foo", "1.0", FILE, to_owner="target", from_label="cf202003")


def test_copy_takes_anaconda_orgs_200(ac: FakeAnaconda) -> None:
    # binstar_client's copy() accepts 200 only: anaconda.org's answer, and the fake's.
    ac.add_file("staging", FILE, labels=["main"])
    ac.served = []
    _client(ac).copy("staging", "foo", "1.0", FILE, to_owner="target")
    assert [(s.pattern, s.status) for s in ac.served] == [
        ("/copy/package/{owner}/{name}/{version}/{subdir}/{filename}", 200)
    ]


def test_every_call_has_the_projects_timeout_and_retries(ac: FakeAnaconda) -> None:
    # binstar_client sets neither: ProjectAdapter on its session does.
    client = _client(ac)
    assert all(
        isinstance(client.api.session.get_adapter(url), ProjectAdapter)
        for url in (ac.url, "https://api.anaconda.org")
    )
    ac.faults.on_call(1, fault=Fault.server_error(502), path="/dist/")
    ac.faults.on_call(2, fault=Fault.timeout(1.0), path="/dist/")  # longer than TEST_TIMEOUT
    ac.faults.on_call(3, fault=Fault.too_many_requests("0"), path="/dist/")
    assert client.distribution("conda-forge", "foo", "1.0", FILE) is not None
    # (Counted when injected: the timed-out call is recorded only when its sleep ends.)
    assert ac.faults.injected_by_kind == {"status 502": 1, "timeout": 1, "status 429": 1}
    ac.faults.clear()
    ac.faults.at_rate(1.0, Fault.server_error(503))
    with pytest.raises(TransientError, match="failed 4 times"):
        client.add_label("conda-forge", "broken", "foo", "1.0", FILE)
    ac.faults.clear()
    before = ac.call_count
    with pytest.raises(AccessDeniedError):  # a 4xx is the answer: not retried
        _client(ac, "not-a-token").add_label("conda-forge", "broken", "foo", "1.0", FILE)
    assert ac.call_count == before + 1


def test_the_token_is_a_header_and_errors_do_not_show_it(ac: FakeAnaconda) -> None:
    ac.add_token("ac-reader-" + "s3cr3t" * 4, scopes=["api:read"], owners=["conda-forge"])
    client = _client(ac, "ac-reader-" + "s3cr3t" * 4)
    assert "s3cr3t" not in repr(client)
    with pytest.raises(AccessDeniedError) as raised:
        client.add_label("conda-forge", "broken", "foo", "1.0", FILE)
    assert raised.value.status == 403
    assert "s3cr3t" not in str(raised.value)
    assert "lacks one of the scopes" in str(raised.value)  # anaconda.org's own words
