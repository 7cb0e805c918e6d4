"""A stateful fake of the GitHub REST API, for the calls admin-requests makes.

Seed it, point ``Settings.github_api_url`` at ``fake.url``, and read its state and
counters afterwards::

    with FakeGitHub(org="conda-forge") as gh:
        gh.add_repo("foo-feedstock", branches={"main": sha("a")}, files={"README.md": "hi"})
        gh.add_token("admin", permissions=None)  # None: every permission, every repo
        gh.add_token("narrow", repositories=["bar-feedstock"], permissions={"contents": "write"})
        ...
        assert gh.effects["archive"] == 1

Every endpoint checks ``Authorization`` like GitHub does: an unknown, expired or
revoked token gets 401; a token not scoped to the repository gets 404 (GitHub does not
reveal that it exists); a token without the permission gets 403 "Resource not
accessible by integration". App installation tokens are minted against an RS256 App JWT
verified with the configured public key.
"""

from __future__ import annotations

import base64
import fnmatch
import functools
import hashlib
import itertools
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, SealedBox
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from . import git_trees, openapi
from .limits import GitHubLimits, RateLimiter
from .server import FakeServer, HttpError, Request, Response

NOT_ACCESSIBLE = "Resource not accessible by integration"
# Files larger than this come back from the contents API with encoding "none" and no
# content (GitHub documents 1 MB); the blobs API serves them.
CONTENTS_API_LIMIT = 1024 * 1024
LEVELS = {"read": 1, "write": 2, "admin": 3}
# What an installation of the fake App may grant when nothing else is configured.
DEFAULT_APP_PERMISSIONS = {
    "administration": "write",
    "contents": "write",
    "issues": "write",
    "pull_requests": "write",
    "actions": "write",
    "metadata": "read",
}

# conda-forge/conda-forge-repodata-patches-feedstock has one workflow, conda-smithy's
# conda-build.yml, and no rebuild.yml: nothing to start by hand, a push to main builds
# and publishes the patches. Its head and `on:` section as they are there; seed the fake
# feedstock with REPODATA_PATCHES_FILES, and a push that starts it is a rebuild.
REPODATA_PATCHES_WORKFLOW = "conda-build.yml"
REPODATA_PATCHES_FILES = {
    f".github/workflows/{REPODATA_PATCHES_WORKFLOW}": """\
# This file was generated automatically from conda-smithy. To update this configuration,
# update the conda-forge.yml and/or the recipe/meta.yaml.
# -*- mode: yaml -*-

name: Build conda package
on:
  push:
    branches:
      - main

  pull_request:

jobs: {}  # (the build matrix is left out: only what starts it matters here)
""",
}


class ValidationFailed(HttpError):
    """GitHub's 422 "Validation Failed", with the detail in ``errors[].message``."""

    def __init__(self, *errors: dict[str, str]) -> None:
        detail = "; ".join(e.get("message", e.get("code", "")) for e in errors)
        super().__init__(422, f"Validation Failed: {detail}")
        self.errors = errors


def _missing(resource: str, field: str) -> dict[str, str]:
    return {"resource": resource, "code": "missing_field", "field": field}


def sha(seed: str) -> str:
    """A deterministic 40-hex commit SHA for tests."""
    return hashlib.sha1(seed.encode(), usedforsecurity=False).hexdigest()


def blob_sha(content: bytes) -> str:
    """The git blob SHA of ``content``, as GitHub reports it for files."""
    header = f"blob {len(content)}\0".encode()
    return hashlib.sha1(header + content, usedforsecurity=False).hexdigest()


@dataclass
class FakeToken:
    token: str
    repositories: frozenset[str] | None  # None: every repository of the organisation
    permissions: dict[str, str] | None  # None: every permission (an admin PAT)
    expires_at: float | None = None
    revoked: bool = False
    installation_id: int | None = None
    # The fake's clock when the token was registered or minted, and when it was revoked.
    created_at: float = 0.0
    revoked_at: float | None = None


@dataclass
class FakeIssue:
    number: int
    title: str
    body: str
    labels: list[str]
    user: str
    state: str = "open"
    state_reason: str | None = None
    comments: list[dict[str, Any]] = field(default_factory=list)
    created_at: str = ""
    updated_at: str = ""
    closed_at: str | None = None


@dataclass
class FakePull:
    number: int
    title: str
    body: str
    head: str  # a branch of the same repository
    base: str
    user: str
    state: str = "open"
    comments: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class FakeInstallation:
    """Another GitHub App (a CI provider's) installed on selected repositories."""

    installation_id: int
    app_slug: str
    repository_ids: set[int] = field(default_factory=set)
    # "all": installed on every repository of the organisation (repository_ids unused).
    repository_selection: str = "selected"


@dataclass
class FakeCommit:
    """A git commit object (the Git Data API); trees are opaque SHAs here."""

    sha: str
    tree: str
    parents: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class FakePush:
    """A branch that moved (a push, as Actions sees it), and the workflows it starts."""

    ref: str  # refs/heads/x
    before: str
    after: str
    message: str  # the new head commit's message
    workflows: tuple[str, ...]  # files under .github/workflows whose `on: push` matches


@dataclass
class FakeRepo:
    name: str
    id: int
    archived: bool = False
    default_branch: str = "main"
    refs: dict[str, str] = field(default_factory=dict)  # "refs/heads/x" -> commit sha
    files: dict[str, bytes] = field(default_factory=dict)  # on the default branch
    issues: dict[int, FakeIssue] = field(default_factory=dict)
    commit_pulls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    commits: set[str] = field(default_factory=set)  # every commit SHA the repo has
    # Commit objects by SHA (GET/POST git/commits); seeded commits get one when first read.
    git_commits: dict[str, FakeCommit] = field(default_factory=dict)
    pushes: list[FakePush] = field(default_factory=list)  # every branch move, in order
    # Settings, rulesets, environments... (see "repository administration" below).
    admin: FakeRepoAdmin = field(default_factory=lambda: FakeRepoAdmin())
    # -- token_reset / CI resources (see FakeGitHub's "secrets, installations, pulls") --
    # Actions secrets as GitHub keeps them: sealed to the repository's key.
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)
    pulls: dict[int, FakePull] = field(default_factory=dict)
    # Files of branches other than the default one, copied from it on first use.
    branch_files: dict[str, dict[str, bytes]] = field(default_factory=dict)
    # The files of each tree made with POST git/trees; a branch moved to a commit of
    # one of them gets exactly these files. Other trees stay opaque SHAs, known only
    # as "the files of the branch whose head has this tree".
    trees: dict[str, dict[str, bytes]] = field(default_factory=dict)

    def file_text(self, path: str) -> str:
        return self.files[path].decode()

    def branch(self, name: str) -> str | None:
        return self.refs.get(f"refs/heads/{name}")

    def tag(self, name: str) -> str | None:
        return self.refs.get(f"refs/tags/{name}")

    def pushes_starting(self, workflow: str) -> list[FakePush]:
        """The branch moves that started ``workflow`` (a file under .github/workflows)."""
        return [push for push in self.pushes if workflow in push.workflows]


@dataclass
class FakeApp:
    app_id: int
    public_key_pem: bytes
    installation_id: int
    permissions: dict[str, str]
    private_key_pem: bytes | None = None  # only when the fake generated the key


