"""The anaconda.org API client: anaconda-client's ``binstar_client.Binstar``.

Every anaconda.org call the project makes is a ``Binstar`` method, so method, path,
payload and the statuses accepted are the official client's own: ``distribution``
(one file's metadata), ``package`` (every file of a package), ``add_channel``/
``remove_channel`` (a label on one file), ``copy``, and, in
credentials/anaconda_token.py, ``authenticate`` and ``remove_authentication`` (the
request's token is minted and deleted there). tests/services/test_anaconda_contract.py
checks it against binstar_client's source.

``Binstar`` builds its own ``requests.Session`` and sets no timeout and no retries.
``binstar`` below mounts ``ProjectAdapter`` on that session for http:// and https://,
so every request it sends gets the project's timeout and goes through the project's
``Retrier`` (connection errors, timeouts, 5xx, 429, ``Retry-After``). The token is the
``Authorization: token ...`` header ``Binstar`` sets once on the session: never on a
command line, in a URL or in a log. binstar_client's errors become the project's
(``NotFoundError``, ``AccessDeniedError``, ``ConflictError``...) here, at the edge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests
from binstar_client import Binstar
from binstar_client import errors as binstar_errors
from requests.adapters import HTTPAdapter

from admin_requests.config import Settings
from admin_requests.errors import (
    AccessDeniedError,
    ConflictError,
    NotFoundError,
    PermanentError,
    ServiceError,
    TransientError,
    UncertainWriteError,
)
from admin_requests.services.http import (
    Pacer,
    Retrier,
    RetryableFailure,
    never_connected,
    retryable,
)

log = logging.getLogger(__name__)
T = TypeVar("T")


def _where(request: requests.PreparedRequest) -> str:
    # Without the query string: it is where a careless caller would put a token.
    parts = urlsplit(request.url or "")
    return f"{request.method} {urlunsplit((parts.scheme, parts.netloc, parts.path, '', ''))}"


class ProjectAdapter(HTTPAdapter):
    """The transport under ``Binstar``'s session: the project's timeout and retries.

    ``creates_credential``: the session mints a token (``POST /authentications``). Such a
    call is retried only when it cannot have taken effect (no connection was made, or
    429): a retried 5xx or lost answer could leave a first token nobody knows of (it
    still expires by its ``max-age``).
    """

    def __init__(
        self,
        *,
        timeout: float,
        retrier: Retrier,
        creates_credential: bool = False,
        pacer: Pacer | None = None,
    ):
        super().__init__(max_retries=0)  # the Retrier retries; urllib3 must not as well
        self.timeout = timeout
        self.retrier = retrier
        self.creates_credential = creates_credential
        self.pacer = pacer

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        where = _where(request)

        def attempt() -> requests.Response:
            if self.pacer is not None:
                self.pacer.take_slot()  # every call, under the modelled limit
            try:
                response = super(ProjectAdapter, self).send(
                    request,
                    stream=stream,
                    timeout=self.timeout if timeout is None else timeout,
                    verify=verify,
                    cert=cert,
                    proxies=proxies,
                )
            except requests.ConnectTimeout:
                raise RetryableFailure(f"no connection within {self.timeout}s") from None
            except (requests.ConnectionError, requests.Timeout) as error:
                sent = not (isinstance(error, requests.ConnectionError) and never_connected(error))
                if self.creates_credential and sent:
                    raise UncertainWriteError(
                        f"{where} failed after sending ({type(error).__name__}); not retried, "
                        "as it may have created a token; the next run tries again"
                    ) from None
                raise RetryableFailure(f"no answer ({type(error).__name__})") from None
            status = response.status_code
            failure = retryable(status, response.headers, self.retrier.clock())
            # A refusal by a rate limit did nothing, so even a mint may be repeated.
            if failure is not None and (failure.rate_limited or not self.creates_credential):
                response.close()
                raise failure
            log.debug("%s -> %d", where, status)
            return response

        return self.retrier.run(attempt, where)


def anaconda_pacer(retrier: Retrier) -> Pacer | None:
    """Calls evenly spaced under the modelled limit (``anaconda_requests_per_minute``):
    anaconda.org publishes none, so the client stays under a conservative assumption
    rather than meet 429s (docs/performance.md). Items in threads share the slots."""
    per_minute = retrier.policy.anaconda_requests_per_minute
    if per_minute <= 0:
        return None
    return Pacer(60.0 / per_minute, sleep=retrier.sleep, clock=retrier.clock)


def binstar(
    api_url: str,
    token: str | None,
    *,
    timeout: float,
    retrier: Retrier,
    creates_credential: bool = False,
    pacer: Pacer | None = None,
) -> Binstar:
    """A ``Binstar`` for ``api_url`` whose session carries the project's timeout and retries."""
    client = Binstar(token=token, domain=api_url)
    adapter = ProjectAdapter(
        timeout=timeout, retrier=retrier, creates_credential=creates_credential, pacer=pacer
    )
    client.session.mount("https://", adapter)
    client.session.mount("http://", adapter)
    return client


