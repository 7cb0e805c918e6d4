"""A stateful fake of the anaconda.org API and its channel CDN.

::

    with FakeAnaconda() as ac:
        ac.add_file("conda-forge", "linux-64/foo-1.0-h0_0.conda", labels=["main"])
        ac.add_account("cf-machine", "its-password", organisations=["conda-forge"])
        ac.add_token("labels", scopes=["api:write"], owners=["conda-forge"])
        ...
        assert ac.file("conda-forge", "linux-64/foo-1.0-h0_0.conda").labels == {"main", "broken"}

Routes, as anaconda-client (``binstar_client.Binstar``) calls them and with the statuses
it accepts; auth is ``Authorization: token X`` except for minting
(tests/services/test_anaconda_contract.py checks them against binstar_client's source):

- ``GET /dist/{owner}/{name}/{version}/{subdir}/{filename}``: file metadata (public), 200
  (``distribution``): basename, version, sha256, md5, size, ``labels``, ``upload_time``
  in anaconda.org's ``2015-04-02 22:32:31.253000+00:00`` form (binstar_client's
  download.py parses it), and ``attrs`` (name, version, build, build_number, subdir:
  the package's index.json);
- ``GET /package/{owner}/{name}``: the package with every file (public), 200, 404 when
  there is none (``package``); ``files`` holds each file as ``/dist`` describes it;
- ``POST``/``DELETE /channels/{owner}/{label}`` with JSON ``{package, version, basename}``:
  add or remove a label on one file (needs ``api:write`` on ``owner``), 201
  (``add_channel``/``remove_channel``);
- ``POST /copy/package/{owner}/{name}/{version}/{subdir}/{filename}`` with JSON
  ``{to_owner, from_channel, to_channel}``: 200 with the copied files, 409 when the
  destination has the file (``copy``);
- ``POST /authentications`` with basic auth (an account's username and password; a
  token is refused, 401) and JSON ``{scopes, note, note_url, hostname, user, max-age,
  strength, fail-if-exists}``: 200 with a new token for ``user`` (an organisation the
  account belongs to; the account itself when null) that expires after ``max-age``
  seconds (``authenticate``). Keys binstar_client does not send (``fail_if_exists``...)
  are refused with 400: stricter than anaconda.org, so a misspelt field cannot pass
  unnoticed. ``DELETE /authentications``: the calling token removes itself, 201
  (``remove_authentication``);
- ``GET /{channel}[/label/{label}]/{subdir}/{filename}``: the file's bytes. This is the
  channel CDN (conda.anaconda.org), which binstar_client does not call; it is served
  here too so one fake stands for both (``CDN_ROUTES``).

Errors are ``{"error": message}``, the field binstar_client reads. Unknown, expired or
removed token, or a wrong password: 401. Token not scoped to the owner: 404. Missing
scope: 403.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .limits import AnacondaLimits, AnacondaRateLimiter
from .server import FakeServer, Handler, HttpError, Request, Response

READ_SCOPES = {"all", "api", "api:read", "api:write"}
WRITE_SCOPES = {"all", "api", "api:write"}
# What binstar_client's authenticate() sends to POST /authentications.
MINT_KEYS = frozenset(
    {"scopes", "note", "note_url", "hostname", "user", "max-age", "strength", "fail-if-exists"}
)


@dataclass
class FakeFile:
    owner: str
    name: str
    version: str
    basename: str  # "subdir/filename"
    content: bytes
    labels: set[str] = field(default_factory=lambda: {"main"})
    upload_time: str = "2026-01-01 00:00:00.000000+00:00"  # anaconda.org's own format

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def md5(self) -> str:
        return hashlib.md5(self.content, usedforsecurity=False).hexdigest()


@dataclass
class FakeAnacondaToken:
    token: str
    scopes: frozenset[str]
    owners: frozenset[str] | None  # None: any owner
    expires_at: float | None = None
    removed: bool = False
    note: str = ""
    # The fake's clock when the token was added or minted, and when it was removed.
    created_at: float = 0.0
    removed_at: float | None = None
    # For minted tokens: the account that minted it and the JSON body it sent.
    minted_by: str = ""
    minted_with: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Served:
    """A request a route answered without an error (for the contract test)."""

    method: str
    pattern: str
    request: Request
    status: int


@dataclass
class FakeAnacondaAccount:
    """A user account (a machine account): logs in with basic auth to mint tokens."""

    username: str
    password: str
    organisations: frozenset[str]


def split_filename(filename: str) -> tuple[str, str, str]:
    """``foo-bar-1.0-h0_0.conda`` -> (``foo-bar``, ``1.0``, ``h0_0``)."""
    stem = filename.removesuffix(".conda").removesuffix(".tar.bz2")
    name, version, build = stem.rsplit("-", 2)
    return name, version, build


def build_number(build: str) -> int:
    """conda-build's build string ends in ``_<number>`` (``py312h0_3`` -> 3); 0 when not."""
    last = build.rsplit("_", 1)[-1]
    return int(last) if last.isdigit() else 0