def generate_app_key() -> tuple[bytes, bytes]:
    """A fresh RSA key pair as (private PEM, public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


@functools.cache
def _shared_app_key() -> tuple[bytes, bytes]:
    # RSA key generation is slow; one generated key per test session is enough.
    return generate_app_key()


class FakeGitHub(FakeServer):
    """See the module docstring; effects are counted under the names used below."""

    def __init__(
        self,
        org: str = "conda-forge",
        *,
        seed: int = 0,
        public_reads: bool = False,
        limits: GitHubLimits | None = None,
    ) -> None:
        super().__init__(seed=seed)
        # GitHub's rate limits (tests/fakes/limits.py), off unless asked for.
        self.limiter: RateLimiter | None = None
        if limits is not None:
            self.enforce_limits(limits)
        self.org = org
        # As on github.com for public repositories: any valid token may read a repository
        # it is not scoped to (metadata, contents, refs, issues), never write to it. Off
        # by default, so tests of scoping see the strict 404.
        self.public_reads = public_reads
        self.repos: dict[str, FakeRepo] = {}
        self.file_writes: Counter[str] = Counter()  # put_file effects by repository
        self.tokens: dict[str, FakeToken] = {}
        self.app: FakeApp | None = None
        self._ids = itertools.count(1000)
        self.installations: dict[int, FakeInstallation] = {}
        self.user_tokens: dict[str, tuple[str, ...]] = {}  # classic PATs and their scopes
        self._actions_keys: dict[str, PrivateKey] = {}
        # Actions workflows and their runs, by repository (see the status-page block).
        self.actions_workflows: dict[str, list[FakeWorkflow]] = {}
        # Calls and answers that differ from GitHub's description (see dispatch).
        self.contract_violations: list[str] = []
        # The organisation's opt-in to immutable OIDC subjects, which a repository that
        # sets nothing of its own falls back to (GitHub's description of
        # use_immutable_subject).
        self.org_immutable_oidc_subject = False
        self._register_routes()
        self._register_secrets_installations_pulls()
        self._register_workflow_run_routes()
        self._register_blob_routes()
        # Feedstock creation: POST /orgs/{org}/repos (see _register_creation_routes).
        self.repo_created_hooks: list[Callable[[str], None]] = []
        self._register_creation_routes()

    # -- seeding ----------------------------------------------------------------------

    def add_repo(
        self,
        name: str,
        *,
        archived: bool = False,
        branches: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        files: dict[str, str | bytes] | None = None,
    ) -> FakeRepo:
        with self.lock:
            repo = FakeRepo(name, next(self._ids), archived=archived)
            branches = branches if branches is not None else {"main": sha(f"{name}@main")}
            repo.refs.update({f"refs/heads/{b}": s for b, s in branches.items()})
            repo.refs.update({f"refs/tags/{t}": s for t, s in (tags or {}).items()})
            for path, content in (files or {}).items():
                repo.files[path] = content.encode() if isinstance(content, str) else content
            repo.commits.update(repo.refs.values())
            self.repos[name] = repo
            return repo

    def repo(self, name: str) -> FakeRepo:
        return self.repos[name]

    def add_token(
        self,
        token: str,
        *,
        repositories: list[str] | None = None,
        permissions: dict[str, str] | None = None,
        expires_in: float | None = None,
    ) -> str:
        """Register a plain token (a GITHUB_TOKEN, a PAT) with its scope."""
        with self.lock:
            self.tokens[token] = FakeToken(
                token,
                frozenset(repositories) if repositories is not None else None,
                dict(permissions) if permissions is not None else None,
                self.now() + expires_in if expires_in is not None else None,
                created_at=self.now(),
            )
        return token

    def revoke_token(self, token: str) -> None:
        with self.lock:
            self.tokens[token].revoked = True
            self.tokens[token].revoked_at = self.now()

    def is_token_valid(self, token: str) -> bool:
        with self.lock:
            info = self.tokens.get(token)
            return info is not None and self._live(info)

    def configure_app(
        self,
        app_id: int = 4242,
        *,
        public_key_pem: bytes | None = None,
        installation_id: int = 77,
        permissions: dict[str, str] | None = None,
    ) -> FakeApp:
        """Install a GitHub App on the organisation (all its repositories).

        Without ``public_key_pem`` a key pair is generated and the private key is kept
        in ``app.private_key_pem`` so tests can sign JWTs with ``make_app_jwt``.
        """
        private = None
        if public_key_pem is None:
            private, public_key_pem = _shared_app_key()
        self.app = FakeApp(
            app_id,
            public_key_pem,
            installation_id,
            dict(permissions or DEFAULT_APP_PERMISSIONS),
            private,
        )
        return self.app

    def make_app_jwt(self, *, iat_offset: int = -60, lifetime: int = 540) -> str:
        """An App JWT signed with the generated key (tests of the credentials code)."""
        if self.app is None or self.app.private_key_pem is None:
            raise RuntimeError("configure_app() without a public key first")
        now = int(self.now())
        claims = {"iat": now + iat_offset, "exp": now + lifetime, "iss": str(self.app.app_id)}
        return jwt.encode(claims, self.app.private_key_pem, algorithm="RS256")

    def add_issue(
        self,
        repo: str,
        title: str,
        body: str = "",
        *,
        labels: list[str] | None = None,
        user: str = "someone",
        state: str = "open",
    ) -> FakeIssue:
        with self.lock:
            return self._new_issue(self.repos[repo], title, body, labels or [], user, state)

    def issues(self, repo: str, *, state: str | None = None) -> list[FakeIssue]:
        with self.lock:
            found = self.repos[repo].issues.values()
            return [i for i in found if state is None or i.state == state]

    def add_commit_pull(
        self, repo: str, commit: str, number: int, *, user: str = "someone", title: str = ""
    ) -> None:
        """Record that pull request ``number`` by ``user`` added ``commit`` to ``repo``."""
        with self.lock:
            pulls = self.repos[repo].commit_pulls.setdefault(commit, [])
            pulls.append(
                {
                    "id": next(self._ids),
                    "number": number,
                    "state": "closed",
                    "title": title or f"PR {number}",
                    "user": {"login": user, "type": "User"},
                    "html_url": f"https://github.com/{self.org}/{repo}/pull/{number}",
                    "url": f"{self._repo_url(repo)}/pulls/{number}",
                    "merged_at": _iso(self.now()),
                    "merge_commit_sha": commit,
                }
            )

    def push_commit(
        self, repo: str, branch: str, message: str, files: dict[str, str | bytes] | None = None
    ) -> str:
        """Someone else's push: a commit on top of ``branch`` (with ``files`` changed)."""
        with self.lock:
            found = self.repos[repo]
            ref = f"refs/heads/{branch}"
            before = found.refs[ref]
            tree = sha(f"{repo}:{before}:{sorted(files or {})}:{next(self._ids)}")
            commit = self._record_commit(found, tree, (before,), message)
            on_branch = self._files_of(found, None if branch == found.default_branch else branch)
            for path, content in (files or {}).items():
                on_branch[path] = content.encode() if isinstance(content, str) else content
            found.refs[ref] = commit.sha
            self._pushed(found, ref, before, commit.sha)
            return commit.sha

    # -- JSON shapes ------------------------------------------------------------------

    def _full_name(self, repo: str) -> str:
        # Repositories of other owners (``add_repo("regro/cf-scripts")``) keep their owner.
        return repo if "/" in repo else f"{self.org}/{repo}"

    def _repo_url(self, repo: str) -> str:
        return f"{self.url}/repos/{self._full_name(repo)}"

    def _repo_json(self, repo: FakeRepo) -> dict[str, Any]:
        return {
            "id": repo.id,
            "node_id": f"R_{repo.id}",
            "name": repo.name,
            "full_name": self._full_name(repo.name),
            "owner": {"login": self.org, "type": "Organization", "id": ORG_ID},
            "private": False,
            "archived": repo.archived,
            "default_branch": repo.default_branch,
            "url": self._repo_url(repo.name),
            "html_url": f"https://github.com/{self._full_name(repo.name)}",
            **repo.admin.settings,
        }

    def _ref_json(self, repo: str, ref: str, commit: str) -> dict[str, Any]:
        return {
            "ref": ref,
            "node_id": f"REF_{ref}",
            "url": f"{self._repo_url(repo)}/git/{ref}",
            "object": {
                "sha": commit,
                "type": "commit",
                "url": f"{self._repo_url(repo)}/git/commits/{commit}",
            },
        }

    def _content_json(self, repo: str, path: str, content: bytes) -> dict[str, Any]:
        blob = blob_sha(content)
        # As GitHub: past 1 MB the contents API leaves the content out (read the blob).
        large = len(content) > CONTENTS_API_LIMIT
        return {
            "type": "file",
            "encoding": "none" if large else "base64",
            "size": len(content),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "content": "" if large else base64.b64encode(content).decode(),
            "sha": blob,
            "url": f"{self._repo_url(repo)}/contents/{path}",
            "git_url": f"{self._repo_url(repo)}/git/blobs/{blob}",
            "html_url": f"https://github.com/{self.org}/{repo}/blob/main/{path}",
            "download_url": None,
        }

    def _issue_json(self, repo: str, issue: FakeIssue) -> dict[str, Any]:
        url = f"{self._repo_url(repo)}/issues/{issue.number}"
        return {
            "id": issue.number + 10_000,
            "number": issue.number,
            "title": issue.title,
            "body": issue.body,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "labels": [{"name": label} for label in issue.labels],
            "user": {"login": issue.user, "type": "User"},
            "comments": len(issue.comments),
            "url": url,
            "html_url": f"https://github.com/{self._full_name(repo)}/issues/{issue.number}",
            "repository_url": self._repo_url(repo),
            "created_at": issue.created_at,
            "updated_at": issue.updated_at,
            "closed_at": issue.closed_at,
        }

    def error_body(self, error: HttpError) -> Any:
        body: dict[str, Any] = {
            "message": error.message,
            "documentation_url": "https://docs.github.com/rest",
        }
        if isinstance(error, ValidationFailed):
            body["message"] = "Validation Failed"
            body["errors"] = [dict(e) for e in error.errors]
        return body

    # -- rate limits (tests/fakes/limits.py) --------------------------------------------

    def enforce_limits(self, limits: GitHubLimits | None = None) -> RateLimiter:
        """Enforce GitHub's rate limits from now on (``GitHubLimits()``: github.com's),
        on this fake's clock (``time_source``)."""
        self.limiter = RateLimiter(limits or GitHubLimits(), self.now)
        return self.limiter

    def _limit_client(self, request: Request) -> str:
        """Whose budget a call spends: an App installation's (all its tokens share it),
        a token's own, or, unauthenticated, the caller's address."""
        header = request.header("Authorization") or ""
        value = header.partition(" ")[2].strip()
        with self.lock:
            info = self.tokens.get(value)
        if info is not None and info.installation_id is not None:
            return f"installation ID {info.installation_id}"
        return f"token {hashlib.sha256(value.encode()).hexdigest()[:8]}" if value else "address"

    def _endpoint(self, request: Request) -> str:
        for method, regex, _ in self._routes:
            if method == request.method and regex.match(request.path):
                return f"{method} {regex.pattern}"
        return f"{request.method} {request.path}"

    def admit(self, request: Request) -> Response | None:
        if self.limiter is None:
            return None
        client = self._limit_client(request)
        refusal = self.limiter.admit(client, request.method, self._endpoint(request), request.path)
        if refusal is None:
            return None
        message = refusal.message
        if refusal.limit == "primary":
            message = f"API rate limit exceeded for {client}."
        body = {"message": message, "documentation_url": refusal.documentation_url}
        return Response(refusal.status, body, refusal.headers)

    def release(self, request: Request) -> None:
        if self.limiter is not None:
            self.limiter.release(self._limit_client(request))

    def limit_headers(self, request: Request) -> dict[str, str]:
        if self.limiter is None:
            return {}
        return self.limiter.headers(self._limit_client(request))

    # -- the contract: every call checked against GitHub's description ------------------

    def dispatch(self, request: Request) -> Response:
        """Serve the call, then check it and the answer against GitHub's description
        (tests/fakes/openapi.py); a violation is kept in ``contract_violations``."""
        try:
            response = super().dispatch(request)
        except HttpError as error:
            response = Response(error.status, self.error_body(error), error.headers)
        found = openapi.check_exchange(
            request.method,
            request.path,
            request.query,
            request.body,
            response.status,
            response.body,
        )
        self.contract_violations += found
        return response

    # -- authorisation ----------------------------------------------------------------

    def _live(self, info: FakeToken) -> bool:
        expired = info.expires_at is not None and self.now() >= info.expires_at
        return not info.revoked and not expired

    def _token(self, request: Request) -> FakeToken:
        header = request.header("Authorization") or ""
        scheme, _, value = header.partition(" ")
        if scheme.lower() not in ("token", "bearer") or not value:
            raise HttpError(401, "Requires authentication")
        info = self.tokens.get(value.strip())
        if info is None or not self._live(info):
            raise HttpError(401, "Bad credentials")
        return info

    def _authorise(
        self, request: Request, permission: str, level: str, repo: str | None = None
    ) -> FakeRepo | None:
        """Check the token for ``permission:level`` on ``repo``; return the repo."""
        info = self._token(request)
        found = None
        if repo is not None:
            owner = request.params.get("owner", self.org)
            # Another owner's repository is seeded under its full name (public reads).
            repo = repo if owner == self.org else f"{owner}/{repo}"
            if repo not in self.repos:
                raise HttpError(404, "Not Found")
            found = self.repos[repo]
            if info.repositories is not None and repo not in info.repositories:
                if self.public_reads and level == "read":
                    return found
                raise HttpError(404, "Not Found")
        if info.permissions is not None and permission != "metadata":
            granted = info.permissions.get(permission)
            if granted is None or LEVELS[granted] < LEVELS[level]:
                raise HttpError(403, NOT_ACCESSIBLE)
        return found

    def _writable(self, repo: FakeRepo) -> None:
        if repo.archived:
            raise HttpError(403, "Repository was archived so is read-only.")

    # -- routes -----------------------------------------------------------------------

    def _register_routes(self) -> None:
        r = self.route
        repo = "/repos/{owner}/{repo}"
        r("GET", repo, self._get_repo)
        r("PATCH", repo, self._patch_repo)
        r("GET", repo + "/git/ref/{ref:path}", self._get_ref)
        r("GET", repo + "/git/matching-refs/{ref:path}", self._matching_refs)
        r("POST", repo + "/git/refs", self._create_ref)
        r("PATCH", repo + "/git/refs/{ref:path}", self._update_ref)
        r("GET", repo + "/git/commits/{sha}", self._get_git_commit)
        r("POST", repo + "/git/commits", self._create_git_commit)
        r("POST", repo + "/git/trees", self._create_tree)
        r("DELETE", repo + "/git/refs/{ref:path}", self._delete_ref)
        r("GET", repo + "/contents/{path:path}", self._get_contents)
        r("PUT", repo + "/contents/{path:path}", self._put_contents)
        r("GET", repo + "/issues", self._list_issues)
        r("POST", repo + "/issues", self._create_issue)
        r("GET", repo + "/issues/{number}", self._get_issue)
        r("PATCH", repo + "/issues/{number}", self._edit_issue)
        r("GET", repo + "/issues/{number}/comments", self._list_comments)
        r("POST", repo + "/issues/{number}/comments", self._comment)
        r("GET", repo + "/commits/{sha}/pulls", self._commit_pulls)
        r("GET", "/app/installations", self._app_installations)
        r("GET", "/orgs/{org}/installation", self._org_installation)
        r("GET", repo + "/installation", self._org_installation)
        r("POST", "/app/installations/{id}/access_tokens", self._mint_installation_token)
        r("DELETE", "/installation/token", self._revoke_installation_token)
        self._register_admin_routes()

    def _get_repo(self, request: Request) -> Response:
        repo = self._authorise(request, "metadata", "read", request.params["repo"])
        assert repo is not None
        return Response(200, self._repo_json(repo))

    def _patch_repo(self, request: Request) -> Response:
        repo = self._authorise(request, "administration", "write", request.params["repo"])
        assert repo is not None
        body = request.json()
        self._patch_settings(repo, body)
        if "archived" in body:
            wanted = bool(body["archived"])
            if wanted != repo.archived:
                self.effects["archive" if wanted else "unarchive"] += 1
            repo.archived = wanted
        elif repo.archived:
            self._writable(repo)
        return Response(200, self._repo_json(repo))

    def _get_ref(self, request: Request) -> Response:
        repo = self._authorise(request, "contents", "read", request.params["repo"])
        assert repo is not None
        ref = "refs/" + request.params["ref"]
        if ref not in repo.refs:
            raise HttpError(404, "Not Found")
        return Response(200, self._ref_json(repo.name, ref, repo.refs[ref]))

    def _matching_refs(self, request: Request) -> Response:
        repo = self._authorise(request, "contents", "read", request.params["repo"])
        assert repo is not None
        prefix = "refs/" + request.params["ref"]
        found = [
            self._ref_json(repo.name, ref, commit)
            for ref, commit in sorted(repo.refs.items())
            if ref.startswith(prefix)
        ]
        return Response(200, found)

    def _create_ref(self, request: Request) -> Response:
        repo = self._authorise(request, "contents", "write", request.params["repo"])
        assert repo is not None
        self._writable(repo)
        body = request.json()
        ref, commit = str(body.get("ref", "")), str(body.get("sha", ""))
        if not ref.startswith("refs/") or ref.count("/") < 2:
            raise HttpError(422, "Reference name must start with 'refs/' and have two slashes")
        if not re.fullmatch(r"[0-9a-f]{40}", commit) or commit not in repo.commits:
            raise HttpError(422, "Object does not exist")
        if ref in repo.refs:
            raise HttpError(422, "Reference already exists")
        repo.refs[ref] = commit
        self.effects["create_ref"] += 1
        return Response(201, self._ref_json(repo.name, ref, commit))

    def _update_ref(self, request: Request) -> Response:
        repo = self._authorise(request, "contents", "write", request.params["repo"])
        assert repo is not None
        self._writable(repo)
        ref = "refs/" + request.params["ref"]
        body = request.json()
        commit = str(body.get("sha", ""))
        if ref not in repo.refs:
            raise HttpError(422, "Reference does not exist")
        if commit not in repo.commits:
            raise HttpError(422, "Object does not exist")
        before = repo.refs[ref]
        if not body.get("force") and not self._descends(repo, commit, before):
            raise HttpError(422, "Update is not a fast forward")
        repo.refs[ref] = commit
        if commit != before:
            self._check_out_tree(repo, ref, commit)
            self.effects["update_ref"] += 1
            self._pushed(repo, ref, before, commit)
        return Response(200, self._ref_json(repo.name, ref, commit))

    # git data: commit objects, and what a branch moving starts

    def _commit_object(self, repo: FakeRepo, commit: str) -> FakeCommit | None:
        """The object of a commit the repository has; seeded ones get a root commit."""
        if commit not in repo.commits:
            return None
        if commit not in repo.git_commits:
            repo.git_commits[commit] = FakeCommit(commit, sha(f"tree of {commit}"), (), "seeded")
        return repo.git_commits[commit]

    def _record_commit(
        self, repo: FakeRepo, tree: str, parents: tuple[str, ...], message: str
    ) -> FakeCommit:
        commit = FakeCommit(sha(f"{repo.name}:{tree}:{next(self._ids)}"), tree, parents, message)
        repo.git_commits[commit.sha] = commit
        repo.commits.add(commit.sha)
        return commit

    def _descends(self, repo: FakeRepo, commit: str, ancestor: str) -> bool:
        """Whether ``ancestor`` is ``commit`` or reachable through its parents."""
        seen, todo = set(), [commit]
        while todo:
            current = todo.pop()
            if current == ancestor:
                return True
            if current in seen:
                continue
            seen.add(current)
            found = self._commit_object(repo, current)
            todo.extend(found.parents if found else ())
        return False

    def _pushed(self, repo: FakeRepo, ref: str, before: str, after: str) -> None:
        if not ref.startswith("refs/heads/"):
            return
        branch = ref.removeprefix("refs/heads/")
        head = self._commit_object(repo, after)
        files = self._files_of(repo, None if branch == repo.default_branch else branch)
        started = tuple(
            path.rsplit("/", 1)[-1]
            for path, content in sorted(files.items())
            if re.fullmatch(r"\.github/workflows/[^/]+\.ya?ml", path)
            and _runs_on_push(content, branch)
        )
        repo.pushes.append(FakePush(ref, before, after, head.message if head else "", started))

    def _git_commit_json(self, repo: str, commit: FakeCommit) -> dict[str, Any]:
        person = {
            "name": "admin-requests[bot]",
            "email": "admin-requests[bot]@users.noreply.github.com",
            "date": _iso(self.now()),
        }
        return {
            "sha": commit.sha,
            "node_id": f"C_{commit.sha[:16]}",
            "url": f"{self._repo_url(repo)}/git/commits/{commit.sha}",
            "html_url": f"https://github.com/{self.org}/{repo}/commit/{commit.sha}",
            "author": person,
            "committer": person,
            "message": commit.message,
            "tree": {"sha": commit.tree, "url": f"{self._repo_url(repo)}/git/trees/{commit.tree}"},
            "parents": [
                {
                    "sha": parent,
                    "url": f"{self._repo_url(repo)}/git/commits/{parent}",
                    "html_url": f"https://github.com/{self.org}/{repo}/commit/{parent}",
                }
                for parent in commit.parents
            ],
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        }

    def _get_git_commit(self, request: Request) -> Response:
        repo = self._authorise(request, "contents", "read", request.params["repo"])
        assert repo is not None
        commit = self._commit_object(repo, request.params["sha"])
        if commit is None:
            raise HttpError(404, "Not Found")
        if commit.tree not in repo.trees:
            # Whoever reads a head commit may build a tree on it after the branch moved
            # on (GitHub keeps every tree): keep what its files are now.
            for ref, head in repo.refs.items():
                if head == commit.sha and ref.startswith("refs/heads/"):
                    repo.trees[commit.tree] = dict(self._tree_files(repo, commit.tree))
                    break
        return Response(200, self._git_commit_json(repo.name, commit))

    def _create_git_commit(self, request: Request) -> Response:
        repo = self._authorise(request, "contents", "write", request.params["repo"])
        assert repo is not None
        self._writable(repo)
        body = request.json()
        if not isinstance(body.get("message"), str) or not body["message"]:
            raise HttpError(422, 'Invalid request.\n\n"message" wasn\'t supplied.')
        trees = {c.tree for c in repo.git_commits.values()} | set(repo.trees)
        if body.get("tree") not in trees:
            raise HttpError(422, "Tree SHA does not exist")
        parents = tuple(str(p) for p in body.get("parents") or [])
        if any(self._commit_object(repo, p) is None for p in parents):
            raise HttpError(422, "Parent SHA does not exist or is not a commit object")
        commit = self._record_commit(repo, str(body["tree"]), parents, body["message"])
        self.effects["create_commit"] += 1
        return Response(201, self._git_commit_json(repo.name, commit))

    def _create_tree(self, request: Request) -> Response:
        repo = self._authorise(request, "contents", "write", request.params["repo"])
        assert repo is not None
        self._writable(repo)
        body = request.json()
        base = body.get("base_tree")
        files = dict(self._tree_files(repo, str(base))) if base is not None else {}
        for entry in body.get("tree") or []:
            path = str(entry.get("path", ""))
            if entry.get("type") != "blob" or not path or path.startswith("/"):
                raise HttpError(422, "GitRPC::BadObjectState")
            if "content" in entry and entry.get("sha") is not None:
                raise HttpError(422, "Only one of content or sha may be given")
            if "content" in entry:
                files[path] = str(entry["content"]).encode()
            elif entry.get("sha") is None:
                files.pop(path, None)  # a null sha deletes the entry
            else:
                raise HttpError(422, "this fake takes inline contents only")
        tree = sha(f"{repo.name}:tree:{next(self._ids)}")
        repo.trees[tree] = files
        self.effects["create_tree"] += 1
        top: dict[str, str] = {}
        for path in files:
            name, _, rest = path.partition("/")
            top[name] = "tree" if rest else "blob"
        listing = [
            {
                "path": name,
                "mode": "040000" if kind == "tree" else "100644",
                "type": kind,
                "sha": sha(f"{tree}:{name}"),
                "url": f"{self._repo_url(repo.name)}/git/{kind}s/{sha(f'{tree}:{name}')}",
            }
            for name, kind in sorted(top.items())
        ]
        return Response(
            201,
            {
                "sha": tree,
                "url": f"{self._repo_url(repo.name)}/git/trees/{tree}",
                "truncated": False,
                "tree": listing,
            },
        )

    def _tree_files(self, repo: FakeRepo, tree: str) -> dict[str, bytes]:
        """The files of ``tree``: one made here, or the tree of a branch's head commit."""
        if tree in repo.trees:
            return repo.trees[tree]
        for ref, head in repo.refs.items():
            found = self._commit_object(repo, head)
            if ref.startswith("refs/heads/") and found is not None and found.tree == tree:
                branch = ref.removeprefix("refs/heads/")
                return self._files_of(repo, None if branch == repo.default_branch else branch)
        # GitHub would find any tree of the repository; this fake knows only these.
        raise HttpError(422, "base_tree is not a tree this fake knows (see FakeRepo.trees)")

    def _check_out_tree(self, repo: FakeRepo, ref: str, commit: str) -> None:
        """A branch moved to a commit of a tree made here now has exactly its files."""
        found = self._commit_object(repo, commit)
        if found is None or found.tree not in repo.trees or not ref.startswith("refs/heads/"):
            return
        branch = ref.removeprefix("refs/heads/")
        files = self._files_of(repo, None if branch == repo.default_branch else branch)
        files.clear()
        files.update(repo.trees[found.tree])

    def _delete_ref(self, request: Request) -> Response:
        repo = self._authorise(request, "contents", "write", request.params["repo"])
        assert repo is not None
        self._writable(repo)
        ref = "refs/" + request.params["ref"]
        if ref not in repo.refs:
            raise HttpError(422, "Reference does not exist")
        del repo.refs[ref]
        self.effects["delete_ref"] += 1
        return Response(204)

    def _get_contents(self, request: Request) -> Response:
        repo = self._authorise(request, "contents", "read", request.params["repo"])
        assert repo is not None
        path = request.params["path"].strip("/")
        files = self._files_of(repo, request.query.get("ref"))
        if path in files:
            return Response(200, self._content_json(repo.name, path, files[path]))
        folder = git_trees.folders(files).get(path)
        if folder is None:
            raise HttpError(404, "Not Found")
        listing = [
            self._listed_file(repo.name, f"{path}/{name}", content)
            for name, content in sorted(folder.files.items())
        ]
        # Its folders too, as GitHub lists them: type "dir", the folder's tree SHA.
        listing += [self._folder_json(repo.name, sub) for _, sub in sorted(folder.folders.items())]
        return Response(200, sorted(listing, key=lambda entry: str(entry["name"])))

    def _listed_file(self, repo: str, path: str, content: bytes) -> dict[str, Any]:
        entry = self._content_json(repo, path, content)
        del entry["content"], entry["encoding"]  # a listing has no content
        entry["_links"] = {"self": entry["url"], "git": entry["git_url"], "html": entry["html_url"]}
        return entry

    def _folder_json(self, repo: str, folder: git_trees.Folder) -> dict[str, Any]:
        url = f"{self._repo_url(repo)}/contents/{folder.path}"
        return {
            "type": "dir",
            "size": 0,
            "name": folder.path.rsplit("/", 1)[-1],
            "path": folder.path,
            "sha": folder.sha,
            "url": url,
            "git_url": f"{self._repo_url(repo)}/git/trees/{folder.sha}",
            "html_url": f"https://github.com/{self.org}/{repo}/tree/main/{folder.path}",
            "download_url": None,
            "_links": {
                "self": url,
                "git": f"{self._repo_url(repo)}/git/trees/{folder.sha}",
                "html": f"https://github.com/{self.org}/{repo}/tree/main/{folder.path}",
            },
        }

    def _get_tree(self, request: Request) -> Response:
        """A folder by its tree SHA, or a branch's root folder by the branch's name."""
        repo = self._authorise(request, "contents", "read", request.params["repo"])
        assert repo is not None
        wanted = request.params["sha"]
        branch = wanted if f"refs/heads/{wanted}" in repo.refs else None
        sources = (
            [self._files_of(repo, branch)] if branch else [repo.files, *repo.branch_files.values()]
        )
        for files in sources:
            for folder in git_trees.folders(files).values():
                if branch is not None and folder.path != "":
                    continue
                if branch is None and folder.sha != wanted:
                    continue
                # Any value of 'recursive' asks for every level (0 and "false" included).
                tree, truncated = git_trees.entries(
                    folder, recursive="recursive" in request.query, url=self._repo_url(repo.name)
                )
                return Response(
                    200,
                    {
                        "sha": folder.sha,
                        "url": f"{self._repo_url(repo.name)}/git/trees/{folder.sha}",
                        "tree": tree,
                        "truncated": truncated,
                    },
                )
        raise HttpError(404, "Not Found")

    def _put_contents(self, request: Request) -> Response:
        repo = self._authorise(request, "contents", "write", request.params["repo"])
        assert repo is not None
        self._writable(repo)
        path = request.params["path"].strip("/")
        body = request.json()
        if not body.get("message"):
            raise HttpError(422, 'Invalid request.\n\n"message" wasn\'t supplied.')
        try:
            content = base64.b64decode(str(body.get("content", "")), validate=True)
        except ValueError as error:
            raise HttpError(422, "content is not valid Base64") from error
        files = self._files_of(repo, body.get("branch"))
        current = files.get(path)
        given = body.get("sha")
        if current is not None and given is None:
            raise HttpError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
        if current is not None and given != blob_sha(current):
            raise HttpError(409, f"{path} does not match {given}")
        if current is None and given is not None:
            raise HttpError(409, f"{path} does not match {given}")
        files[path] = content
        branch = f"refs/heads/{body.get('branch') or repo.default_branch}"
        before = repo.refs.get(branch)
        commit = sha(f"{repo.name}:{path}:{blob_sha(content)}:{time.monotonic_ns()}")
        repo.refs[branch] = commit
        repo.commits.add(commit)
        repo.git_commits[commit] = FakeCommit(
            commit, sha(f"tree of {commit}"), (before,) if before else (), str(body["message"])
        )
        self._pushed(repo, branch, before or "0" * 40, commit)
        self.effects["put_file"] += 1
        self.file_writes[repo.name] += 1
        written = self._content_json(repo.name, path, content)
        # A write answers the file's metadata (file-commit), never its content.
        written = {k: v for k, v in written.items() if k not in ("content", "encoding")}
        written["download_url"] = f"https://raw.githubusercontent.com/{self.org}/{repo.name}/{path}"
        return Response(
            201 if current is None else 200,
            {
                "content": written,
                "commit": {
                    "sha": commit,
                    "url": f"{self._repo_url(repo.name)}/git/commits/{commit}",
                    "message": body["message"],
                },
            },
        )

    # issues

    def _new_issue(
        self, repo: FakeRepo, title: str, body: str, labels: list[str], user: str, state: str
    ) -> FakeIssue:
        number = max(repo.issues, default=0) + 1
        stamp = _iso(self.now())
        issue = FakeIssue(number, title, body, list(labels), user, state, None, [], stamp, stamp)
        repo.issues[number] = issue
        return issue

    def _issue(self, request: Request, level: str) -> tuple[FakeRepo, FakeIssue]:
        number = int(request.params["number"])
        known = self.repos.get(request.params["repo"])
        if known is not None and number in known.pulls:
            return self._pull_conversation(request, level, number)
        repo = self._authorise(request, "issues", level, request.params["repo"])
        assert repo is not None
        issue = repo.issues.get(number)
        if issue is None:
            raise HttpError(404, "Not Found")
        return repo, issue

    def _list_issues(self, request: Request) -> Response:
        repo = self._authorise(request, "issues", "read", request.params["repo"])
        assert repo is not None
        state = request.query.get("state", "open")
        wanted = [x for x in request.query.get("labels", "").split(",") if x]
        found = [
            self._issue_json(repo.name, issue)
            for issue in sorted(repo.issues.values(), key=lambda i: -i.number)
            if (state == "all" or issue.state == state)
            and all(label in issue.labels for label in wanted)
        ]
        return self._page(request, found)

    def _create_issue(self, request: Request) -> Response:
        repo = self._authorise(request, "issues", "write", request.params["repo"])
        assert repo is not None
        self._writable(repo)
        body = request.json()
        if not body.get("title"):
            raise ValidationFailed(_missing("Issue", "title"))
        labels = [x if isinstance(x, str) else x["name"] for x in body.get("labels", [])]
        issue = self._new_issue(
            repo, body["title"], body.get("body") or "", labels, "admin-requests[bot]", "open"
        )
        self.effects["create_issue"] += 1
        return Response(201, self._issue_json(repo.name, issue))

    def _get_issue(self, request: Request) -> Response:
        repo, issue = self._issue(request, "read")
        return Response(200, self._issue_json(repo.name, issue))

    def _edit_issue(self, request: Request) -> Response:
        repo, issue = self._issue(request, "write")
        self._writable(repo)
        body = request.json()
        if "state" in body and body["state"] != issue.state:
            issue.state = body["state"]
            issue.closed_at = _iso(self.now()) if issue.state == "closed" else None
            self.effects["close_issue" if issue.state == "closed" else "reopen_issue"] += 1
        issue.state_reason = body.get("state_reason", issue.state_reason)
        issue.title = body.get("title", issue.title)
        issue.body = body.get("body", issue.body)
        if "labels" in body:
            issue.labels = [x if isinstance(x, str) else x["name"] for x in body["labels"]]
        issue.updated_at = _iso(self.now())
        self.effects["edit_issue"] += 1
        return Response(200, self._issue_json(repo.name, issue))

    def _list_comments(self, request: Request) -> Response:
        _, issue = self._issue(request, "read")
        return self._page(request, list(issue.comments))

    def _comment(self, request: Request) -> Response:
        repo, issue = self._issue(request, "write")
        self._writable(repo)
        text = request.json().get("body")
        if not text:
            raise ValidationFailed(_missing("IssueComment", "body"))
        comment_id = next(self._ids)
        comment = {
            "id": comment_id,
            "body": text,
            "user": {"login": "admin-requests[bot]", "type": "Bot"},
            "url": f"{self._repo_url(repo.name)}/issues/comments/{comment_id}",
            "html_url": f"https://github.com/{self.org}/{repo.name}/issues/"
            f"{issue.number}#issuecomment-{comment_id}",
            "created_at": _iso(self.now()),
            "updated_at": _iso(self.now()),
        }
        issue.comments.append(comment)
        issue.updated_at = comment["created_at"]
        self.effects["comment"] += 1
        return Response(201, comment)

    def _page(self, request: Request, items: list[Any]) -> Response:
        per_page = int(request.query.get("per_page", "30"))
        page = int(request.query.get("page", "1"))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            query = "&".join(
                f"{k}={v}" for k, v in {**request.query, "page": str(page + 1)}.items()
            )
            headers["Link"] = f'<{self.url}{request.path}?{query}>; rel="next"'
        return Response(200, chunk, headers)

    def _commit_pulls(self, request: Request) -> Response:
        repo = self._authorise(request, "pull_requests", "read", request.params["repo"])
        assert repo is not None
        return self._page(request, list(repo.commit_pulls.get(request.params["sha"], [])))

    # GitHub App

    def _verify_app_jwt(self, request: Request) -> FakeApp:
        header = request.header("Authorization") or ""
        scheme, _, value = header.partition(" ")
        if self.app is None or scheme.lower() != "bearer":
            raise HttpError(401, "A JSON web token could not be decoded")
        try:
            claims = jwt.decode(
                value,
                self.app.public_key_pem,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_iat": False, "require": ["iat", "exp"]},
            )
        except jwt.PyJWTError as error:
            raise HttpError(401, f"A JSON web token could not be decoded: {error}") from error
        now = self.now()
        if str(claims.get("iss")) != str(self.app.app_id):
            raise HttpError(401, f"'Issuer' claim ('iss') must be {self.app.app_id}")
        if float(claims["iat"]) > now:
            raise HttpError(401, "'Issued at' claim ('iat') must be an Integer in the past")
        if float(claims["exp"]) <= now:
            raise HttpError(401, "'Expiration time' claim ('exp') is too far in the past")
        if float(claims["exp"]) > now + 600:
            raise HttpError(401, "'Expiration time' claim ('exp') is too far in the future")
        return self.app

    def _installation_json(self, app: FakeApp) -> dict[str, Any]:
        return {
            "id": app.installation_id,
            "app_id": app.app_id,
            "account": {"login": self.org, "type": "Organization"},
            "repository_selection": "all",
            "permissions": app.permissions,
            "access_tokens_url": f"{self.url}/app/installations/{app.installation_id}/"
            "access_tokens",
        }

    def _app_installations(self, request: Request) -> Response:
        return Response(200, [self._installation_json(self._verify_app_jwt(request))])

    def _org_installation(self, request: Request) -> Response:
        app = self._verify_app_jwt(request)
        owner = request.params.get("org") or request.params.get("owner")
        if owner != self.org:
            raise HttpError(404, "Not Found")
        return Response(200, self._installation_json(app))

    def _mint_installation_token(self, request: Request) -> Response:
        app = self._verify_app_jwt(request)
        if int(request.params["id"]) != app.installation_id:
            raise HttpError(404, "Not Found")
        body = request.json()
        names = body.get("repositories")
        if names is not None:
            missing = [n for n in names if n not in self.repos]
            if missing:
                raise HttpError(
                    422,
                    "There is at least one repository that does not exist or is not "
                    "accessible to the parent installation.",
                )
        permissions = dict(body.get("permissions") or app.permissions)
        for name, level in permissions.items():
            granted = app.permissions.get(name)
            if level not in LEVELS or granted is None or LEVELS[granted] < LEVELS[level]:
                raise HttpError(
                    422, "The permissions requested are not granted to this installation."
                )
        token = "ghs_" + secrets.token_hex(18)
        expires = self.now() + 3600
        self.tokens[token] = FakeToken(
            token,
            frozenset(names) if names is not None else None,
            permissions,
            expires,
            installation_id=app.installation_id,
            created_at=self.now(),
        )
        self.effects["mint_token"] += 1
        repos = [self._repo_json(self.repos[n]) for n in names] if names is not None else None
        payload: dict[str, Any] = {
            "token": token,
            "expires_at": _iso(expires),
            "permissions": permissions,
            "repository_selection": "selected" if names is not None else "all",
        }
        if repos is not None:
            payload["repositories"] = repos
        return Response(201, payload)

    def _revoke_installation_token(self, request: Request) -> Response:
        info = self._token(request)
        if info.installation_id is None:
            raise HttpError(403, NOT_ACCESSIBLE)
        info.revoked = True
        info.revoked_at = self.now()
        self.effects["revoke_token"] += 1
        return Response(204)

    # == repository administration ====================================================
    # Settings, Actions policy, OIDC subject template, rulesets, environments (branch
    # policies, variables, secrets), repository secrets and labels: what
    # ``python -m admin_requests.deploy`` reads and writes. Permissions as GitHub
    # documents them for fine-grained tokens and Apps; an admin PAT (permissions=None)
    # may do everything. State lives in ``FakeRepo.admin`` (a ``FakeRepoAdmin``).

    def add_actions_secret(self, repo: str, name: str, environment: str | None = None) -> None:
        """Seed a repository (or environment) Actions secret; only its name is kept."""
        with self.lock:
            admin = self.repos[repo].admin
            if environment is None:
                admin.secrets.add(name)
            else:
                admin.environments[environment]["secrets"].add(name)

    def _register_admin_routes(self) -> None:
        r = self.route
        repo = "/repos/{owner}/{repo}"
        actions = repo + "/actions/permissions"
        env = repo + "/environments/{env}"
        r("GET", actions, self._admin_get("actions_permissions", "administration"))
        r("PUT", actions, self._put_actions_permissions)
        r(
            "GET",
            actions + "/selected-actions",
            self._admin_get("selected_actions", "administration"),
        )
        r("PUT", actions + "/selected-actions", self._put_selected_actions)
        r("GET", actions + "/workflow", self._admin_get("workflow_permissions", "administration"))
        r("PUT", actions + "/workflow", self._put_workflow_permissions)
        r("GET", repo + "/actions/secrets", self._list_repo_secrets)
        r("GET", repo + "/actions/oidc/customization/sub", self._get_oidc_subject)
        r("PUT", repo + "/actions/oidc/customization/sub", self._put_oidc_subject)
        r("GET", repo + "/rulesets", self._list_rulesets)
        r("POST", repo + "/rulesets", self._create_ruleset)
        r("GET", repo + "/rulesets/{id}", self._get_ruleset)
        r("PUT", repo + "/rulesets/{id}", self._update_ruleset)
        r("GET", env, self._get_environment)
        r("PUT", env, self._put_environment)
        r("GET", env + "/deployment-branch-policies", self._list_branch_policies)
        r("POST", env + "/deployment-branch-policies", self._create_branch_policy)
        r("DELETE", env + "/deployment-branch-policies/{id}", self._delete_branch_policy)
        r("GET", env + "/variables", self._list_env_variables)
        r("POST", env + "/variables", self._create_env_variable)
        r("PATCH", env + "/variables/{name}", self._update_env_variable)
        r("DELETE", env + "/variables/{name}", self._delete_env_variable)
        r("GET", env + "/secrets", self._list_env_secrets)
        r("GET", repo + "/labels/{name}", self._get_label)
        r("POST", repo + "/labels", self._create_label)
        r("PATCH", repo + "/labels/{name}", self._update_label)

    def _admin_repo(self, request: Request, permission: str, level: str) -> FakeRepo:
        repo = self._authorise(request, permission, level, request.params["repo"])
        assert repo is not None
        return repo

    def _admin_get(self, attribute: str, permission: str) -> Any:
        def handler(request: Request) -> Response:
            repo = self._admin_repo(request, permission, "read")
            return Response(200, dict(getattr(repo.admin, attribute)))

        return handler

    def _patch_settings(self, repo: FakeRepo, body: dict[str, Any]) -> None:
        for key, value in body.items():
            if key in REPO_SETTINGS:
                if not isinstance(value, bool):
                    raise HttpError(422, f"Invalid request: {key!r} must be a boolean")
                if repo.admin.settings.get(key) != value:
                    self.effects["update_settings"] += 1
                repo.admin.settings[key] = value

    def _put_actions_permissions(self, request: Request) -> Response:
        repo = self._admin_repo(request, "administration", "write")
        body = request.json()
        if not isinstance(body.get("enabled"), bool):
            raise HttpError(422, "Invalid request: 'enabled' is required")
        allowed = body.get("allowed_actions", repo.admin.actions_permissions["allowed_actions"])
        if allowed not in ("all", "local_only", "selected"):
            raise HttpError(422, f"Invalid request: allowed_actions {allowed!r}")
        repo.admin.actions_permissions = {"enabled": body["enabled"], "allowed_actions": allowed}
        self.effects["update_actions_permissions"] += 1
        return Response(204)

    def _put_selected_actions(self, request: Request) -> Response:
        repo = self._admin_repo(request, "administration", "write")
        if repo.admin.actions_permissions["allowed_actions"] != "selected":
            raise HttpError(409, "allowed_actions must be 'selected' to set selected actions")
        body = request.json()
        repo.admin.selected_actions.update(
            {
                k: body[k]
                for k in ("github_owned_allowed", "verified_allowed", "patterns_allowed")
                if k in body
            }
        )
        self.effects["update_selected_actions"] += 1
        return Response(204)

    def _put_workflow_permissions(self, request: Request) -> Response:
        repo = self._admin_repo(request, "administration", "write")
        body = request.json()
        level = body.get("default_workflow_permissions", "read")
        if level not in ("read", "write"):
            raise HttpError(422, f"Invalid request: default_workflow_permissions {level!r}")
        repo.admin.workflow_permissions = {
            "default_workflow_permissions": level,
            "can_approve_pull_request_reviews": bool(
                body.get("can_approve_pull_request_reviews", False)
            ),
        }
        self.effects["update_workflow_permissions"] += 1
        return Response(204)

    def _list_repo_secrets(self, request: Request) -> Response:
        repo = self._admin_repo(request, "secrets", "read")
        return Response(200, _secrets_json(repo.admin.secrets))

    def _get_oidc_subject(self, request: Request) -> Response:
        """The template, whether the subject is immutable (the repository's own choice,
        else the organisation's) and the prefix of the ``sub`` the repository's tokens
        get (``sub_claim_prefix``), as GitHub's description has them.

        The immutable prefix puts each id after its name with ``@``, as GitHub's docs
        draft writes it (its changelog wrote ``-``): the project reads the prefix
        GitHub answers, never builds it, so only the fake depends on that spelling.
        """
        repo = self._admin_repo(request, "actions", "read")
        answer = dict(repo.admin.oidc_subject)
        immutable = bool(answer.pop("use_immutable_subject", self.org_immutable_oidc_subject))
        answer["use_immutable_subject"] = immutable
        answer["sub_claim_prefix"] = (
            f"repo:{self.org}@{ORG_ID}/{repo.name}@{repo.id}"
            if immutable
            else f"repo:{self.org}/{repo.name}"
        )
        return Response(200, answer)

    def _put_oidc_subject(self, request: Request) -> Response:
        repo = self._admin_repo(request, "actions", "write")
        body = request.json()
        if not isinstance(body.get("use_default"), bool):
            raise HttpError(422, "Invalid request: 'use_default' is required")
        subject: dict[str, Any] = {"use_default": body["use_default"]}
        if not body["use_default"]:
            keys = body.get("include_claim_keys")
            if not keys or not all(isinstance(k, str) and k.isidentifier() for k in keys):
                raise HttpError(422, "Invalid request: include_claim_keys")
            subject["include_claim_keys"] = list(keys)
        if "use_immutable_subject" in body:
            if not isinstance(body["use_immutable_subject"], bool):
                raise HttpError(422, "Invalid request: 'use_immutable_subject' must be a boolean")
            subject["use_immutable_subject"] = body["use_immutable_subject"]
        elif "use_immutable_subject" in repo.admin.oidc_subject:
            subject["use_immutable_subject"] = repo.admin.oidc_subject["use_immutable_subject"]
        repo.admin.oidc_subject = subject
        self.effects["update_oidc_subject"] += 1
        return Response(201, {})

    # rulesets

    def _ruleset_json(self, repo: FakeRepo, ruleset: dict[str, Any]) -> dict[str, Any]:
        return {
            **ruleset,
            "source_type": "Repository",
            "source": f"{self.org}/{repo.name}",
            "_links": {"self": {"href": f"{self._repo_url(repo.name)}/rulesets/{ruleset['id']}"}},
        }

    def _list_rulesets(self, request: Request) -> Response:
        repo = self._admin_repo(request, "metadata", "read")
        summary = ("id", "name", "target", "enforcement")
        found = [{k: r[k] for k in summary} for r in repo.admin.rulesets.values()]
        return self._page(request, found)

    def _get_ruleset(self, request: Request) -> Response:
        repo = self._admin_repo(request, "metadata", "read")
        ruleset = repo.admin.rulesets.get(int(request.params["id"]))
        if ruleset is None:
            raise HttpError(404, "Not Found")
        found = self._ruleset_json(repo, ruleset)
        if not self._may(request, "administration", "write"):
            # GitHub returns bypass_actors only to callers who can write the ruleset.
            del found["bypass_actors"]
        return Response(200, found)

    def _may(self, request: Request, permission: str, level: str) -> bool:
        """Whether the (already authorised) caller's token holds ``permission:level``."""
        granted = self._token(request).permissions
        if granted is None:
            return True
        held = granted.get(permission)
        return held is not None and LEVELS[held] >= LEVELS[level]

    def _valid_ruleset(self, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("name"):
            raise HttpError(422, "Invalid request: 'name' is required")
        if body.get("target", "branch") not in ("branch", "tag", "push"):
            raise HttpError(422, "Invalid request: target")
        if body.get("enforcement") not in ("active", "evaluate", "disabled"):
            raise HttpError(422, "Invalid request: 'enforcement' is required")
        rules = []
        for rule in body.get("rules", []):
            if rule.get("type") not in RULE_DEFAULTS:
                raise HttpError(422, f"Invalid rule type {rule.get('type')!r}")
            parameters = {**RULE_DEFAULTS[rule["type"]], **rule.get("parameters", {})}
            rules.append(
                {"type": rule["type"], **({"parameters": parameters} if parameters else {})}
            )
        for actor in body.get("bypass_actors", []):
            if actor.get("actor_type") not in BYPASS_ACTOR_TYPES:
                raise HttpError(422, f"Invalid bypass actor type {actor.get('actor_type')!r}")
        return {
            "name": body["name"],
            "target": body.get("target", "branch"),
            "enforcement": body["enforcement"],
            "conditions": body.get("conditions", {}),
            "rules": rules,
            "bypass_actors": list(body.get("bypass_actors", [])),
        }

    def _create_ruleset(self, request: Request) -> Response:
        repo = self._admin_repo(request, "administration", "write")
        ruleset = self._valid_ruleset(request.json())
        if any(r["name"] == ruleset["name"] for r in repo.admin.rulesets.values()):
            raise ValidationFailed(
                {"resource": "Repository", "code": "custom", "message": "Name must be unique"}
            )
        ruleset["id"] = next(self._ids)
        repo.admin.rulesets[ruleset["id"]] = ruleset
        self.effects["create_ruleset"] += 1
        return Response(201, self._ruleset_json(repo, ruleset))

    def _update_ruleset(self, request: Request) -> Response:
        repo = self._admin_repo(request, "administration", "write")
        number = int(request.params["id"])
        if number not in repo.admin.rulesets:
            raise HttpError(404, "Not Found")
        ruleset = {**self._valid_ruleset(request.json()), "id": number}
        repo.admin.rulesets[number] = ruleset
        self.effects["update_ruleset"] += 1
        return Response(200, self._ruleset_json(repo, ruleset))

    # environments

    def _environment(self, request: Request, permission: str, level: str) -> dict[str, Any]:
        repo = self._admin_repo(request, permission, level)
        found = repo.admin.environments.get(request.params["env"])
        if found is None:
            raise HttpError(404, "Not Found")
        return found

    def _environment_json(self, repo: FakeRepo, env: dict[str, Any]) -> dict[str, Any]:
        rules: list[dict[str, Any]] = []
        if env["wait_timer"]:
            rules.append({"id": 1, "type": "wait_timer", "wait_timer": env["wait_timer"]})
        if env["reviewers"]:
            rules.append(
                {
                    "id": 2,
                    "type": "required_reviewers",
                    "prevent_self_review": env["prevent_self_review"],
                    "reviewers": [
                        {"type": r["type"], "reviewer": {"id": r["id"]}} for r in env["reviewers"]
                    ],
                }
            )
        if env["deployment_branch_policy"] is not None:
            rules.append({"id": 3, "type": "branch_policy"})
        return {
            "id": env["id"],
            "name": env["name"],
            "url": f"{self._repo_url(repo.name)}/environments/{env['name']}",
            "protection_rules": rules,
            "deployment_branch_policy": env["deployment_branch_policy"],
        }

    def _get_environment(self, request: Request) -> Response:
        repo = self._admin_repo(request, "actions", "read")
        env = self._environment(request, "actions", "read")
        return Response(200, self._environment_json(repo, env))

    def _put_environment(self, request: Request) -> Response:
        repo = self._admin_repo(request, "administration", "write")
        body = request.json()
        policy = body.get("deployment_branch_policy")
        if policy is not None and (
            not isinstance(policy, dict)
            or policy.get("protected_branches") == policy.get("custom_branch_policies")
        ):
            raise HttpError(
                422,
                "Invalid request: exactly one of protected_branches and "
                "custom_branch_policies must be true",
            )
        name = request.params["env"]
        env = repo.admin.environments.setdefault(name, _new_environment(next(self._ids), name))
        env["wait_timer"] = int(body.get("wait_timer", 0))
        env["prevent_self_review"] = bool(body.get("prevent_self_review", False))
        env["reviewers"] = [{"type": r["type"], "id": r["id"]} for r in body.get("reviewers") or []]
        env["deployment_branch_policy"] = dict(policy) if policy is not None else None
        if not (policy or {}).get("custom_branch_policies"):
            env["branch_policies"].clear()
        self.effects["put_environment"] += 1
        return Response(200, self._environment_json(repo, env))

    def _list_branch_policies(self, request: Request) -> Response:
        env = self._environment(request, "actions", "read")
        policies = [{"id": i, **p} for i, p in sorted(env["branch_policies"].items())]
        return Response(200, {"total_count": len(policies), "branch_policies": policies})

    def _create_branch_policy(self, request: Request) -> Response:
        env = self._environment(request, "administration", "write")
        if not (env["deployment_branch_policy"] or {}).get("custom_branch_policies"):
            raise HttpError(404, "Not Found")  # GitHub: custom policies are not enabled
        body = request.json()
        if not body.get("name") or body.get("type", "branch") not in ("branch", "tag"):
            raise HttpError(422, "Invalid request: name and type")
        policy = {"name": body["name"], "type": body.get("type", "branch")}
        if policy in env["branch_policies"].values():
            return Response(303)  # GitHub's description: "the same ... pattern already exists"
        number = next(self._ids)
        env["branch_policies"][number] = policy
        self.effects["create_branch_policy"] += 1
        return Response(200, {"id": number, **policy})

    def _delete_branch_policy(self, request: Request) -> Response:
        env = self._environment(request, "administration", "write")
        if env["branch_policies"].pop(int(request.params["id"]), None) is None:
            raise HttpError(404, "Not Found")
        self.effects["delete_branch_policy"] += 1
        return Response(204)

    def _list_env_variables(self, request: Request) -> Response:
        env = self._environment(request, "environments", "read")
        variables = [
            {"name": name, "value": value, "created_at": "", "updated_at": ""}
            for name, value in sorted(env["variables"].items())
        ]
        return Response(200, {"total_count": len(variables), "variables": variables})

    def _create_env_variable(self, request: Request) -> Response:
        env = self._environment(request, "environments", "write")
        body = request.json()
        name, value = str(body.get("name", "")).upper(), body.get("value")
        if not name or not isinstance(value, str):
            raise HttpError(422, "Invalid request: name and value")
        if name in env["variables"]:
            raise HttpError(409, "Already exists")
        env["variables"][name] = value
        self.effects["set_variable"] += 1
        return Response(201, {})

    def _update_env_variable(self, request: Request) -> Response:
        env = self._environment(request, "environments", "write")
        name = request.params["name"].upper()
        if name not in env["variables"]:
            raise HttpError(404, "Not Found")
        value = request.json().get("value")
        if not isinstance(value, str):
            raise HttpError(422, "Invalid request: value")
        env["variables"][name] = value
        self.effects["set_variable"] += 1
        return Response(204)

    def _delete_env_variable(self, request: Request) -> Response:
        env = self._environment(request, "environments", "write")
        if env["variables"].pop(request.params["name"].upper(), None) is None:
            raise HttpError(404, "Not Found")
        self.effects["delete_variable"] += 1
        return Response(204)

    def _list_env_secrets(self, request: Request) -> Response:
        env = self._environment(request, "environments", "read")
        return Response(200, _secrets_json(env["secrets"]))

    # labels

    def _get_label(self, request: Request) -> Response:
        repo = self._admin_repo(request, "metadata", "read")
        label = repo.admin.labels.get(request.params["name"].lower())
        if label is None:
            raise HttpError(404, "Not Found")
        return Response(200, dict(label))

    def _create_label(self, request: Request) -> Response:
        repo = self._admin_repo(request, "issues", "write")
        body = request.json()
        name = str(body.get("name", ""))
        if not name or name.lower() in repo.admin.labels:
            raise ValidationFailed(
                _missing("Label", "name")
                if not name
                else {"resource": "Label", "code": "already_exists", "field": "name"}
            )
        label = {
            "name": name,
            "color": str(body.get("color", "ededed")).lstrip("#"),
            "description": body.get("description") or "",
        }
        repo.admin.labels[name.lower()] = label
        self.effects["create_label"] += 1
        return Response(201, dict(label))

    def _update_label(self, request: Request) -> Response:
        repo = self._admin_repo(request, "issues", "write")
        label = repo.admin.labels.get(request.params["name"].lower())
        if label is None:
            raise HttpError(404, "Not Found")
        body = request.json()
        new_name = body.get("new_name")
        if new_name is not None:  # a rename; GitHub's field for it is new_name, not name
            clash = repo.admin.labels.get(str(new_name).lower())
            if not new_name or (clash is not None and clash is not label):
                raise ValidationFailed(
                    {"resource": "Label", "code": "already_exists", "field": "name"}
                )
            del repo.admin.labels[label["name"].lower()]
            label["name"] = str(new_name)
            repo.admin.labels[label["name"].lower()] = label
        for key in ("color", "description"):
            if key in body:
                label[key] = str(body[key]).lstrip("#") if key == "color" else body[key]
        self.effects["update_label"] += 1
        return Response(200, dict(label))

    # -- secrets, installations, pulls (token_reset and the CI-resource kinds) ----------
    # Kept in one block so other additions to this fake merge cleanly.

    def actions_secret(self, repo: str, name: str) -> str:
        """A test's view of an Actions secret: decrypted with the repository's key."""
        with self.lock:
            sealed = base64.b64decode(self.repos[repo].secrets[name]["encrypted_value"])
            return SealedBox(self._actions_key(repo)).decrypt(sealed).decode()

    def add_installation(
        self,
        installation_id: int,
        app_slug: str,
        repositories: tuple[str, ...] = (),
        *,
        all_repositories: bool = False,
    ) -> FakeInstallation:
        """Another App (a CI provider's) installed on ``repositories`` of the organisation,
        or on all of them (``all_repositories``)."""
        with self.lock:
            found = FakeInstallation(
                installation_id,
                app_slug,
                {self.repos[n].id for n in repositories},
                "all" if all_repositories else "selected",
            )
            self.installations[installation_id] = found
            return found

    def _installed_ids(self, installation: FakeInstallation) -> set[int]:
        if installation.repository_selection == "all":
            return {r.id for r in self.repos.values()}
        return installation.repository_ids

    def installation_repositories(self, installation_id: int) -> set[str]:
        with self.lock:
            ids = self._installed_ids(self.installations[installation_id])
            return {r.name for r in self.repos.values() if r.id in ids}

    def add_user_token(self, token: str, *, scopes: tuple[str, ...] = ("repo",)) -> str:
        """A classic personal access token of an organisation admin (only these reach
        ``/user/installations/...``: GitHub refuses App and fine-grained tokens there)."""
        with self.lock:
            self.user_tokens[token] = scopes
        return token

    def pulls(self, repo: str) -> list[FakePull]:
        with self.lock:
            return list(self.repos[repo].pulls.values())

    def _register_secrets_installations_pulls(self) -> None:
        r = self.route
        repo = "/repos/{owner}/{repo}"
        r("GET", repo + "/actions/secrets/public-key", self._actions_public_key)
        r("GET", repo + "/actions/secrets/{name}", self._get_actions_secret)
        r("PUT", repo + "/actions/secrets/{name}", self._put_actions_secret)
        r("GET", "/user/installations/{id}/repositories", self._list_installation_repos)
        r("PUT", "/user/installations/{id}/repositories/{repo_id}", self._add_installation_repo)
        r(
            "DELETE",
            "/user/installations/{id}/repositories/{repo_id}",
            self._remove_installation_repo,
        )
        r("GET", repo + "/pulls", self._list_pulls)
        r("POST", repo + "/pulls", self._create_pull)

    def _files_of(self, repo: FakeRepo, ref: str | None) -> dict[str, bytes]:
        """The files of branch ``ref`` (the default branch when None)."""
        if not ref or ref == repo.default_branch:
            return repo.files
        if f"refs/heads/{ref}" not in repo.refs:
            raise HttpError(404, f"No commit found for the ref {ref}")
        return repo.branch_files.setdefault(ref, dict(repo.files))

    def _actions_key(self, repo: str) -> PrivateKey:
        if repo not in self._actions_keys:
            self._actions_keys[repo] = PrivateKey.generate()
        return self._actions_keys[repo]

    def rotate_actions_key(self, repo: str) -> None:
        """Give ``repo`` a new Actions key pair (a secret sealed to the old one is refused)."""
        self._actions_keys[repo] = PrivateKey.generate()

    def _key_id(self, repo: str) -> str:
        public = bytes(self._actions_key(repo).public_key)
        return hashlib.sha256(public).hexdigest()[:20]

    def _actions_public_key(self, request: Request) -> Response:
        repo = self._authorise(request, "secrets", "read", request.params["repo"])
        assert repo is not None
        public = bytes(self._actions_key(repo.name).public_key)
        return Response(
            200, {"key_id": self._key_id(repo.name), "key": base64.b64encode(public).decode()}
        )

    def _get_actions_secret(self, request: Request) -> Response:
        repo = self._authorise(request, "secrets", "read", request.params["repo"])
        assert repo is not None
        found = repo.secrets.get(request.params["name"])
        if found is None:
            raise HttpError(404, "Not Found")
        return Response(
            200,
            {
                "name": request.params["name"],
                "created_at": found["created_at"],
                "updated_at": found["updated_at"],
            },
        )

    def _put_actions_secret(self, request: Request) -> Response:
        repo = self._authorise(request, "secrets", "write", request.params["repo"])
        assert repo is not None
        self._writable(repo)
        body = request.json()
        if body.get("key_id") != self._key_id(repo.name):
            raise HttpError(422, "Bad request: key_id does not match the repository's key")
        try:
            sealed = base64.b64decode(str(body.get("encrypted_value", "")), validate=True)
            SealedBox(self._actions_key(repo.name)).decrypt(sealed)
        except (ValueError, CryptoError) as error:
            raise HttpError(422, "encrypted_value is not sealed to this key") from error
        name = request.params["name"]
        existing = repo.secrets.get(name)
        stamp = _iso(self.now())
        repo.secrets[name] = {
            "encrypted_value": body["encrypted_value"],
            "created_at": existing["created_at"] if existing else stamp,
            "updated_at": stamp,
        }
        self.effects["put_secret"] += 1
        return Response(204) if existing else Response(201, {})  # GitHub: an empty object

    def _user_token(self, request: Request) -> None:
        header = request.header("Authorization") or ""
        _, _, value = header.partition(" ")
        value = value.strip()
        if value in self.user_tokens:
            if "repo" not in self.user_tokens[value]:
                raise HttpError(403, "Must have admin rights to Repository.")
            return
        self._token(request)  # 401 for unknown or dead tokens
        raise HttpError(403, NOT_ACCESSIBLE)  # App and fine-grained tokens: refused here

    def _installation(self, request: Request) -> FakeInstallation:
        self._user_token(request)
        found = self.installations.get(int(request.params["id"]))
        if found is None:
            raise HttpError(404, "Not Found")
        return found

    def _installation_repo(self, request: Request) -> tuple[FakeInstallation, FakeRepo]:
        installation = self._installation(request)
        wanted = int(request.params["repo_id"])
        repo = next((r for r in self.repos.values() if r.id == wanted), None)
        if repo is None:
            raise HttpError(404, "Not Found")
        return installation, repo

    def _list_installation_repos(self, request: Request) -> Response:
        installation = self._installation(request)
        ids = self._installed_ids(installation)
        found = [
            self._repo_json(r)
            for r in sorted(self.repos.values(), key=lambda r: r.id)
            if r.id in ids
        ]
        per_page = int(request.query.get("per_page", "30"))
        page = int(request.query.get("page", "1"))
        chunk = found[(page - 1) * per_page : page * per_page]
        return Response(
            200,
            {
                "total_count": len(found),
                "repository_selection": installation.repository_selection,
                "repositories": chunk,
            },
        )

    def _add_installation_repo(self, request: Request) -> Response:
        installation, repo = self._installation_repo(request)
        if repo.id not in self._installed_ids(installation):
            installation.repository_ids.add(repo.id)
            self.effects["installation_add"] += 1
        return Response(204)

    def _remove_installation_repo(self, request: Request) -> Response:
        installation, repo = self._installation_repo(request)
        # GitHub's description: 422 when the App is installed on all repositories, or
        # when this would remove the last one (the wording of the message is the fake's).
        if installation.repository_selection == "all":
            raise HttpError(422, "The installation is on all repositories of the organization")
        if installation.repository_ids == {repo.id}:
            raise HttpError(422, "The installation must keep at least one repository")
        if repo.id in installation.repository_ids:
            installation.repository_ids.discard(repo.id)
            self.effects["installation_remove"] += 1
        return Response(204)

    def _pull_json(self, repo: str, pull: FakePull) -> dict[str, Any]:
        return {
            "number": pull.number,
            "title": pull.title,
            "body": pull.body,
            "state": pull.state,
            "user": {"login": pull.user, "type": "Bot"},
            "head": {"ref": pull.head, "label": f"{self.org}:{pull.head}"},
            "base": {"ref": pull.base},
            "html_url": f"https://github.com/{self.org}/{repo}/pull/{pull.number}",
            "url": f"{self._repo_url(repo)}/pulls/{pull.number}",
        }

    def _list_pulls(self, request: Request) -> Response:
        repo = self._authorise(request, "pull_requests", "read", request.params["repo"])
        assert repo is not None
        state = request.query.get("state", "open")
        head = request.query.get("head", "")
        found = [
            self._pull_json(repo.name, pull)
            for pull in sorted(repo.pulls.values(), key=lambda p: -p.number)
            if (state == "all" or pull.state == state)
            and (not head or head == f"{self.org}:{pull.head}")
        ]
        return self._page(request, found)

    def _create_pull(self, request: Request) -> Response:
        repo = self._authorise(request, "pull_requests", "write", request.params["repo"])
        assert repo is not None
        self._writable(repo)
        body = request.json()
        head, base = str(body.get("head", "")), str(body.get("base", ""))
        head = head.split(":", 1)[-1]
        if not body.get("title"):
            raise ValidationFailed(_missing("PullRequest", "title"))
        for name, branch in (("head", head), ("base", base)):
            if f"refs/heads/{branch}" not in repo.refs:
                raise ValidationFailed(
                    {"resource": "PullRequest", "field": name, "code": "invalid"}
                )
        if any(p.head == head and p.state == "open" for p in repo.pulls.values()):
            # GitHub's answer: the detail is in errors[].message, not in message.
            raise ValidationFailed(
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": f"A pull request already exists for {self.org}:{head}.",
                }
            )
        number = max([*repo.issues, *repo.pulls], default=0) + 1
        pull = FakePull(
            number, body["title"], body.get("body") or "", head, base, "admin-requests[bot]"
        )
        repo.pulls[number] = pull
        self.effects["create_pull"] += 1
        return Response(201, self._pull_json(repo.name, pull))

    def _pull_conversation(
        self, request: Request, level: str, number: int
    ) -> tuple[FakeRepo, FakeIssue]:
        """A pull request's comments, reached through the issues API as on GitHub."""
        repo = self._authorise(request, "pull_requests", level, request.params["repo"])
        assert repo is not None
        pull = repo.pulls[number]
        stamp = _iso(self.now())
        issue = FakeIssue(number, pull.title, pull.body, [], pull.user, pull.state)
        issue.comments = pull.comments  # shared: comments land on the pull request
        issue.created_at = issue.updated_at = stamp
        return repo, issue

    # -- Actions workflows and runs (read-only; the status page) ----------------------
    # Kept together here: seeding, JSON shapes and routes for GET .../actions/workflows
    # and GET .../actions/workflows/{id or file}/runs, which need ``actions: read``.

    def add_workflow(
        self, repo: str, path: str, name: str, *, state: str = "active"
    ) -> FakeWorkflow:
        """A workflow the Actions API lists for ``repo`` (runs: ``add_workflow_run``)."""
        with self.lock:
            workflow = FakeWorkflow(next(self._ids), name, path, state)
            self.actions_workflows.setdefault(repo, []).append(workflow)
            return workflow

    def add_workflow_run(
        self,
        repo: str,
        workflow: FakeWorkflow,
        *,
        conclusion: str | None,
        created_at: datetime,
        event: str = "schedule",
        status: str = "completed",
        branch: str = "main",
    ) -> FakeRun:
        """A run of ``workflow``; ``conclusion`` None with ``status`` queued/in_progress."""
        with self.lock:
            run = FakeRun(
                next(self._ids),
                len(workflow.runs) + 1,
                event,
                status,
                conclusion,
                branch,
                created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
            workflow.runs.append(run)
            return run

    def _register_workflow_run_routes(self) -> None:
        repo = "/repos/{owner}/{repo}"
        self.route("GET", repo + "/actions/workflows", self._list_workflows)
        self.route("GET", repo + "/actions/workflows/{workflow}/runs", self._list_workflow_runs)

    def _workflow_json(self, repo: str, workflow: FakeWorkflow) -> dict[str, Any]:
        file = workflow.path.rsplit("/", 1)[-1]
        return {
            "id": workflow.id,
            "node_id": f"W_{workflow.id}",
            "name": workflow.name,
            "path": workflow.path,
            "state": workflow.state,
            "url": f"{self._repo_url(repo)}/actions/workflows/{workflow.id}",
            "html_url": f"https://github.com/{self._full_name(repo)}/actions/workflows/{file}",
            "badge_url": f"https://github.com/{self._full_name(repo)}/workflows/{file}/badge.svg",
        }

    def _run_json(self, repo: str, workflow: FakeWorkflow, run: FakeRun) -> dict[str, Any]:
        return {
            "id": run.id,
            "name": workflow.name,
            "run_number": run.number,
            "run_attempt": 1,
            "event": run.event,
            "status": run.status,
            "conclusion": run.conclusion,
            "head_branch": run.branch,
            "head_sha": sha(f"{repo}:{workflow.path}:{run.number}"),
            "workflow_id": workflow.id,
            "path": workflow.path,
            "created_at": run.created_at,
            "updated_at": run.created_at,
            "run_started_at": run.created_at,
            "url": f"{self._repo_url(repo)}/actions/runs/{run.id}",
            "html_url": f"https://github.com/{self._full_name(repo)}/actions/runs/{run.id}",
            "pull_requests": [],
        }

    def _list_workflows(self, request: Request) -> Response:
        repo = self._authorise(request, "actions", "read", request.params["repo"])
        assert repo is not None
        found = [
            self._workflow_json(repo.name, w) for w in self.actions_workflows.get(repo.name, [])
        ]
        response = self._page(request, found)
        response.body = {"total_count": len(found), "workflows": response.body}
        return response

    def _list_workflow_runs(self, request: Request) -> Response:
        repo = self._authorise(request, "actions", "read", request.params["repo"])
        assert repo is not None
        key = request.params["workflow"]
        workflow = next(
            (
                w
                for w in self.actions_workflows.get(repo.name, [])
                if key in (str(w.id), w.path.rsplit("/", 1)[-1])
            ),
            None,
        )
        if workflow is None:
            raise HttpError(404, "Not Found")
        created = _created_filter(request.query.get("created", ""))
        runs = [
            run
            for run in sorted(workflow.runs, key=lambda r: (r.created_at, r.number), reverse=True)
            if created is None or run.created_at >= created
        ]
        response = self._page(request, runs)  # only the page's runs are made JSON
        response.body = {
            "total_count": len(runs),
            "workflow_runs": [self._run_json(repo.name, workflow, r) for r in response.body],
        }
        return response

    # -- git blobs (files past the contents API's 1 MB) --------------------------------

    def _register_blob_routes(self) -> None:
        self.route("GET", "/repos/{owner}/{repo}/git/blobs/{sha}", self._get_blob)
        self.route("GET", "/repos/{owner}/{repo}/git/trees/{sha}", self._get_tree)

    def _get_blob(self, request: Request) -> Response:
        repo = self._authorise(request, "contents", "read", request.params["repo"])
        assert repo is not None
        wanted = request.params["sha"]
        for files in (repo.files, *repo.branch_files.values()):
            for content in files.values():
                if blob_sha(content) == wanted:
                    return Response(
                        200,
                        {
                            "sha": wanted,
                            "node_id": f"B_{wanted[:12]}",
                            "size": len(content),
                            "url": f"{self._repo_url(repo.name)}/git/blobs/{wanted}",
                            # GitHub wraps the base64 in lines, as git's tools do.
                            "content": base64.encodebytes(content).decode(),
                            "encoding": "base64",
                        },
                    )
        raise HttpError(404, "Not Found")

    # == feedstock creation ==========================================================
    # ``POST /orgs/{org}/repos`` as conda-smithy's ``create_github_repo`` calls it
    # (PyGithub's ``Organization.create_repo``): it needs ``administration: write``; the
    # new repository is empty (no branch until the first push, default branch ``main``);
    # a name that exists is GitHub's 422 with ``errors[0].message`` "name already exists
    # on this account", the message conda-smithy tests for; a token limited to selected
    # repositories is refused (403). ``repo_created_hooks`` are
    # called with the new name (FakeGitServer.serve_new_repositories serves an empty bare
    # repository for it).

    def _register_creation_routes(self) -> None:
        self.route("POST", "/orgs/{org}/repos", self._create_org_repo)

    def _create_org_repo(self, request: Request) -> Response:
        if request.params["org"] != self.org:
            raise HttpError(404, "Not Found")
        self._authorise(request, "administration", "write")
        if self._token(request).repositories is not None:
            # Modelled on a report (octokit/auth-app.js#271, not GitHub's documentation):
            # a token limited to some repositories cannot create one; the App creates
            # repositories with a token for all of them.
            raise HttpError(403, NOT_ACCESSIBLE)
        body = request.json()
        name = str(body.get("name") or "")
        if not name:
            raise ValidationFailed(_missing("Repository", "name"))
        if name in self.repos:
            raise ValidationFailed(
                {
                    "resource": "Repository",
                    "code": "custom",
                    "field": "name",
                    "message": "name already exists on this account",
                }
            )
        repo = self.add_repo(name, branches={})
        with self.lock:
            repo.admin.settings["description"] = str(body.get("description") or "")
            repo.admin.settings["has_wiki"] = bool(body.get("has_wiki", True))
            self.effects["create_repo"] += 1
        for hook in list(self.repo_created_hooks):
            hook(name)
        return Response(201, self._repo_json(repo))


@dataclass
class FakeRun:
    id: int
    number: int
    event: str
    status: str
    conclusion: str | None
    branch: str
    created_at: str


@dataclass
class FakeWorkflow:
    id: int
    name: str
    path: str
    state: str
    runs: list[FakeRun] = field(default_factory=list)


def _created_filter(value: str) -> str | None:
    """The lower bound of a runs ``created`` filter (only ``>=DATE[THH:MM:SSZ]`` is served)."""
    if not value:
        return None
    if not value.startswith(">="):
        raise HttpError(422, f"the fake serves only created=>=..., not {value!r}")
    bound = value[2:]
    return bound if "T" in bound else f"{bound}T00:00:00Z"


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _runs_on_push(workflow: bytes, branch: str) -> bool:
    """Whether a workflow file's ``on:`` starts it for a push to ``branch``.

    ``on: push``, ``on: [push, ...]`` or ``on: {push: {branches: [...]}}`` (glob
    patterns, and ``branches-ignore``), as Actions reads them; YAML 1.2, so ``on`` is
    a key and not a boolean.
    """
    try:
        data = YAML(typ="safe", pure=True).load(workflow.decode())
    except (YAMLError, UnicodeDecodeError):
        return False
    on = data.get("on") if isinstance(data, dict) else None
    if on == "push" or (isinstance(on, list) and "push" in on):
        return True
    if not isinstance(on, dict) or "push" not in on:
        return False
    push = on["push"] or {}
    if "branches" in push:
        return any(fnmatch.fnmatchcase(branch, str(p)) for p in push["branches"] or [])
    if "branches-ignore" in push:
        return not any(fnmatch.fnmatchcase(branch, str(p)) for p in push["branches-ignore"])
    return "tags" not in push  # only tags filtered: branch pushes do not start it


# == repository administration: state and GitHub's defaults =============================

ORG_ID = 3000  # the organisation's numeric id (repositories' owner.id)

# Repository settings PATCH /repos/{owner}/{repo} accepts (booleans), with new-repo values.
REPO_SETTINGS = {
    "has_issues": True,
    "has_wiki": True,
    "has_projects": True,
    "allow_merge_commit": True,
    "allow_squash_merge": True,
    "allow_rebase_merge": True,
    "allow_auto_merge": False,
    "delete_branch_on_merge": False,
}
# Parameters GitHub fills in for a rule when the request leaves them out, so a reader of
# the ruleset sees more than was sent (as with the real API).
RULE_DEFAULTS: dict[str, dict[str, Any]] = {
    "deletion": {},
    "non_fast_forward": {},
    "required_linear_history": {},
    "required_signatures": {},
    "creation": {},
    "update": {"update_allows_fetch_and_merge": False},
    "pull_request": {
        "allowed_merge_methods": ["merge", "squash", "rebase"],
        "dismiss_stale_reviews_on_push": False,
        "require_code_owner_review": False,
        "require_last_push_approval": False,
        "required_approving_review_count": 0,
        "required_review_thread_resolution": False,
    },
    "required_status_checks": {
        "strict_required_status_checks_policy": False,
        "do_not_enforce_on_create": False,
        "required_status_checks": [],
    },
}
BYPASS_ACTOR_TYPES = ("Integration", "OrganizationAdmin", "RepositoryRole", "Team", "DeployKey")


@dataclass
class FakeRepoAdmin:
    settings: dict[str, Any] = field(default_factory=lambda: dict(REPO_SETTINGS))
    actions_permissions: dict[str, Any] = field(
        default_factory=lambda: {"enabled": True, "allowed_actions": "all"}
    )
    selected_actions: dict[str, Any] = field(
        default_factory=lambda: {
            "github_owned_allowed": True,
            "verified_allowed": True,
            "patterns_allowed": [],
        }
    )
    workflow_permissions: dict[str, Any] = field(
        default_factory=lambda: {
            "default_workflow_permissions": "write",
            "can_approve_pull_request_reviews": True,
        }
    )
    oidc_subject: dict[str, Any] = field(default_factory=lambda: {"use_default": True})
    rulesets: dict[int, dict[str, Any]] = field(default_factory=dict)
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)  # by lower-cased name


def _new_environment(number: int, name: str) -> dict[str, Any]:
    return {
        "id": number,
        "name": name,
        "wait_timer": 0,
        "prevent_self_review": False,
        "reviewers": [],
        "deployment_branch_policy": None,
        "branch_policies": {},  # id -> {"name", "type"}
        "variables": {},
        "secrets": set(),
    }


def _secrets_json(names: set[str]) -> dict[str, Any]:
    secrets = [{"name": n, "created_at": "", "updated_at": ""} for n in sorted(names)]
    return {"total_count": len(secrets), "secrets": secrets}
