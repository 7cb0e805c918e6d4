"""A stateful fake of the anaconda.org API and its channel CDN.

::

    with FakeAnaconda() as ac:
        ac.add_file("conda-forge", "linux-64/foo-1.0-h0_0.conda", labels=["main"])
        ac.add_token("master", scopes=["all"])                 # may mint tokens
        ac.add_token("labels", scopes=["api:write"], owners=["conda-forge"])
        ...
        assert ac.file("conda-forge", "linux-64/foo-1.0-h0_0.conda").labels == {"main", "broken"}

Routes (as anaconda-client / binstar_client calls them; auth is ``Authorization: token X``):

- ``GET /dist/{owner}/{name}/{version}/{subdir}/{filename}``: file metadata (public);
- ``POST``/``DELETE /channels/{owner}/{label}`` with JSON ``{package, version, basename}``:
  add or remove a label on one file (needs ``api:write`` on ``owner``);
- ``POST /copy/package/{owner}/{name}/{version}/{subdir}/{filename}`` with JSON
  ``{to_owner, from_channel, to_channel}``: 409 when the destination has the file;
- ``POST /authentications`` with JSON ``{scopes, note, max-age}``: mint a token (needs
  ``all`` or ``auth``); ``DELETE /authentications``: remove the calling token;
- ``GET /{channel}[/label/{label}]/{subdir}/{filename}``: the file's bytes (the CDN).

Unknown, expired or removed token: 401. Token not scoped to the owner: 404. Missing
scope: 403.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from .server import FakeServer, HttpError, Request, Response

READ_SCOPES = {"all", "api", "api:read", "api:write"}
WRITE_SCOPES = {"all", "api", "api:write"}
MINT_SCOPES = {"all", "auth"}


@dataclass
class FakeFile:
    owner: str
    name: str
    version: str
    basename: str  # "subdir/filename"
    content: bytes
    labels: set[str] = field(default_factory=lambda: {"main"})

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


def split_filename(filename: str) -> tuple[str, str, str]:
    """``foo-bar-1.0-h0_0.conda`` -> (``foo-bar``, ``1.0``, ``h0_0``)."""
    stem = filename.removesuffix(".conda").removesuffix(".tar.bz2")
    name, version, build = stem.rsplit("-", 2)
    return name, version, build


class FakeAnaconda(FakeServer):
    """See the module docstring. Effects: add_label, remove_label, copy, mint, remove_token."""

    def __init__(self, *, seed: int = 0) -> None:
        super().__init__(seed=seed)
        # owner -> basename -> file
        self.files: dict[str, dict[str, FakeFile]] = {}
        self.tokens: dict[str, FakeAnacondaToken] = {}
        self._register_routes()

    # -- seeding ----------------------------------------------------------------------

    def add_file(
        self,
        owner: str,
        basename: str,
        *,
        labels: list[str] | None = None,
        content: bytes | None = None,
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

    # -- routes -----------------------------------------------------------------------

    def _register_routes(self) -> None:
        self.route("GET", "/dist/{owner}/{name}/{version}/{subdir}/{filename}", self._dist)
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
        return {
            "basename": file.basename,
            "version": file.version,
            "package": file.name,
            "owner": file.owner,
            "sha256": file.sha256,
            "md5": file.md5,
            "size": len(file.content),
            "labels": sorted(file.labels),
            "full_name": f"{file.owner}/{file.name}/{file.version}/{file.basename}",
        }

    def _dist(self, request: Request) -> Response:
        self._token(request, required=False)  # public, but a bad token is still refused
        p = request.params
        file = self._find(p["owner"], p["name"], p["version"], f"{p['subdir']}/{p['filename']}")
        return Response(200, self._dist_json(file))

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
        return Response(201, [self._dist_json(copy)])

    def _mint(self, request: Request) -> Response:
        info = self._token(request)
        assert info is not None
        if not info.scopes & MINT_SCOPES:
            raise HttpError(403, "this token may not create tokens")
        body = request.json()
        scopes = body.get("scopes") or []
        if isinstance(scopes, str):
            scopes = scopes.split()
        if "all" not in info.scopes and not set(scopes) <= info.scopes:
            raise HttpError(403, f"cannot grant scopes {sorted(set(scopes) - info.scopes)}")
        max_age = body.get("max-age")
        token = "ac-" + secrets.token_hex(16)
        expires = self.now() + float(max_age) if max_age is not None else None
        self.tokens[token] = FakeAnacondaToken(
            token,
            frozenset(scopes),
            info.owners,
            expires,
            note=str(body.get("note", "")),
            created_at=self.now(),
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