class FakeAnaconda(FakeServer):
    """See the module docstring. Effects: add_label, remove_label, copy, mint, remove_token."""

    def __init__(self, *, seed: int = 0, limits: AnacondaLimits | None = None) -> None:
        super().__init__(seed=seed)
        # A modelled rate limit (tests/fakes/limits.py: anaconda.org publishes none),
        # off unless asked for.
        self.limiter: AnacondaRateLimiter | None = None
        if limits is not None:
            self.enforce_limits(limits)
        # owner -> basename -> file
        self.files: dict[str, dict[str, FakeFile]] = {}
        self.tokens: dict[str, FakeAnacondaToken] = {}
        self.accounts: dict[str, FakeAnacondaAccount] = {}
        # (method, pattern) of every route, in the order registered.
        self.route_patterns: list[tuple[str, str]] = []
        # What each route answered; None (the default) keeps nothing, as a long-lived
        # sandbox would otherwise grow without end. The contract test sets a list.
        self.served: list[Served] | None = None
        self._register_routes()

    # -- seeding ----------------------------------------------------------------------

    def add_file(
        self,
        owner: str,
        basename: str,
        *,
        labels: list[str] | None = None,
        content: bytes | None = None,
        uploaded: datetime | None = None,
    ) -> FakeFile:
        """Add ``subdir/name-version-build.ext`` to ``owner`` (content defaults to its name)."""
        name, version, _ = split_filename(basename.rsplit("/", 1)[-1])
        with self.lock:
            file = FakeFile(
                owner,
                name,
                version,
                basename,
                content if content is not None else f"{owner}/{basename}".encode(),
                set(labels) if labels is not None else {"main"},
            )
            if uploaded is not None:
                file.upload_time = uploaded.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00:00")
            self.files.setdefault(owner, {})[basename] = file
            return file

    def file(self, owner: str, basename: str) -> FakeFile:
        return self.files[owner][basename]

    def has_file(self, owner: str, basename: str) -> bool:
        with self.lock:
            return basename in self.files.get(owner, {})

    def add_token(
        self,
        token: str,
        *,
        scopes: list[str] | tuple[str, ...] = ("api:read", "api:write"),
        owners: list[str] | None = None,
        expires_in: float | None = None,
    ) -> str:
        with self.lock:
            self.tokens[token] = FakeAnacondaToken(
                token,
                frozenset(scopes),
                frozenset(owners) if owners is not None else None,
                self.now() + expires_in if expires_in is not None else None,
                created_at=self.now(),
            )
        return token

    def add_account(
        self, username: str, password: str, *, organisations: list[str] | tuple[str, ...] = ()
    ) -> FakeAnacondaAccount:
        """An account that may mint tokens for itself and for ``organisations``."""
        with self.lock:
            account = FakeAnacondaAccount(username, password, frozenset(organisations))
            self.accounts[username] = account
            return account

    def minted(self) -> list[FakeAnacondaToken]:
        """Tokens created through ``POST /authentications``, oldest first."""
        with self.lock:
            return [info for info in self.tokens.values() if info.minted_by]

    def is_token_valid(self, token: str) -> bool:
        with self.lock:
            info = self.tokens.get(token)
            return info is not None and self._live(info)

    # -- authorisation ----------------------------------------------------------------

    def _live(self, info: FakeAnacondaToken) -> bool:
        expired = info.expires_at is not None and self.now() >= info.expires_at
        return not info.removed and not expired

    def _token(self, request: Request, *, required: bool = True) -> FakeAnacondaToken | None:
        header = request.header("Authorization") or ""
        scheme, _, value = header.partition(" ")
        if not value:
            if required:
                raise HttpError(401, "Authentication required")
            return None
        info = self.tokens.get(value.strip())
        if scheme.lower() not in ("token", "bearer") or info is None or not self._live(info):
            raise HttpError(401, "Invalid or expired token")
        return info

    def _authorise(self, request: Request, owner: str, scopes: set[str]) -> FakeAnacondaToken:
        info = self._token(request)
        assert info is not None
        if info.owners is not None and owner not in info.owners:
            raise HttpError(404, f"owner {owner!r} not found")
        if not info.scopes & scopes:
            raise HttpError(403, f"this token lacks one of the scopes {sorted(scopes)}")
        return info

    def _account(self, request: Request) -> FakeAnacondaAccount:
        """The account of a basic-auth header; anything else is refused (401)."""
        header = request.header("Authorization") or ""
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            raise HttpError(401, "tokens cannot create tokens: log in with a username and password")
        try:
            username, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise HttpError(401, "malformed basic auth") from None
        account = self.accounts.get(username)
        if account is None or not secrets.compare_digest(account.password, password):
            raise HttpError(401, "Invalid username or password")
        return account

    # -- routes -----------------------------------------------------------------------

    # The channel CDN's routes (not anaconda.org's API; binstar_client never calls them).
    CDN_ROUTES = frozenset(
        {
            ("GET", "/{channel}/label/{label}/{subdir}/{filename}"),
            ("GET", "/{channel}/{subdir}/{filename}"),
        }
    )

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.route_patterns.append((method, pattern))

        def observed(request: Request) -> Response:
            response = handler(request)
            if self.served is not None:
                self.served.append(Served(method, pattern, request, response.status))
            return response

        super().route(method, pattern, observed)

    def error_body(self, error: HttpError) -> Any:
        return {"error": error.message}

    # -- the modelled rate limit (tests/fakes/limits.py) --------------------------------

    def enforce_limits(self, limits: AnacondaLimits | None = None) -> AnacondaRateLimiter:
        """Enforce the modelled limit from now on, on this fake's clock."""
        self.limiter = AnacondaRateLimiter(limits or AnacondaLimits(), self.now)
        return self.limiter

    def admit(self, request: Request) -> Response | None:
        if self.limiter is None:
            return None
        header = request.header("Authorization") or ""
        client = hashlib.sha256(header.encode()).hexdigest()[:8] if header else "address"
        wait = self.limiter.admit(client)
        if wait is None:
            return None
        return Response(
            429,
            {"error": "Too many requests; slow down and try again later."},
            {"Retry-After": str(max(1, math.ceil(wait)))},
        )

    def _register_routes(self) -> None:
        self.route("GET", "/dist/{owner}/{name}/{version}/{subdir}/{filename}", self._dist)
        self.route("GET", "/package/{owner}/{name}", self._package)
        self.route("POST", "/channels/{owner}/{label}", self._add_label)
        self.route("DELETE", "/channels/{owner}/{label}", self._remove_label)
        self.route("POST", "/copy/package/{owner}/{name}/{version}/{subdir}/{filename}", self._copy)
        self.route("POST", "/authentications", self._mint)
        self.route("DELETE", "/authentications", self._remove_token)
        self.route("GET", "/{channel}/label/{label}/{subdir}/{filename}", self._download)
        self.route("GET", "/{channel}/{subdir}/{filename}", self._download)

    def _find(self, owner: str, name: str, version: str, basename: str) -> FakeFile:
        file = self.files.get(owner, {}).get(basename)
        if file is None or file.name != name or file.version != version:
            raise HttpError(404, f"file {basename!r} not found in {owner!r}")
        return file

    def _dist_json(self, file: FakeFile) -> dict[str, Any]:
        """One file as anaconda.org describes it, in ``/dist`` and in ``/package``'s
        ``files`` alike: the same record (see the module docstring)."""
        subdir = file.basename.partition("/")[0]
        build = split_filename(file.basename.rsplit("/", 1)[-1])[2]
        return {
            "basename": file.basename,
            "version": file.version,
            "package": file.name,
            "owner": file.owner,
            "sha256": file.sha256,
            "md5": file.md5,
            "size": len(file.content),
            "labels": sorted(file.labels),
            "upload_time": file.upload_time,
            # The package's index.json, as the channel's repodata has it.
            "attrs": {
                "name": file.name,
                "version": file.version,
                "build": build,
                "build_number": build_number(build),
                "subdir": subdir,
            },
            "full_name": f"{file.owner}/{file.name}/{file.version}/{file.basename}",
        }

    def _dist(self, request: Request) -> Response:
        self._token(request, required=False)  # public, but a bad token is still refused
        p = request.params
        file = self._find(p["owner"], p["name"], p["version"], f"{p['subdir']}/{p['filename']}")
        return Response(200, self._dist_json(file))

    def _package(self, request: Request) -> Response:
        self._token(request, required=False)  # public, but a bad token is still refused
        owner, name = request.params["owner"], request.params["name"]
        files = [f for f in self.files.get(owner, {}).values() if f.name == name]
        if not files:
            raise HttpError(404, f"package {owner}/{name} could not be found")
        listed = [self._dist_json(f) for f in files]
        versions = sorted({f.version for f in files})
        return Response(
            200,
            {"name": name, "owner": {"login": owner}, "versions": versions, "files": listed},
        )

    def _label_target(self, request: Request) -> tuple[FakeFile, str]:
        owner, label = request.params["owner"], request.params["label"]
        self._authorise(request, owner, WRITE_SCOPES)
        body = request.json()
        for key in ("package", "version", "basename"):
            if not body.get(key):
                raise HttpError(400, f"missing {key!r}")
        return self._find(owner, body["package"], body["version"], body["basename"]), label

    def _add_label(self, request: Request) -> Response:
        file, label = self._label_target(request)
        if label not in file.labels:
            file.labels.add(label)
            self.effects["add_label"] += 1
        return Response(201, self._dist_json(file))

    def _remove_label(self, request: Request) -> Response:
        file, label = self._label_target(request)
        if label in file.labels:
            file.labels.discard(label)
            self.effects["remove_label"] += 1
        return Response(201, self._dist_json(file))

    def _copy(self, request: Request) -> Response:
        p = request.params
        body = request.json()
        to_owner = body.get("to_owner") or p["owner"]
        self._authorise(request, to_owner, WRITE_SCOPES)
        basename = f"{p['subdir']}/{p['filename']}"
        source = self._find(p["owner"], p["name"], p["version"], basename)
        from_label = body.get("from_channel") or "main"
        to_label = body.get("to_channel") or "main"
        if from_label not in source.labels:
            raise HttpError(404, f"file {basename!r} has no label {from_label!r}")
        if basename in self.files.get(to_owner, {}):
            raise HttpError(409, f"file {basename!r} already exists in {to_owner!r}")
        copy = FakeFile(to_owner, source.name, source.version, basename, source.content, {to_label})
        self.files.setdefault(to_owner, {})[basename] = copy
        self.effects["copy"] += 1
        return Response(200, [self._dist_json(copy)])

    def _mint(self, request: Request) -> Response:
        account = self._account(request)
        body = request.json()
        if not isinstance(body, dict):
            raise HttpError(400, "the body must be a JSON object")
        unknown = sorted(set(body) - MINT_KEYS)
        if unknown:
            raise HttpError(400, f"unknown fields {unknown}")
        scopes = body.get("scopes") or []
        if isinstance(scopes, str):
            scopes = scopes.split()
        fail_if_exists = body.get("fail-if-exists", False)
        if not isinstance(fail_if_exists, bool):
            raise HttpError(400, "'fail-if-exists' must be true or false")
        owner = body.get("user") or account.username
        if owner != account.username and owner not in account.organisations:
            raise HttpError(403, f"{account.username!r} may not create tokens for {owner!r}")
        max_age = body.get("max-age")
        token = "ac-" + secrets.token_hex(16)
        expires = self.now() + float(max_age) if max_age is not None else None
        self.tokens[token] = FakeAnacondaToken(
            token,
            frozenset(scopes),
            frozenset({owner}),
            expires,
            note=str(body.get("note", "")),
            created_at=self.now(),
            minted_by=account.username,
            minted_with=dict(body),
        )
        self.effects["mint"] += 1
        return Response(
            200,
            {
                "token": token,
                "scopes": sorted(scopes),
                "expires_at": expires,
                "note": body.get("note"),
            },
        )

    def _remove_token(self, request: Request) -> Response:
        info = self._token(request)
        assert info is not None
        info.removed = True
        info.removed_at = self.now()
        self.effects["remove_token"] += 1
        return Response(201)

    def _download(self, request: Request) -> Response:
        p = request.params
        label = p.get("label", "main")
        file = self.files.get(p["channel"], {}).get(f"{p['subdir']}/{p['filename']}")
        if file is None or label not in file.labels:
            raise HttpError(404, "Not Found")
        return Response(200, file.content)
