"""Per-request credentials from a vault, through the job's GitHub OIDC token.

The queue runner opens one broker per job and asks it for credentials per request::

    with open_broker(settings, CredentialSettings.from_environ()) as broker:
        for request in queue:
            with broker.request_credentials(kind.access(model, services), label=path) as creds:
                ...  # creds.github_token / creds.anaconda_token, both Secret or None
        summary = broker.ledger.summary()

Inside the ``with``, the request has a GitHub installation token limited to its
repositories and permissions and an anaconda.org token limited to its scopes (15
minutes at most); both are revoked when the block exits, whatever happened in it. At the
broker's exit the vault token is revoked. Nothing is kept for the next job.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

import requests

from admin_requests.access import Access
from admin_requests.config import Settings
from admin_requests.credentials.anaconda_token import AnacondaTokens
from admin_requests.credentials.azure import AzureFederatedTokens
from admin_requests.credentials.backend import CredentialBackend
from admin_requests.credentials.github_app import GitHubAppTokens
from admin_requests.credentials.ledger import CredentialLedger, CredentialRecord
from admin_requests.credentials.oidc import OidcRequester
from admin_requests.credentials.redact import Masker, Secret, install_redaction
from admin_requests.credentials.settings import (
    ANACONDA_CREDENTIAL_KEY,
    GITHUB_APP_ID_KEY,
    GITHUB_INSTALLATION_ID_KEY,
    GITHUB_INSTALLATIONS_TOKEN_KEY,
    CredentialSettings,
)
from admin_requests.errors import CredentialConfigError, CredentialError, RepositoriesRefusedError
from admin_requests.services.http import Retrier

if TYPE_CHECKING:
    from admin_requests.services import Services

__all__ = [
    "CredentialBroker",
    "CredentialLedger",
    "CredentialRecord",
    "CredentialSettings",
    "Masker",
    "RequestCredentials",
    "Secret",
    "build_backend",
    "open_broker",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RequestCredentials:
    """What one request may use; both tokens are revoked when its ``with`` exits."""

    label: str
    access: Access
    github_token: Secret | None
    anaconda_token: Secret | None
    # One installation token per Access.github_extra grant, with its repositories.
    github_extra: tuple[tuple[tuple[str, ...], Secret], ...] = ()
    # Not revocable (Entra ID) or not ours to revoke (the installations credential):
    # both are cleared when the block exits.
    azure_token: Secret | None = None
    installations_token: Secret | None = None


def _oidc_requester(
    settings: CredentialSettings,
    masker: Masker,
    session: requests.Session,
    retrier: Retrier | None,
) -> OidcRequester:
    """The job's ID-token requester; its request token is masked from the start."""
    return OidcRequester(
        settings.oidc_request_url,
        masker.register(settings.oidc_request_token),
        session,
        masker,
        settings.http_timeout_seconds,
        retrier,
    )


def build_backend(
    settings: CredentialSettings,
    masker: Masker,
    session: requests.Session,
    retrier: Retrier | None = None,
) -> CredentialBackend:
    if settings.backend == "env":
        from admin_requests.credentials.env import EnvBackend

        return EnvBackend(settings, masker)
    if not settings.oidc_request_url or not settings.oidc_request_token:
        raise CredentialConfigError(
            f"the {settings.backend!r} backend needs the job's OIDC token, but "
            "ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN are not set; give the job "
            "'permissions: id-token: write' (processing jobs only, never pull requests)"
        )
    oidc = _oidc_requester(settings, masker, session, retrier)
    if settings.backend == "aws":
        from admin_requests.credentials.aws import AwsBackend

        return AwsBackend(settings, oidc, masker)
    from admin_requests.credentials.vault import VaultClient
    from admin_requests.credentials.vault_backend import VaultBackend

    client = VaultClient(
        settings.vault_addr,
        session=session,
        masker=masker,
        namespace=settings.vault_namespace,
        timeout=settings.http_timeout_seconds,
        retrier=retrier,
    )
    return VaultBackend(settings, client, oidc)