def translated(what: str, call: Callable[[], T]) -> T:
    """``call()``, with binstar_client's errors raised as the project's named ones.

    binstar_client raises on any status its method does not accept; its message is the
    service's ``error`` field or a line naming method, URL and status (no token: that
    is a header).
    """
    try:
        return call()
    except binstar_errors.BinstarError as error:
        message = str(error.args[0]) if error.args else type(error).__name__
        raise service_error(binstar_status(error), what, message) from None


# binstar_client's error classes by the status they stand for; its ``copy`` re-raises a
# 409 as ``Conflict`` with a message only, so the class is what tells.
_STATUS_OF_CLASS: tuple[tuple[type[binstar_errors.BinstarError], int], ...] = (
    (binstar_errors.NotFound, 404),
    (binstar_errors.Unauthorized, 401),
    (binstar_errors.Conflict, 409),
    (binstar_errors.ServerError, 500),
)


def binstar_status(error: binstar_errors.BinstarError) -> int | None:
    """The HTTP status behind a binstar_client error (it passes it as the second arg)."""
    if len(error.args) > 1 and isinstance(error.args[1], int):
        return error.args[1]
    for cls, status in _STATUS_OF_CLASS:
        if isinstance(error, cls):
            return status
    return None


def service_error(status: int | None, what: str, message: str) -> ServiceError:
    if status == 404:
        return NotFoundError(f"{what}: not found (404): {message}", status=status)
    if status in (401, 403):
        return AccessDeniedError(
            f"{what}: access denied ({status}): {message}; the token is missing, expired or "
            "lacks the scope; check the credentials this request was given.",
            status=status,
        )
    if status == 409:
        return ConflictError(f"{what}: conflict (409): {message}", status=status)
    if status is not None and status >= 500:
        # Only a call that is not retried (a mint) gets here with a 5xx.
        return TransientError(f"{what}: failed ({status}): {message}", status=status)
    return PermanentError(f"{what}: refused ({status}): {message}", status=status)


@dataclass(frozen=True)
class Distribution:
    """One artifact file as anaconda.org describes it: ``GET /dist/...`` for one file, and
    each entry of ``files`` in ``GET /package/<owner>/<name>`` (``package_files``)."""

    owner: str
    package: str
    version: str
    basename: str  # "subdir/name-version-build.ext"
    sha256: str
    labels: frozenset[str]
    upload_time: datetime | None = None

    @property
    def subdir(self) -> str:
        return self.basename.partition("/")[0]

    def labelled(self, labels: frozenset[str]) -> Distribution:
        """This file with ``labels`` instead (after a label write: memos stay right)."""
        return replace(self, labels=labels)


