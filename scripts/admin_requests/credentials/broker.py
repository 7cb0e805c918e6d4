"""The job's credential broker: per request, exactly the tokens its Access allows.

The queue runner opens one broker per job (``open_broker`` in factories.py) and asks it
for credentials per request::

    with open_broker(settings, CredentialSettings.from_environ()) as broker:
        for request in queue:
            access = kind.access(model, lookup_services)
            with broker.request_services(access, settings, label=path) as services:
                ...  # clients holding the request's own tokens
        summary = broker.ledger.summary()

Inside the ``with``, the request has a GitHub installation token limited to its
repositories and permissions and an anaconda.org token limited to its scopes (15
minutes at most); both are revoked when the block exits, whatever happened in it. At the
broker's exit the backend's own session (the vault token) is revoked. Nothing is kept
for the next job.

A request that outlives its tokens (a big one) is not stuck with them: the services
say when the first of them is within ``RENEW_BEFORE`` of its end
(``Services.credentials_expiring``), and the queue then opens a fresh block, minting a
fresh set, for the items not started yet (queue/execute.py).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType

import requests

from admin_requests.access import Access, push_access
from admin_requests.config import Settings
from admin_requests.credentials.anaconda_token import AnacondaTokens
from admin_requests.credentials.azure import AzureFederatedTokens
from admin_requests.credentials.backend import CredentialBackend
from admin_requests.credentials.github_app import GitHubAppTokens
from admin_requests.credentials.ledger import CredentialLedger
from admin_requests.credentials.redact import Masker, Secret
from admin_requests.credentials.settings import (
    ANACONDA_PASSWORD_KEY,
    ANACONDA_USERNAME_KEY,
    CIRUN_API_KEY_KEY,
    GITHUB_APP_ID_KEY,
    GITHUB_INSTALLATION_ID_KEY,
    GITHUB_INSTALLATIONS_TOKEN_KEY,
    CredentialSettings,
)
from admin_requests.credentials.tokens import MintedToken
from admin_requests.errors import CredentialConfigError, CredentialError, RepositoriesRefusedError
from admin_requests.services import (
    AppInstallationsClient,
    AzureDevOpsClient,
    ChannelFiles,
    CirunClient,
    Services,
)
from admin_requests.services.http import Retrier
from admin_requests.services.rendered import RenderedPatches

log = logging.getLogger(__name__)

# A request's credentials are renewed (the queue asks for a fresh set) when the first of
# them has less than this left: more than any one item takes, short of the anaconda.org
# token's 15 minutes.
RENEW_BEFORE = timedelta(minutes=3)


@dataclass(frozen=True)
class RequestCredentials:
    """What one request may use; both tokens are revoked when its ``with`` exits."""

    label: str
    access: Access
    github_token: Secret | None
    anaconda_token: Secret | None
    # One installation token per Access.github_extra grant, with its repositories.
    github_extra: tuple[tuple[tuple[str, ...], Secret], ...] = ()
    # Not revocable (Entra ID) or not ours to revoke (the installations credential, the
    # Cirun API key): all are cleared when the block exits.
    azure_token: Secret | None = None
    installations_token: Secret | None = None
    cirun_api_key: Secret | None = None
    # When the first of the tokens minted for it expires (None: none expires).
    expires_at: datetime | None = None


class CredentialBroker:
    def __init__(
        self,
        *,
        backend: CredentialBackend,
        settings: CredentialSettings,
        github_api_url: str,
        anaconda_api_url: str,
        masker: Masker,
        anaconda_organisation: str = "conda-forge",
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
            organisation=anaconda_organisation,
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
        self._live: list[MintedToken] = []

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
            # The ids are not secret, but they sit beside the anaconda.org password,
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
        for token in list(self._live):
            self._end(token)
        if self._started:
            self._started = False
            try:
                self.backend.close(self.ledger)
            except CredentialError as exc:
                log.error("%s", self.masker.redact(str(exc)))
        log.info("credentials: %s", self.ledger.summary())

    # -- pushes ----------------------------------------------------------------------

    @contextmanager
    def push_token(self, repository: str, *, label: str) -> Iterator[str]:
        """An installation token that may push to ``repository`` (a name in the
        organisation) and nothing else, for one git command; revoked when the block exits.

        Pushes go through the organisation's App, not the job's GITHUB_TOKEN, because the
        App is the one actor the repository's ruleset lets past its pull-request rule
        (docs/security.md, W1); ``github-actions[bot]`` cannot be given that bypass. The
        token carries ``contents: write`` on this one repository only (GitHub adds
        ``metadata: read``), and the caller sends it in a header for that one command
        (git_auth.py), never in ``.git/config``. Feedstock creation's pushes to
        staged-recipes take the same path with their own repository name.
        """
        if not self._started:
            raise CredentialError(
                "the credential broker was not started; use it as 'with open_broker(...) "
                "as broker:'"
            )
        if self._github is None:
            raise CredentialConfigError(
                f"pushing to {repository!r} needs the organisation's App, but none is "
                f"configured; set {GITHUB_APP_ID_KEY!r} and {GITHUB_INSTALLATION_ID_KEY!r} in "
                "the job's secret (or GITHUB_APP_ID / GITHUB_APP_INSTALLATION_ID)"
            )
        if not repository or "/" in repository:
            raise CredentialConfigError(
                f"push_token({repository!r}): give the repository's name inside the "
                "organisation, e.g. 'admin-requests'"
            )
        access = push_access(repository)
        with ExitStack() as minted:
            secret = self._hand_out(self._github.mint(access, label), minted)
            assert secret is not None
            yield secret.reveal()

    # -- per request -----------------------------------------------------------------

    @contextmanager
    def request_credentials(self, access: Access, *, label: str) -> Iterator[RequestCredentials]:
        """Mint exactly what ``access`` allows; revoke it when the block exits."""
        if not self._started:
            raise CredentialError(
                "the credential broker was not started; use it as 'with open_broker(...) "
                "as broker:'"
            )
        github_token = anaconda_token = azure_token = installations_token = cirun_key = None
        extra: list[tuple[tuple[str, ...], Secret]] = []
        # The expiry of each token minted here: the request's credentials last until the
        # first of them ends.
        ends: list[datetime] = []
        # Unwinds newest first whatever happened: revokes what was minted inside this
        # block and clears what cannot be revoked.
        with ExitStack() as minted:
            if access.github_permissions or access.github_repositories:
                github_token = self._hand_out(self._mint_github(access, label), minted, ends)
            for grant in access.github_extra:
                narrow = Access(
                    github_repositories=grant.repositories, github_permissions=grant.permissions
                )
                grant_token = self._hand_out(self._mint_github(narrow, label), minted, ends)
                if grant_token is not None:
                    extra.append((grant.repositories, grant_token))
            if access.anaconda_scopes:
                anaconda_token = self._hand_out(self._mint_anaconda(access, label), minted, ends)
            if access.azure_devops:
                azure_token = self._mint_azure(label, ends)
                if azure_token is not None:
                    minted.callback(azure_token.clear)
            if access.github_app_installations:
                installations_token = self._read_organisation_credential(
                    GITHUB_INSTALLATIONS_TOKEN_KEY,
                    label,
                    what="changes CI providers' App installations",
                    fix="store the org admin token for installations there",
                )
                minted.callback(installations_token.clear)
            if access.cirun:
                cirun_key = self._read_organisation_credential(
                    CIRUN_API_KEY_KEY,
                    label,
                    what="changes who may use Cirun's runners",
                    fix="store the organisation's Cirun API key there",
                )
                minted.callback(cirun_key.clear)
            yield RequestCredentials(
                label,
                access,
                github_token,
                anaconda_token,
                tuple(extra),
                azure_token=azure_token,
                installations_token=installations_token,
                cirun_api_key=cirun_key,
                expires_at=min(ends, default=None),
            )

    def expiring(self, credentials: RequestCredentials) -> bool:
        """Whether ``credentials`` end within ``RENEW_BEFORE``: time to mint a fresh set.

        A GitHub installation token lives an hour and an anaconda.org token 15 minutes
        (``anaconda_token_max_age``); a big request outlives both, so the queue asks for
        a fresh set before they end instead of failing its items with a 401.
        """
        if credentials.expires_at is None:
            return False
        return self.ledger.clock() >= credentials.expires_at - RENEW_BEFORE

    def _hand_out(
        self, token: MintedToken | None, minted: ExitStack, ends: list[datetime] | None = None
    ) -> Secret | None:
        """Track ``token`` until it is revoked: by ``minted``'s unwinding, else ``close()``."""
        if token is None:
            return None
        if ends is not None:
            ends.append(token.record.expires_at)
        self._live.append(token)
        minted.callback(self._end, token)
        return token.secret

    def _end(self, token: MintedToken) -> None:
        if token in self._live:
            self._live.remove(token)
        token.close()  # a refusal is logged: the token still expires by itself

    @contextmanager
    def request_services(
        self,
        access: Access,
        settings: Settings,
        *,
        label: str,
        default_github_token: str = "",
        retrier: Retrier | None = None,
        channel_files: ChannelFiles | None = None,
    ) -> Iterator[Services]:
        """``request_credentials`` wrapped in the clients a kind's ``execute`` takes.

        ``default_github_token`` (the job's GITHUB_TOKEN) is used only when ``access``
        asks for nothing on GitHub, so the bundle always has a GitHub client.
        ``channel_files``: the run's package file lists (public data, no credential), so
        every scope of the run reads a package's files once; a fresh one by default.
        """
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
            if channel_files is not None:
                services.channel_files = channel_files
            for repositories, token in creds.github_extra:
                services.add_github_grant(repositories, token.reveal())
            if creds.azure_token is not None:
                # Other services: their own rate-limit state and pacing (Retrier.sibling).
                services.azure_devops = AzureDevOpsClient(
                    settings, creds.azure_token.reveal(), retrier=services.github.retrier.sibling()
                )
            if creds.installations_token is not None:
                services.app_installations = AppInstallationsClient(
                    settings, creds.installations_token.reveal(), retrier=retrier
                )
            if creds.cirun_api_key is not None:
                services.cirun = CirunClient(
                    settings,
                    creds.cirun_api_key.reveal(),
                    retrier=services.github.retrier.sibling(),
                )
            services.credentials_expiring = functools.partial(self.expiring, creds)
            if settings.rendered_dir and creds.github_token is not None:
                # Renderings made in the unprivileged render job: checked, then pushed
                # with this request's token. conda-smithy never runs in this job.
                services.rerenderer = RenderedPatches(
                    Path(settings.rendered_dir),
                    f"{settings.git_base_url}/{settings.organisation}",
                    creds.github_token,
                )
            yield services

    def _mint_github(self, access: Access, label: str) -> MintedToken | None:
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
            return self._github.mint(access, label)
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
            return self._github.mint(narrowed, label)

    def _reachable_repositories(self, repositories: tuple[str, ...], label: str) -> list[str]:
        assert self._github is not None
        reachable = []
        for repository in repositories:
            probe = Access(
                github_repositories=(repository,), github_permissions={"metadata": "read"}
            )
            try:
                with self._github.mint(probe, f"{label} (is {repository} reachable?)"):
                    pass  # revoked at once: it only proves the repository can be reached
            except RepositoriesRefusedError:
                continue
            reachable.append(repository)
        return reachable

    def _mint_anaconda(self, access: Access, label: str) -> MintedToken:
        # Read just in time and cleared by mint() right after their one use: the machine
        # account's username and password are never held across requests.
        entries = self.backend.read_job_secret()
        username = entries.pop(ANACONDA_USERNAME_KEY, None)
        password = entries.pop(ANACONDA_PASSWORD_KEY, None)
        _clear_all(entries)
        if username is None or password is None:
            for present in (username, password):
                if present is not None:
                    present.clear()
            raise CredentialConfigError(
                f"the job's secret has no {ANACONDA_USERNAME_KEY!r} and "
                f"{ANACONDA_PASSWORD_KEY!r}; store the anaconda.org machine account's "
                "username and password there (see docs/security.md)"
            )
        return self._anaconda.mint(username, password, access.anaconda_scopes, label)

    def _mint_azure(self, label: str, ends: list[datetime]) -> Secret | None:
        if self._azure is None:
            # Not an error here: the kind says plainly, per item, that Azure was skipped.
            log.warning(
                "request %s may need Azure DevOps, but no Azure federation is configured "
                "(AZURE_TENANT_ID, AZURE_CLIENT_ID)",
                label,
            )
            return None
        token, record = self._azure.mint(label)
        ends.append(record.expires_at)
        return token

    def _read_organisation_credential(self, key: str, label: str, *, what: str, fix: str) -> Secret:
        # Read just in time, like the anaconda.org password, and cleared when the
        # request ends: no other request of the job can reach it.
        entries = self.backend.read_job_secret()
        credential = entries.pop(key, None)
        _clear_all(entries)
        if credential is None:
            raise CredentialConfigError(
                f"request {label!r} {what}, but the job's secret has no {key!r}; {fix} "
                "(see docs/security.md)"
            )
        log.info("read %s for %s", key, label)
        return credential


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