class CredentialBroker:
    def __init__(
        self,
        *,
        backend: CredentialBackend,
        settings: CredentialSettings,
        github_api_url: str,
        anaconda_api_url: str,
        masker: Masker,
        session: requests.Session,
        ledger: CredentialLedger | None = None,
        retrier: Retrier | None = None,
        azure: AzureFederatedTokens | None = None,
    ) -> None:
        self.backend = backend
        self._azure = azure
        self._retrier = retrier
        self.settings = settings
        self.masker = masker
        self.ledger = ledger or CredentialLedger()
        self._session = session
        self._github_api_url = github_api_url
        self._anaconda = AnacondaTokens(
            api_url=anaconda_api_url,
            session=session,
            masker=masker,
            ledger=self.ledger,
            max_age_seconds=settings.anaconda_token_max_age,
            timeout=settings.http_timeout_seconds,
            clock=self.ledger.clock,
            retrier=retrier,
        )
        self._github: GitHubAppTokens | None = None
        self._started = False
        # Tokens handed out and not yet revoked: close() revokes any a request left.
        self._live: dict[int, tuple[str, Secret, CredentialRecord]] = {}

    # -- job lifetime ----------------------------------------------------------------

    def __enter__(self) -> CredentialBroker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        self.backend.start(self.ledger)
        self._started = True
        try:
            self._configure_github_app()
        except BaseException:
            # __exit__ does not run when __enter__ fails: revoke the login here.
            self.close()
            raise
        log.info("credential broker ready (backend %r)", self.backend.name)

    def _configure_github_app(self) -> None:
        app_id = self.settings.github_app_id
        installation_id = self.settings.github_installation_id
        if not (app_id and installation_id):
            # The ids are not secret, but they sit beside the organisation credential,
            # which is cleared here unused: it is read again only to mint.
            entries = self.backend.read_job_secret()
            app_id = app_id or _reveal_and_clear(entries.get(GITHUB_APP_ID_KEY))
            installation_id = installation_id or _reveal_and_clear(
                entries.get(GITHUB_INSTALLATION_ID_KEY)
            )
            _clear_all(entries)
        if app_id and installation_id:
            self._github = GitHubAppTokens(
                api_url=self._github_api_url,
                app_id=app_id,
                installation_id=installation_id,
                sign=self.backend.sign_rs256,
                session=self._session,
                masker=self.masker,
                ledger=self.ledger,
                timeout=self.settings.http_timeout_seconds,
                clock=self.ledger.clock,
                retrier=self._retrier,
            )

    def close(self) -> None:
        """Revoke everything still live, then the backend's own session."""
        for kind, token, record in list(self._live.values()):
            self._revoke(kind, token, record)
        if self._started:
            self._started = False
            try:
                self.backend.close(self.ledger)
            except CredentialError as exc:
                log.error("%s", self.masker.redact(str(exc)))
        log.info("credentials: %s", self.ledger.summary())

    # -- per request -----------------------------------------------------------------

    @contextmanager
    def request_credentials(self, access: Access, *, label: str) -> Iterator[RequestCredentials]:
        """Mint exactly what ``access`` allows; revoke it when the block exits."""
        if not self._started:
            raise CredentialError(
                "the credential broker was not started; use it as 'with open_broker(...) "
                "as broker:'"
            )
        github_token = anaconda_token = azure_token = installations_token = None
        extra: list[tuple[tuple[str, ...], Secret]] = []
        minted_before = set(self._live)
        try:
            if access.github_permissions or access.github_repositories:
                github_token = self._mint_github(access, label)
            for grant in access.github_extra:
                narrow = Access(
                    github_repositories=grant.repositories, github_permissions=grant.permissions
                )
                grant_token = self._mint_github(narrow, label)
                if grant_token is not None:
                    extra.append((grant.repositories, grant_token))
            if access.anaconda_scopes:
                anaconda_token = self._mint_anaconda(access, label)
            if access.azure_devops:
                azure_token = self._mint_azure(label)
            if access.github_app_installations:
                installations_token = self._read_installations_token(label)
            yield RequestCredentials(
                label,
                access,
                github_token,
                anaconda_token,
                tuple(extra),
                azure_token=azure_token,
                installations_token=installations_token,
            )
        finally:
            # Everything minted inside this block, newest first, whatever happened.
            for key in reversed([k for k in self._live if k not in minted_before]):
                self._revoke(*self._live[key])
            for secret in (azure_token, installations_token):
                if secret is not None:
                    secret.clear()

    @contextmanager
    def request_services(
        self,
        access: Access,
        settings: Settings,
        *,
        label: str,
        default_github_token: str = "",
        retrier: Retrier | None = None,
    ) -> Iterator[Services]:
        """``request_credentials`` wrapped in the clients a kind's ``execute`` takes.

        ``default_github_token`` (the job's GITHUB_TOKEN) is used only when ``access``
        asks for nothing on GitHub, so the bundle always has a GitHub client.
        """
        from admin_requests.services import AppInstallationsClient, AzureDevOpsClient, Services
        from admin_requests.services.smithy import CondaSmithyRerenderer

        with self.request_credentials(access, label=label) as creds:
            github_token = creds.github_token.reveal() if creds.github_token else ""
            if not github_token and not default_github_token:
                raise CredentialConfigError(
                    f"request {label!r} needs no GitHub access and no default_github_token "
                    "was given; pass the job's GITHUB_TOKEN for read-only calls"
                )
            retrier = retrier or self._retrier
            services = Services.build(
                settings,
                github_token=github_token or default_github_token,
                anaconda_token=creds.anaconda_token.reveal() if creds.anaconda_token else None,
                retrier=retrier,
            )
            for repositories, token in creds.github_extra:
                services.add_github_grant(repositories, token.reveal())
            if creds.azure_token is not None:
                services.azure_devops = AzureDevOpsClient(
                    settings, creds.azure_token.reveal(), retrier=retrier
                )
            if creds.installations_token is not None:
                services.app_installations = AppInstallationsClient(
                    settings, creds.installations_token.reveal(), retrier=retrier
                )
            if settings.conda_smithy and creds.github_token is not None:
                services.rerenderer = CondaSmithyRerenderer(
                    settings.conda_smithy,
                    f"{settings.git_base_url}/{settings.organisation}",
                    creds.github_token,
                )
            yield services

    def _mint_github(self, access: Access, label: str) -> Secret | None:
        """A token for ``access``; None when none of its repositories can be reached.

        GitHub refuses a whole token when one listed repository does not exist (a typo in
        a request), which would hold every other item hostage. Then each repository is
        probed with a token of its own (metadata only, revoked at once) and the token is
        minted for the reachable ones; the others' items fail on their own with "no such
        repository", which tells the requester what to fix.
        """
        if self._github is None:
            raise CredentialConfigError(
                f"request {label!r} needs GitHub access but no App is configured; set "
                f"{GITHUB_APP_ID_KEY!r} and {GITHUB_INSTALLATION_ID_KEY!r} in the job's "
                "secret (or GITHUB_APP_ID / GITHUB_APP_INSTALLATION_ID)"
            )
        try:
            token, record = self._github.mint(access, label)
        except RepositoriesRefusedError:
            reachable = self._reachable_repositories(access.github_repositories, label)
            if set(reachable) == set(access.github_repositories):
                raise  # every repository is reachable: a permission was refused
            log.warning(
                "leaving %s out of the token for %s: the App cannot reach them (do they exist?)",
                ", ".join(r for r in access.github_repositories if r not in reachable),
                label,
            )
            if not reachable:
                return None
            narrowed = dataclasses.replace(access, github_repositories=tuple(reachable))
            token, record = self._github.mint(narrowed, label)
        self._live[id(record)] = ("github", token, record)
        return token

    def _reachable_repositories(self, repositories: tuple[str, ...], label: str) -> list[str]:
        assert self._github is not None
        reachable = []
        for repository in repositories:
            probe = Access(
                github_repositories=(repository,), github_permissions={"metadata": "read"}
            )
            try:
                token, record = self._github.mint(probe, f"{label} (is {repository} reachable?)")
            except RepositoriesRefusedError:
                continue
            self._revoke("github", token, record)
            reachable.append(repository)
        return reachable

    def _mint_anaconda(self, access: Access, label: str) -> Secret:
        # Read just in time and cleared by mint() right after its one use: the
        # organisation credential is never held across requests.
        entries = self.backend.read_job_secret()
        credential = entries.pop(ANACONDA_CREDENTIAL_KEY, None)
        _clear_all(entries)
        if credential is None:
            raise CredentialConfigError(
                f"the job's secret has no {ANACONDA_CREDENTIAL_KEY!r}; store the "
                "organisation's anaconda.org token there (see docs/security.md)"
            )
        token, record = self._anaconda.mint(credential, access.anaconda_scopes, label)
        self._live[id(record)] = ("anaconda", token, record)
        return token

    def _mint_azure(self, label: str) -> Secret | None:
        if self._azure is None:
            # Not an error here: the kind says plainly, per item, that Azure was skipped.
            log.warning(
                "request %s may need Azure DevOps, but no Azure federation is configured "
                "(AZURE_TENANT_ID, AZURE_CLIENT_ID)",
                label,
            )
            return None
        token, _ = self._azure.mint(label)
        return token

    def _read_installations_token(self, label: str) -> Secret:
        # Read just in time, like the anaconda.org credential, and cleared when the
        # request ends: no other request of the job can reach it.
        entries = self.backend.read_job_secret()
        credential = entries.pop(GITHUB_INSTALLATIONS_TOKEN_KEY, None)
        _clear_all(entries)
        if credential is None:
            raise CredentialConfigError(
                f"request {label!r} changes CI providers' App installations, but the job's "
                f"secret has no {GITHUB_INSTALLATIONS_TOKEN_KEY!r}; store the org admin "
                "token for installations there (see docs/security.md)"
            )
        log.info("read the installations credential for %s", label)
        return credential

    def _revoke(self, kind: str, token: Secret, record: CredentialRecord) -> None:
        self._live.pop(id(record), None)
        try:
            if kind == "github":
                assert self._github is not None
                self._github.revoke(token, record)
            else:
                self._anaconda.delete(token, record)
        except CredentialError as exc:
            # Logged, not raised: a failed revocation must not hide the request's own
            # outcome, and the token still expires (the ledger shows it as not revoked).
            log.error("%s", self.masker.redact(str(exc)))


