"""A simulated processing run for the broker's tests (test_broker.py, test_vault_backend.py,
test_anaconda_token.py): OIDC -> OpenBao -> per-request GitHub and anaconda tokens; the
fixture that builds it, run, is in conftest.py."""

from __future__ import annotations

from dataclasses import dataclass

import requests

from admin_requests.access import Access
from admin_requests.config import Settings
from admin_requests.credentials.broker import CredentialBroker
from admin_requests.credentials.factories import open_broker
from admin_requests.credentials.redact import Masker, Secret
from admin_requests.credentials.settings import CredentialSettings
from admin_requests.services.http import Retrier, RetryPolicy
from tests.fakes.anaconda import FakeAnaconda
from tests.fakes.github import FakeGitHub
from tests.fakes.oidc import FakeOidcIssuer
from tests.vault_trust import BaoServer

ARCHIVE = Access(
    github_repositories=("foo-feedstock",), github_permissions={"administration": "write"}
)


MARK_BROKEN = Access(
    github_repositories=("bar-feedstock",),
    github_permissions={"contents": "read"},
    anaconda_scopes=("api:write",),
)


@dataclass
class Run:
    github: FakeGitHub
    anaconda: FakeAnaconda
    issuer: FakeOidcIssuer
    vault: BaoServer
    settings: Settings
    credentials: CredentialSettings

    def broker(self, masker: Masker | None = None) -> CredentialBroker:
        # No real waiting between retries in tests.
        retrier = Retrier(RetryPolicy(base_delay=0.01), sleep=lambda _: None)
        return open_broker(self.settings, self.credentials, masker=masker, retrier=retrier)


def gh(run: Run, token: Secret, method: str, path: str, body: object = None) -> int:
    response = requests.request(
        method,
        f"{run.github.url}{path}",
        headers={"Authorization": f"token {token.reveal()}"},
        json=body,
        timeout=10,
    )
    return response.status_code


def label(run: Run, token: Secret, owner: str = "conda-forge") -> int:
    response = requests.post(
        f"{run.anaconda.url}/channels/{owner}/broken",
        headers={"Authorization": f"token {token.reveal()}"},
        json={"package": "bar", "version": "1.0", "basename": "linux-64/bar-1.0-h0_0.conda"},
        timeout=10,
    )
    return response.status_code


def mint_for(broker: CredentialBroker, access: Access) -> None:
    with broker.request_credentials(access, label="r.yml"):
        pass
