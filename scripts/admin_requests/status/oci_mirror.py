"""OCI mirror freshness: does the channel's OCI mirror keep up with anaconda.org?

conda-forge is mirrored as OCI artifacts to ``ghcr.io/channel-mirrors`` by
conda-incubator/conda-oci-mirror (run every six hours by channel-mirrors/mirrormirror's
``cron.yml``). Its naming rules (``conda_oci_mirror/package.py``, ``Package.upload`` and
``version_build_tag``; ``repo.py``, ``get_existing_tags``):

- one repository per channel, subdir and package: ``<namespace>/<channel>/<subdir>/<name>``,
  with ``zzz`` put before a name that starts with ``_`` (``_openmp_mutex`` is
  ``zzz_openmp_mutex``);
- one tag per artifact: ``<version>-<build>`` with ``+`` written ``__p__``, ``!``
  ``__e__`` and ``=`` ``__eq__`` (OCI tags allow none of them). A ``.conda`` and a
  ``.tar.bz2`` of the same build share the tag.

For each configured sentinel package the page reads the package's files on anaconda.org
(one call: ``GET /package/<owner>/<name>``, anaconda-client's ``Binstar.package``) and
the tags of its repository in the mirror through the OCI distribution API
(``GET /v2/<name>/tags/list``, following ``Link: <...>; rel="next"`` pages). ghcr.io
answers even a public repository's first call with ``401`` and a ``WWW-Authenticate:
Bearer realm=...,service=...,scope=...`` challenge: the client fetches an anonymous
pull token from that realm (the distribution token specification) and repeats the
call with it. The realm and service are remembered, so the next repository's token is
fetched before its first call: calls per package are 1 on anaconda.org plus 2 on the
registry (token, tags) and 1 more for the very first challenge; more only for extra
pages of tags. Plain HTTP with ``requests``: no oras at run time.

A package is *mirrored* when the newest artifact of its subdir on the channel (``main``
label) has its tag in the mirror, *pending* when the artifacts missing from the mirror
are all younger than the grace period (the mirror runs every six hours), and *lagging*
otherwise, since the upload of the oldest artifact it misses after the newest it has.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urljoin, urlsplit

import requests
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from admin_requests.errors import (
    AccessDeniedError,
    PermanentError,
    StatusConfigError,
    TransientError,
)
from admin_requests.queue.state import format_time
from admin_requests.services.http import Retrier, RetryableFailure, permanent_error, retryable
from admin_requests.status.model import SourceStatus, parse_time

if TYPE_CHECKING:
    from admin_requests.services.anaconda import Distribution

log = logging.getLogger(__name__)

# conda_oci_mirror/defaults.py DEFAULT_SUBDIRS: the subdirs the mirror copies.
MIRRORED_SUBDIRS = (
    "linux-64",
    "osx-64",
    "osx-arm64",
    "win-64",
    "linux-aarch64",
    "linux-ppc64le",
    "noarch",
)
CHANNEL_LABEL = "main"  # what the channel serves (repodata.json), hence what is mirrored
EXTENSIONS = (".conda", ".tar.bz2")
PACKAGE_NAME = re.compile(r"^[a-z0-9_][a-z0-9_.+-]*$")
MAX_TAG_PAGES = 100  # a repository with more pages of tags than this is an anomaly
STATES = ("mirrored", "pending", "lagging", "unknown")


# -- naming (conda_oci_mirror/package.py) ---------------------------------------------


def version_build_tag(tag: str) -> str:
    """conda-oci-mirror's ``version_build_tag``: ``+``, ``!``, ``=`` are not OCI tag
    characters."""
    return tag.replace("+", "__p__").replace("!", "__e__").replace("=", "__eq__")


def repository_name(namespace: str, channel: str, subdir: str, package: str) -> str:
    """``Package.upload``'s repository: a leading ``_`` gets ``zzz`` before it."""
    name = f"zzz{package}" if package.startswith("_") else package
    return "/".join(part for part in (namespace, channel, subdir, name) if part)


def split_basename(basename: str) -> tuple[str, str, str, str]:
    """``linux-64/python-3.12.1-h0_1_cpython.conda`` -> (subdir, name, version, build)."""
    subdir, _, filename = basename.rpartition("/")
    stem = filename
    for extension in EXTENSIONS:
        if stem.endswith(extension):
            stem = stem[: -len(extension)]
            break
    else:
        raise ValueError(f"{basename!r} is not a .conda or .tar.bz2 file")
    parts = stem.rsplit("-", 2)
    if len(parts) != 3 or not all(parts) or not subdir:
        raise ValueError(f"{basename!r} is not 'subdir/name-version-build.ext'")
    return subdir, parts[0], parts[1], parts[2]