class AnacondaClient:
    """anaconda.org for one run; ``token`` may be None for read-only public calls."""

    def __init__(
        self,
        settings: Settings,
        token: str | None,
        *,
        retrier: Retrier | None = None,
    ) -> None:
        self.settings = settings
        self.retrier = retrier or Retrier()
        self.pacer = anaconda_pacer(self.retrier)
        self.api = binstar(
            settings.anaconda_api_url,
            token,
            timeout=settings.http_timeout_seconds,
            retrier=self.retrier,
            pacer=self.pacer,
        )

    def __repr__(self) -> str:  # never show the session's headers
        return f"AnacondaClient({self.settings.anaconda_api_url!r})"

    def distribution(
        self, owner: str, package: str, version: str, basename: str
    ) -> Distribution | None:
        """The file's metadata (sha256, labels), or None when it is not there."""
        try:
            data = translated(
                f"GET dist {owner}/{package}/{version}/{basename}",
                lambda: self.api.distribution(owner, package, version, basename),
            )
        except NotFoundError:
            return None
        return _distribution(owner, package, version, basename, data)

    def package_files(self, owner: str, package: str) -> list[Distribution] | None:
        """Every file of ``owner``'s package in one call, or None when there is no such
        package: ``Binstar.package`` (``GET /package/<owner>/<name>``), whose ``files``
        hold each file as ``/dist`` describes it (basename, version, labels, sha256,
        upload_time...).

        Where that is written down: binstar_client reads ``files[...]['basename']``,
        ``['version']`` and ``['upload_time']`` of this answer (commands/download.py
        ``list_files``; tests/utils/notebook/test_downloader.py has one such entry, with
        upload_time as ``2015-04-02 22:32:31.253000+00:00``). No anaconda-client or
        conda-forge code reads ``labels`` of this answer (conda-forge reads labels per
        file, from ``/dist``: conda-forge-webservices feedstock_outputs.py,
        conda-forge-ci-setup upload_or_check_non_existence.py): that its files carry
        them as ``/dist`` does rests on third-party code reading these same records
        (``labels``, ``attrs.subdir``, ``attrs.build_number``), not on a published
        description. The
        status page's OCI mirror freshness, and broken/not_broken (one read per
        package instead of one per file), read it.
        """
        try:
            data = translated(
                f"GET package {owner}/{package}", lambda: self.api.package(owner, package)
            )
        except NotFoundError:
            return None
        files = data.get("files") if isinstance(data, dict) else None
        if not isinstance(files, list):
            raise PermanentError(f"GET package {owner}/{package}: the answer has no 'files' list")
        return [
            _distribution(owner, package, str(f.get("version", "")), str(f["basename"]), f)
            for f in files
            if isinstance(f, dict) and f.get("basename")
        ]

    def add_label(self, owner: str, label: str, package: str, version: str, basename: str) -> None:
        translated(
            f"add label {label!r} to {owner}/{basename}",
            lambda: self.api.add_channel(
                label, owner, package=package, version=version, filename=basename
            ),
        )

    def remove_label(
        self, owner: str, label: str, package: str, version: str, basename: str
    ) -> None:
        translated(
            f"remove label {label!r} from {owner}/{basename}",
            lambda: self.api.remove_channel(
                label, owner, package=package, version=version, filename=basename
            ),
        )

    def copy(
        self,
        owner: str,
        package: str,
        version: str,
        basename: str,
        *,
        to_owner: str,
        from_label: str = "main",
        to_label: str = "main",
    ) -> None:
        """Copy one file to ``to_owner`` under ``to_label``; ConflictError when it is there."""
        translated(
            f"copy {owner}/{basename} to {to_owner}",
            lambda: self.api.copy(
                owner,
                package,
                version,
                basename,
                to_owner=to_owner,
                from_label=from_label,
                to_label=to_label,
            ),
        )


def _distribution(
    owner: str, package: str, version: str, basename: str, data: dict[str, Any]
) -> Distribution:
    labels = data.get("labels")
    return Distribution(
        owner,
        package,
        version,
        str(data.get("basename", basename)),
        str(data.get("sha256", "")),
        frozenset(str(x) for x in labels) if isinstance(labels, list) else frozenset(),
        upload_time(data.get("upload_time")),
    )


def upload_time(raw: object) -> datetime | None:
    """anaconda.org's ``upload_time`` ("2015-04-02 22:32:31.253000+00:00"), or None when
    it is absent or unreadable; a time without a zone is taken as UTC."""
    if not raw:
        return None
    try:
        at = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
