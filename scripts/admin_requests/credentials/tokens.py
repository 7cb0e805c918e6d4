"""A credential we minted and must end: it knows how to revoke itself.

Each issuer returns its own kind (``InstallationToken`` in github_app.py,
``AnacondaToken`` in anaconda_token.py, ``VaultToken`` in vault_backend.py); the broker
holds them without knowing which is which. ``revoke()`` ends the credential at its
issuer and records that in the ledger; as a context manager the token is revoked when
the block exits.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from types import TracebackType
from typing import ClassVar, Self

from admin_requests.credentials.ledger import CredentialLedger, CredentialRecord
from admin_requests.credentials.redact import Masker, Secret
from admin_requests.errors import CredentialError

log = logging.getLogger(__name__)


class MintedToken(ABC):
    """``secret`` to use; ``revoke()`` (or the end of its ``with``) to end it."""

    # Logged once revoked; {label} is the request's (or "job").
    ENDED: ClassVar[str]

    def __init__(
        self, secret: Secret, record: CredentialRecord, ledger: CredentialLedger, masker: Masker
    ) -> None:
        self.secret = secret
        self.record = record
        self._ledger = ledger
        self._masker = masker

    @abstractmethod
    def _end(self) -> None:
        """Ask the issuer to end the credential; CredentialError when it will not."""

    @property
    def revoked(self) -> bool:
        return self.record.revoked_at is not None

    def revoke(self) -> None:
        """End the credential; CredentialError (and no ledger entry) when the issuer refuses."""
        if self.revoked:
            return
        self._end()
        self._ledger.revoked(self.record)
        self.secret.clear()
        log.info("%s", self.ENDED.format(label=self.record.label))

    def close(self) -> None:
        """``revoke()``, logging a refusal instead of raising it."""
        try:
            self.revoke()
        except CredentialError as exc:
            # Logged, not raised: a failed revocation must not hide the request's own
            # outcome, and the token still expires (the ledger shows it as not revoked).
            log.error("%s", self._masker.redact(str(exc)))

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