def tag_of(basename: str) -> str:
    """The mirror's tag for an artifact: ``Package.version_build_tag``."""
    _, _, version, build = split_basename(basename)
    return version_build_tag(f"{version}-{build}")


# -- configuration (.github/status-page.yml, key oci_mirror) -----------------------------


@dataclass(frozen=True)
class Sentinel:
    name: str
    subdir: str | None = None  # None: the subdir of its newest artifact


DEFAULT_SENTINELS = (
    Sentinel("python"),
    Sentinel("numpy"),
    Sentinel("openssl"),
    Sentinel("ca-certificates"),
    Sentinel("conda"),
    Sentinel("_openmp_mutex"),  # the zzz rule
)


@dataclass(frozen=True)
class OciMirrorSource:
    registry: str = "https://ghcr.io/channel-mirrors"  # base URL and namespace
    channel: str = "conda-forge"  # the anaconda.org owner mirrored
    packages: tuple[Sentinel, ...] = DEFAULT_SENTINELS
    grace: timedelta = timedelta(hours=12)  # two of the mirror's six-hourly runs

    @property
    def base_url(self) -> str:
        parts = urlsplit(self.registry)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def namespace(self) -> str:
        return urlsplit(self.registry).path.strip("/")

    @property
    def display(self) -> str:
        """``ghcr.io/channel-mirrors``: the registry as people write it."""
        parts = urlsplit(self.registry)
        return f"{parts.netloc}{parts.path.rstrip('/')}"


def parse_oci_mirror(value: Any, path: str, node: Node | None = None) -> OciMirrorSource | None:
    """The ``oci_mirror`` mapping of the status page configuration (null turns it off).

    ``node`` is its located YAML (validation.source), so an error names its line."""
    from admin_requests.status.config import parse_cadence

    if value is None:
        return None
    where = _where(path, node)
    keys = {"registry", "channel", "packages", "grace"}
    if not isinstance(value, dict) or set(value) - keys:
        raise StatusConfigError(
            f"{where}: 'oci_mirror' takes {sorted(keys)!r}, e.g. registry: "
            "https://ghcr.io/channel-mirrors"
        )
    default = OciMirrorSource()
    registry = str(value.get("registry", default.registry)).rstrip("/")
    parts = urlsplit(registry)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query:
        raise StatusConfigError(
            f"{_where(path, _child(node, 'registry'))}: 'oci_mirror.registry' {registry!r} is "
            "not a URL: write e.g. 'https://ghcr.io/channel-mirrors' (the registry and the "
            "mirror's namespace)"
        )
    packages = default.packages
    if "packages" in value:
        listed = _child(node, "packages")
        entries = _entries(value["packages"], _where(path, listed))
        items = listed.value if isinstance(listed, SequenceNode) else []
        packages = tuple(
            _sentinel(entry, _where(path, items[i] if i < len(items) else listed))
            for i, entry in enumerate(entries)
        )
    grace = default.grace
    if "grace" in value:
        try:
            grace = parse_cadence(str(value["grace"]))
        except StatusConfigError as error:
            where_grace = _where(path, _child(node, "grace"))
            raise StatusConfigError(f"{where_grace}: 'oci_mirror.grace': {error}") from None
    return OciMirrorSource(registry, str(value.get("channel", default.channel)), packages, grace)


def _child(node: Node | None, key: str) -> Node | None:
    if not isinstance(node, MappingNode):
        return node
    return next((v for k, v in node.value if k.value == key), node)


def _where(path: str, node: Node | None) -> str:
    return f"{path}, line {node.start_mark.line + 1}" if node is not None else path


