"""AnacondaClient against FakeAnaconda: the binstar calls and their payloads."""

from __future__ import annotations

import pytest

from admin_requests.errors import ConflictError, NotFoundError
from admin_requests.services.anaconda import AnacondaClient
from tests.fakes import FakeAnaconda
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
