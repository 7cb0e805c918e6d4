"""AzureDevOpsClient and AppInstallationsClient against their fakes: the paths the
kinds' tests do not reach (a concurrent edit, paging, a missing pipeline)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from admin_requests.config import Settings
from admin_requests.credentials.redact import Secret
from admin_requests.errors import NotFoundError, TransientError
from admin_requests.services import AzureDevOpsClient
from tests.fakes import Fault
from tests.fakes.azure import FakeAzure
from tests.fakes.clock import FakeClock
from tests.fakes.wiring import retrier_for


@pytest.fixture
def azure() -> Iterator[FakeAzure]:
    with FakeAzure() as fake:
        fake.add_pipeline("foo-feedstock")
        fake.add_token("az")
        yield fake


def client(azure: FakeAzure) -> AzureDevOpsClient:
    settings = Settings(azure_devops_url=azure.url, http_timeout_seconds=2)
    return AzureDevOpsClient(settings, "az", retrier=retrier_for(FakeClock()))


def test_a_concurrent_edit_is_read_again_not_overwritten(azure: FakeAzure) -> None:
    azure.faults.on_call(1, fault=Fault("status", status=409), method="PUT")
    client(azure).set_secret_variable("foo-feedstock", "FEEDSTOCK_TOKEN", Secret("v" * 64))
    assert azure.pipeline("foo-feedstock").variables["FEEDSTOCK_TOKEN"]["value"] == "v" * 64
    assert azure.count("GET", r"/definitions/\d+$") == 2


def test_a_pipeline_that_keeps_changing_is_retried_in_a_later_run(azure: FakeAzure) -> None:
    azure.faults.at_rate(1.0, Fault("status", status=409), method="PUT")
    with pytest.raises(TransientError, match="kept changing"):
        client(azure).set_secret_variable("foo-feedstock", "X", Secret("v" * 64), attempts=3)


def test_a_missing_pipeline_is_named(azure: FakeAzure) -> None:
    with pytest.raises(NotFoundError, match="no pipeline 'bar-feedstock' in conda-forge/"):
        client(azure).set_secret_variable("bar-feedstock", "X", Secret("v" * 64))