def _entries(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise StatusConfigError(
            f"{where}: 'oci_mirror.packages' must be a list of package names, e.g. [python, numpy]"
        )
    return value


def _sentinel(entry: Any, where: str) -> Sentinel:
    if isinstance(entry, str):
        entry = {"name": entry}
    if not isinstance(entry, dict) or set(entry) - {"name", "subdir"} or "name" not in entry:
        raise StatusConfigError(
            f"{where}: each of 'oci_mirror.packages' is a package name or "
            f"{{name: ..., subdir: ...}}, not {entry!r}"
        )
    name, subdir = str(entry["name"]), entry.get("subdir")
    if not PACKAGE_NAME.match(name):
        raise StatusConfigError(
            f"{where}: 'oci_mirror.packages': {name!r} is not a package name (lower case "
            "letters, digits, '_', '.', '+' and '-')"
        )
    if subdir is not None and subdir not in MIRRORED_SUBDIRS:
        raise StatusConfigError(
            f"{where}: 'oci_mirror.packages': subdir {subdir!r} of {name!r} is not one the "
            f"mirror copies; use one of {list(MIRRORED_SUBDIRS)!r}"
        )
    return Sentinel(name, subdir)


# -- the registry: OCI distribution API reads over plain HTTP -----------------------------


CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def parse_challenge(header: str) -> dict[str, str] | None:
    """``Bearer realm="...",service="...",scope="..."`` as a mapping; None if not Bearer."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return {key.lower(): value for key, value in CHALLENGE_PARAM.findall(rest)}


def next_page(headers: Mapping[str, str], url: str) -> str | None:
    """The ``Link: <...>; rel="next"`` of a tags page (RFC 5988), as an absolute URL."""
    link = headers.get("Link") or headers.get("link")
    match = NEXT_LINK.search(link or "")
    return urljoin(url, match.group(1)) if match else None


class RegistryClient:
    """Anonymous pull reads of one OCI registry (the tags of a repository).

    Every call has the project's timeout and goes through its ``Retrier`` (connection
    errors, timeouts, 5xx, 429 with ``Retry-After``). Tokens are held only in memory
    and never logged; ``calls`` counts every HTTP request, token requests included.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        retrier: Retrier | None = None,
        session: requests.Session | None = None,
        page_size: int | None = None,  # ?n= of tags/list; None: the registry's own
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.page_size = page_size
        self.timeout = timeout
        self.retrier = retrier or Retrier()
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = "admin-requests status"
        self.calls = 0
        self._challenge: dict[str, str] | None = None  # realm and service, once seen
        self._tokens: dict[str, str] = {}  # scope -> token
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never show tokens
        return f"RegistryClient({self.base_url!r})"

    def tags(self, repository: str) -> list[str] | None:
        """Every tag of ``repository``; None when the registry has no such repository."""
        scope = f"repository:{repository}:pull"
        first = f"{self.base_url}/v2/{repository}/tags/list"
        if self.page_size is not None:
            first += f"?n={self.page_size}"
        url: str | None = first
        found: list[str] = []
        pages = 0
        while url is not None:
            pages += 1
            if pages > MAX_TAG_PAGES:
                raise PermanentError(
                    f"GET {self.base_url}/v2/{repository}/tags/list: more than "
                    f"{MAX_TAG_PAGES} pages of tags; the registry's Link header loops"
                )
            response = self._get(url, scope, f"tags of {repository}")
            if response is None:
                return None
            body = _json_of(response, f"GET {url}")
            tags = body.get("tags") if isinstance(body, dict) else None
            if tags is not None and not (
                isinstance(tags, list) and all(isinstance(t, str) for t in tags)
            ):
                raise PermanentError(f"GET {url}: 'tags' is not a list of strings")
            found.extend(tags or [])  # an empty repository may answer "tags": null
            url = next_page(response.headers, url)
            if url is not None and urlsplit(url).netloc != urlsplit(self.base_url).netloc:
                # The pull token is the registry's: it goes nowhere else.
                raise PermanentError(
                    f"GET {first}: the next page of tags is on another host ({url!r})"
                )
        return found

    def _get(self, url: str, scope: str, what: str) -> requests.Response | None:
        """GET with the pull token for ``scope``, answering one challenge; None on 404."""
        token = self._token_for(scope) if self._challenge is not None else None
        response = self._send(url, token)
        if response.status_code == 401:
            challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
            if challenge is None or "realm" not in challenge:
                raise AccessDeniedError(
                    f"GET {url}: 401 without a Bearer challenge; the registry wants "
                    "credentials this page does not have",
                    status=401,
                )
            with self._lock:
                self._challenge = {k: v for k, v in challenge.items() if k != "scope"}
                self._tokens.pop(scope, None)
            token = self._token_for(challenge.get("scope") or scope)
            response = self._send(url, token)
        status = response.status_code
        if status < 300:
            return response
        if status == 404:
            return None
        raise permanent_error(status, f"GET {url} ({what})", _oci_message(response))

    def _token_for(self, scope: str) -> str:
        with self._lock:
            known = self._tokens.get(scope)
            challenge = dict(self._challenge or {})
        if known is not None:
            return known
        realm = challenge.get("realm", "")
        if urlsplit(realm).scheme not in ("https", "http"):
            raise AccessDeniedError(f"the registry's token realm {realm!r} is not a URL")
        params = {"scope": scope}
        if challenge.get("service"):
            params["service"] = challenge["service"]
        response = self._send(realm, None, params)
        if response.status_code >= 300:
            raise permanent_error(
                response.status_code, f"GET {realm} (a pull token)", _oci_message(response)
            )
        body = _json_of(response, f"GET {realm}")
        token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise PermanentError(f"GET {realm}: the answer has no 'token'")
        with self._lock:
            self._tokens[scope] = token
        return token

    def _send(
        self, url: str, token: str | None, params: Mapping[str, str] | None = None
    ) -> requests.Response:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        where = f"GET {urlsplit(url)._replace(query='').geturl()}"

        def attempt() -> requests.Response:
            with self._lock:
                self.calls += 1
            try:
                response = self.session.get(
                    url, params=params, headers=headers, timeout=self.timeout
                )
            except requests.Timeout:
                raise RetryableFailure(f"no answer within {self.timeout}s") from None
            except requests.ConnectionError as error:
                raise RetryableFailure(f"connection failed ({type(error).__name__})") from None
            failure = retryable(response.status_code, response.headers, self.retrier.clock())
            if failure is not None:
                response.close()
                raise failure
            log.debug("%s -> %d", where, response.status_code)
            return response

        return self.retrier.run(attempt, where)