def _reveal_and_clear(secret: Secret | None) -> str:
    if secret is None:
        return ""
    value = secret.reveal()
    secret.clear()
    return value


def _clear_all(entries: dict[str, Secret]) -> None:
    for secret in entries.values():
        secret.clear()
    entries.clear()


def open_broker(
    settings: Settings,
    credentials: CredentialSettings,
    *,
    session: requests.Session | None = None,
    masker: Masker | None = None,
    retrier: Retrier | None = None,
) -> CredentialBroker:
    """Build a broker from configuration; start it with ``with``."""
    masker = masker or Masker(in_actions=credentials.running_in_actions)
    install_redaction(masker)
    session = session or requests.Session()
    backend = build_backend(credentials, masker, session, retrier)
    ledger = CredentialLedger()
    return CredentialBroker(
        backend=backend,
        ledger=ledger,
        settings=credentials,
        github_api_url=settings.github_api_url,
        anaconda_api_url=settings.anaconda_api_url,
        masker=masker,
        session=session,
        retrier=retrier,
        azure=build_azure(credentials, masker, session, ledger, retrier),
    )


def build_azure(
    settings: CredentialSettings,
    masker: Masker,
    session: requests.Session,
    ledger: CredentialLedger,
    retrier: Retrier | None = None,
) -> AzureFederatedTokens | None:
    """Azure federation when its identifiers are configured (and the job has OIDC)."""
    if not (settings.azure_tenant_id and settings.azure_client_id):
        return None
    if not settings.oidc_request_url or not settings.oidc_request_token:
        raise CredentialConfigError(
            "AZURE_TENANT_ID/AZURE_CLIENT_ID are set but the job has no OIDC token "
            "(ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN): Azure is reached only through "
            "federation; give the processing job 'permissions: id-token: write'"
        )
    oidc = _oidc_requester(settings, masker, session, retrier)
    return AzureFederatedTokens(
        oidc=oidc,
        authority_url=settings.azure_authority_url,
        tenant_id=settings.azure_tenant_id,
        client_id=settings.azure_client_id,
        session=session,
        masker=masker,
        ledger=ledger,
        timeout=settings.http_timeout_seconds,
        clock=ledger.clock,
        retrier=retrier,
    )
