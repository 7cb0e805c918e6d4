"""What feedstock creation asks the credential broker for: one scoped token per step.

Every step says exactly what it needs (an ``Access``) and gets a token for that, revoked
when the step ends (docs/feedstock-creation.md lists them). ``BrokerCredentials`` is the
production implementation over ``CredentialBroker``; the engine takes the protocol, so
tests may pass the real broker built on the env backend against the fakes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Protocol

from admin_requests.access import Access
from admin_requests.config import Settings
from admin_requests.errors import CredentialError
from admin_requests.services import Services
from admin_requests.services.http import Retrier

if TYPE_CHECKING:
    from admin_requests.credentials.broker import CredentialBroker


class CreationCredentials(Protocol):
    def github_token(self, access: Access, *, label: str) -> AbstractContextManager[str]:
        """A GitHub installation token for exactly ``access``, revoked at the block's end."""
        ...

    def services(self, access: Access, *, label: str) -> AbstractContextManager[Services]:
        """Clients holding tokens for exactly ``access``, revoked at the block's end."""
        ...


class BrokerCredentials:
    def __init__(
        self, broker: CredentialBroker, settings: Settings, retrier: Retrier | None = None
    ) -> None:
        self.broker = broker
        self.settings = settings
        self.retrier = retrier

    @contextmanager
    def github_token(self, access: Access, *, label: str) -> Iterator[str]:
        with self.broker.request_credentials(access, label=label) as creds:
            if creds.github_token is None:
                raise CredentialError(
                    f"{label}: GitHub gave no token for {list(access.github_repositories)}; "
                    "does the repository exist and can the organisation's App reach it?"
                )
            yield creds.github_token.reveal()

    def services(self, access: Access, *, label: str) -> AbstractContextManager[Services]:
        return self.broker.request_services(
            access, self.settings, label=label, retrier=self.retrier
        )