def _json_of(response: requests.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise PermanentError(f"{what}: the answer is not JSON") from None


def _oci_message(response: requests.Response) -> str:
    """The distribution spec's error body: ``{"errors": [{"code", "message"}]}``."""
    try:
        errors = response.json().get("errors") or []
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)[:300]
    except (ValueError, AttributeError):
        return response.reason or "no message"


# -- the channel (anaconda.org) -------------------------------------------------------------


class ChannelReads(Protocol):
    """anaconda.org's read of a package (AnacondaClient has it)."""

    def package_files(self, owner: str, package: str) -> list[Distribution] | None: ...


class TagReads(Protocol):
    calls: int

    def tags(self, repository: str) -> list[str] | None: ...


# -- what the page shows ------------------------------------------------------------------


@dataclass(frozen=True)
class PackageFreshness:
    name: str
    subdir: str | None
    repository: str | None  # in the registry: channel-mirrors/conda-forge/linux-64/python
    state: str  # STATES
    channel_newest: str | None = None  # basename of the newest artifact on the channel
    channel_newest_at: datetime | None = None
    mirror_newest: str | None = None  # the newest artifact whose tag the mirror has
    mirror_newest_at: datetime | None = None
    missing: int = 0  # artifacts newer than mirror_newest that the mirror lacks
    lagging_since: datetime | None = None  # upload of the oldest of those
    error: str | None = None
    as_of: datetime | None = None  # the data is the previous build's, read then

    def lag(self, now: datetime) -> timedelta | None:
        return None if self.lagging_since is None else max(now - self.lagging_since, timedelta())

    def to_dict(self, now: datetime) -> dict[str, Any]:
        lag = self.lag(now)
        return {
            "name": self.name,
            "subdir": self.subdir,
            "repository": self.repository,
            "state": self.state,
            "channel_newest": self.channel_newest,
            "channel_newest_at": format_time(self.channel_newest_at),
            "mirror_newest": self.mirror_newest,
            "mirror_newest_at": format_time(self.mirror_newest_at),
            "missing": self.missing,
            "lagging_since": format_time(self.lagging_since),
            "lag_seconds": None if lag is None else round(lag.total_seconds()),
            "error": self.error,
            "as_of": format_time(self.as_of),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PackageFreshness:
        state = str(data.get("state"))
        return cls(
            str(data["name"]),
            data.get("subdir"),
            data.get("repository"),
            state if state in STATES else "unknown",
            data.get("channel_newest"),
            parse_time(data.get("channel_newest_at")),
            data.get("mirror_newest"),
            parse_time(data.get("mirror_newest_at")),
            int(data.get("missing") or 0),
            parse_time(data.get("lagging_since")),
            data.get("error"),
            parse_time(data.get("as_of")),
        )


@dataclass(frozen=True)
class OciMirrorStatus:
    registry: str  # as configured (URL and namespace)
    channel: str
    grace: timedelta
    generated_at: datetime
    packages: tuple[PackageFreshness, ...] = ()
    calls: int = 0  # HTTP calls this build made for it (anaconda.org and the registry)

    @property
    def lagging(self) -> list[str]:
        return [p.name for p in self.packages if p.state == "lagging"]

    def to_dict(self) -> dict[str, Any]:
        counts = {state: sum(p.state == state for p in self.packages) for state in STATES}
        return {
            "registry": self.registry,
            "channel": self.channel,
            "grace_seconds": round(self.grace.total_seconds()),
            "calls": self.calls,
            "counts": counts,
            "packages": [p.to_dict(self.generated_at) for p in self.packages],
        }


def freshness(
    sentinel: Sentinel,
    files: Sequence[Distribution],
    tags: Sequence[str] | None,
    *,
    repository_of: Callable[[str], str],
    now: datetime,
    grace: timedelta,
) -> PackageFreshness:
    """How far the mirror's repository (its ``tags``; None: it has none) lags the
    channel's ``files`` of one package. Pure: tested directly."""
    newest_first = sorted(
        (f for f in files if CHANNEL_LABEL in f.labels and _subdir(f) in MIRRORED_SUBDIRS),
        key=lambda f: (f.upload_time or datetime.min.replace(tzinfo=UTC), f.basename),
        reverse=True,
    )
    subdir = sentinel.subdir or (_subdir(newest_first[0]) if newest_first else None)
    in_subdir = [f for f in newest_first if _subdir(f) == subdir]
    if subdir is None or not in_subdir:
        where = f" in {subdir}" if sentinel.subdir else ""
        return PackageFreshness(
            sentinel.name,
            subdir,
            None,
            "unknown",
            error=f"the channel has no file of {sentinel.name!r}{where} with the "
            f"{CHANNEL_LABEL!r} label",
        )
    present = set(tags or ())
    missing: list[Distribution] = []
    mirrored: Distribution | None = None
    for file in in_subdir:
        if _tag(file) in present:
            mirrored = file
            break
        missing.append(file)
    newest = in_subdir[0]
    since = missing[-1].upload_time if missing else None
    if not missing:
        state = "mirrored"
    elif since is not None and now - since <= grace:
        state = "pending"
    else:
        state = "lagging"
    return PackageFreshness(
        sentinel.name,
        subdir,
        repository_of(subdir),
        state,
        newest.basename,
        newest.upload_time,
        mirrored.basename if mirrored else None,
        mirrored.upload_time if mirrored else None,
        len(missing),
        since,
    )


def _subdir(file: Distribution) -> str:
    return file.subdir


def _tag(file: Distribution) -> str | None:
    try:
        return tag_of(file.basename)
    except ValueError:
        return None


class OciMirrorCollector:
    """Reads the sentinels' freshness; a source that fails keeps the previous build's
    data for its packages, marked with when that was read."""

    def __init__(
        self,
        source: OciMirrorSource,
        *,
        channel: ChannelReads | None,
        registry: TagReads,
    ) -> None:
        self.source = source
        self.channel = channel
        self.registry = registry
        self.channel_calls = 0  # package reads on anaconda.org (one HTTP call each)
        # A source still failing after its retries (down, or rate-limiting) is not
        # asked again in this build: every other call would wait and fail the same way.
        self.down: dict[str, str] = {}

    @property
    def channel_source(self) -> str:
        return f"anaconda.org ({self.source.channel})"

    @property
    def registry_source(self) -> str:
        return f"OCI mirror ({self.source.display})"

    def collect(
        self, now: datetime, previous: Mapping[str, Any] | None
    ) -> tuple[OciMirrorStatus, list[SourceStatus]]:
        previous = previous or {}
        before = _previous_packages(previous)
        previous_at = parse_time(previous.get("generated_at"))
        calls_before = self.registry.calls + self.channel_calls
        skipped: dict[str, int] = {}
        errors: dict[str, list[str]] = {self.channel_source: [], self.registry_source: []}
        packages = []
        for sentinel in self.source.packages:
            found, failed_source, error = self._package(sentinel, now)
            if error is not None:
                assert failed_source is not None
                if failed_source in self.down and error == self.down[failed_source]:
                    skipped[failed_source] = skipped.get(failed_source, 0) + 1
                else:
                    errors[failed_source].append(f"{sentinel.name}: {error}")
                found = _from_previous(sentinel, before.get(sentinel.name), error, previous_at)
            packages.append(found)
        status = OciMirrorStatus(
            self.source.registry,
            self.source.channel,
            self.source.grace,
            now,
            tuple(packages),
            self.registry.calls + self.channel_calls - calls_before,
        )
        for name, count in skipped.items():
            errors[name].append(f"{count} more package(s) not asked again in this build")
        sources = [
            _source_status(name, "; ".join(found) or None, now, previous)
            for name, found in errors.items()
        ]
        return status, sources

    def _package(
        self, sentinel: Sentinel, now: datetime
    ) -> tuple[PackageFreshness, str | None, str | None]:
        empty = PackageFreshness(sentinel.name, sentinel.subdir, None, "unknown")
        if self.channel is None:
            return empty, self.channel_source, "no anaconda.org client"
        if self.channel_source in self.down:
            return empty, self.channel_source, self.down[self.channel_source]
        self.channel_calls += 1
        try:
            files = self.channel.package_files(self.source.channel, sentinel.name)
        except Exception as exc:
            log.warning("cannot read %s on anaconda.org", sentinel.name, exc_info=True)
            return empty, self.channel_source, self._failed(self.channel_source, exc)
        if files is None:
            error = f"{self.source.channel!r} has no package {sentinel.name!r} on anaconda.org"
            return replace(empty, error=error), None, None
        subdir = sentinel.subdir or _newest_subdir(files)
        tags: list[str] | None = None
        if subdir is not None:
            if self.registry_source in self.down:
                return empty, self.registry_source, self.down[self.registry_source]
            repository = self._repository(subdir, sentinel.name)
            try:
                tags = self.registry.tags(repository)
            except Exception as exc:
                log.warning("cannot read the tags of %s", repository, exc_info=True)
                return empty, self.registry_source, self._failed(self.registry_source, exc)
        found = freshness(
            sentinel,
            files,
            tags,
            repository_of=lambda s: self._repository(s, sentinel.name),
            now=now,
            grace=self.source.grace,
        )
        return found, None, None

    def _failed(self, source: str, exc: Exception) -> str:
        if isinstance(exc, TransientError):
            self.down[source] = f"not asked again in this build: {source} failed first"
        return str(exc)

    def _repository(self, subdir: str, name: str) -> str:
        return repository_name(self.source.namespace, self.source.channel, subdir, name)


def _newest_subdir(files: Sequence[Distribution]) -> str | None:
    listed = [f for f in files if CHANNEL_LABEL in f.labels and _subdir(f) in MIRRORED_SUBDIRS]
    if not listed:
        return None
    newest = max(
        listed, key=lambda f: (f.upload_time or datetime.min.replace(tzinfo=UTC), f.basename)
    )
    return _subdir(newest)


def _previous_packages(previous: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    block = previous.get("oci_mirror")
    listed = block.get("packages") if isinstance(block, dict) else None
    if not isinstance(listed, list):
        return {}
    return {str(p["name"]): p for p in listed if isinstance(p, dict) and "name" in p}


def _from_previous(
    sentinel: Sentinel,
    before: dict[str, Any] | None,
    error: str,
    previous_at: datetime | None,
) -> PackageFreshness:
    if before is None or (before.get("state") == "unknown" and not before.get("as_of")):
        return PackageFreshness(sentinel.name, sentinel.subdir, None, "unknown", error=error)
    try:
        kept = PackageFreshness.from_dict(before)
    except (KeyError, TypeError, ValueError):
        return PackageFreshness(sentinel.name, sentinel.subdir, None, "unknown", error=error)
    return replace(kept, error=error, as_of=kept.as_of or previous_at)


def _source_status(
    name: str, error: str | None, now: datetime, previous: Mapping[str, Any]
) -> SourceStatus:
    """As ``OrganisationCollector._source``: failing since the first build that failed."""
    listed = previous.get("sources")
    before = next(
        (s for s in listed if isinstance(s, dict) and s.get("name") == name),
        None,
    ) if isinstance(listed, list) else None  # fmt: skip
    if error is None:
        return SourceStatus(name, True, last_ok=now)
    last_ok = parse_time(before.get("last_ok")) if before else None
    since = parse_time(before.get("failing_since")) if before else None
    return SourceStatus(name, False, error, since or now, last_ok)
