"""GitHub's git-over-HTTPS endpoint, for the pushes and fetches the processing run makes.

Git's own ``git http-backend`` serves bare repositories under ``root`` at
``{url}/{owner}/{name}.git`` (smart HTTP), behind the checks github.com makes:

- the token comes as HTTP Basic ``x-access-token:TOKEN`` (what git_auth.py sends in its
  header) and must be live in the FakeGitHub it is given (unknown, expired or revoked:
  401);
- a fetch needs ``contents: read`` on the repository, a push ``contents: write``
  (otherwise 403; a token not scoped to the repository gets 404, as on the API);
- a push must pass the repository's active rulesets (``FakeGitHub``'s
  ``repo(name).admin.rulesets``, as ``deploy`` writes them): a ``pull_request`` rule
  refuses every direct push to a ref it covers, ``creation``/``update``/``deletion``
  refuse those changes, unless the token is an installation token of an App listed in
  ``bypass_actors`` (``actor_type: Integration``, ``actor_id``: the App's id). That is
  why ``github-actions[bot]``'s GITHUB_TOKEN can never push past a pull-request rule.

github.com accepts such a push at the HTTP level and declines it in receive-pack's
report ("GH013: Repository rule violations found", "push declined due to repository
rule violations"); this fake answers 403 with that message instead, which git reports as
a failed push just the same. Every accepted push is kept in ``pushes`` (with its token)
and every refusal in ``refused``.
"""

from __future__ import annotations

import base64
import fnmatch
import os
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from admin_requests.deploy.spec import DEFAULT_CONFIG_DIR, load_spec

from .github import LEVELS, FakeGitHub, FakeToken
from .server import FakeServer, HttpError, Request, Response

ZERO = "0" * 40
REF_RULES = {
    "creation": "Cannot create ref due to creations being restricted.",
    "update": "Cannot update this protected ref.",
    "deletion": "Cannot delete this protected ref.",
}
RULE_VIOLATION = "GH013: Repository rule violations found for {ref}: {rule}"


@dataclass(frozen=True)
class RefUpdate:
    old: str
    new: str
    ref: str

    @property
    def kind(self) -> str:
        if self.new == ZERO:
            return "deletion"
        return "creation" if self.old == ZERO else "update"


@dataclass(frozen=True)
class GitPush:
    token: str
    repository: str
    updates: tuple[RefUpdate, ...]
    reason: str = ""  # why it was refused


class FakeGitServer(FakeServer):
    def __init__(self, github: FakeGitHub, root: Path) -> None:
        super().__init__()
        self.github = github
        self.root = root
        self._served: dict[str, Path] = {}
        self._mirrored: set[str] = set()  # created through the API: see _mirror
        self.pushes: list[GitPush] = []
        self.refused: list[GitPush] = []
        base = "/{owner}/{repo}.git"
        self.route("GET", base + "/info/refs", self._info_refs)
        self.route("POST", base + "/git-upload-pack", self._service)
        self.route("POST", base + "/git-receive-pack", self._service)

    def add_repository(self, name: str, source: Path) -> str:
        """Serve a bare clone of ``source`` as ``name`` in the organisation; its URL."""
        target = self.root / self.github.org / f"{name}.git"
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "clone", "--quiet", "--bare", str(source), str(target)],
            check=True,
            capture_output=True,
        )
        return self.serve(name, target)

    def serve(self, name: str, bare: Path) -> str:
        """Serve the existing bare repository ``bare`` as ``name``; its URL."""
        self._served[name] = bare
        return self.repository_url(name)

    def serve_new_repositories(self) -> None:
        """Serve an empty bare repository for each one created through the API
        (``POST /orgs/{org}/repos``), as github.com does: no branch until a push."""

        def init(name: str) -> None:
            target = self.root / self.github.org / f"{name}.git"
            target.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                ["git", "init", "--quiet", "--bare", "--initial-branch=main", str(target)],
                check=True,
                capture_output=True,
            )
            self.serve(name, target)
            self._mirrored.add(name)

        self.github.repo_created_hooks.append(init)

    def _mirror(self, name: str) -> None:
        """After a push, what the API says about ``name`` follows git: its branches and
        the default branch's files (as on github.com; only for repositories created
        through the API, so older tests' seeded API state stays as it is). Writes made
        through the contents API are not copied back into git."""
        bare = self._served[name]

        def git(*args: str) -> bytes:
            return subprocess.run(["git", *args], cwd=bare, check=True, capture_output=True).stdout

        repo = self.github.repo(name)
        refs = {}
        for line in git("for-each-ref", "--format=%(objectname) %(refname)").decode().split("\n"):
            if line.strip():
                commit, ref = line.split(" ", 1)
                refs[ref] = commit
        files: dict[str, bytes] = {}
        head = refs.get(f"refs/heads/{repo.default_branch}")
        if head is not None:
            for entry in git("ls-tree", "-r", "-z", head).decode().split("\0"):
                if not entry:
                    continue
                meta, path = entry.split("\t", 1)
                kind, blob = meta.split(" ")[1:3]
                if kind == "blob":
                    files[path] = git("cat-file", "blob", blob)
        with self.github.lock:
            repo.refs = refs
            repo.commits.update(refs.values())
            repo.files = files

    def repository_url(self, name: str) -> str:
        return f"{self.url}/{self.github.org}/{name}.git"

    def bare(self, name: str) -> Path:
        return self._served[name]

    def error_body(self, error: HttpError) -> Any:
        return error.message.encode()  # git shows a plain-text body as it is

    # -- the checks ---------------------------------------------------------------------

    def _token(self, request: Request) -> FakeToken:
        scheme, _, value = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "basic" or not value:
            raise HttpError(
                401, "Authentication required", {"WWW-Authenticate": 'Basic realm="GitHub"'}
            )
        try:
            _, _, token = base64.b64decode(value).decode().partition(":")
        except ValueError:
            raise HttpError(401, "Invalid credentials") from None
        info = self.github.tokens.get(token)
        if info is None or not self.github.is_token_valid(token):
            raise HttpError(401, "Invalid username or token.")
        return info

    def _authorise(self, request: Request, level: str) -> tuple[FakeToken | None, str]:
        owner, repo = request.params["owner"], request.params["repo"]
        if self.github.public_reads and level == "read" and not request.header("Authorization"):
            # As github.com for a public repository: anyone may clone it, without a token
            # (the resync's diff job and the render job clone anonymously).
            if owner != self.github.org or repo not in self._served:
                raise HttpError(404, "Repository not found.")
            return None, repo
        info = self._token(request)
        if owner != self.github.org or repo not in self._served:
            raise HttpError(404, "Repository not found.")
        if info.repositories is not None and repo not in info.repositories:
            # FakeGitHub(public_reads=True): any valid token may fetch, as on github.com.
            if not (self.github.public_reads and level == "read"):
                raise HttpError(404, "Repository not found.")
            return info, repo
        if info.permissions is not None:
            granted = info.permissions.get("contents")
            if granted is None or LEVELS[granted] < LEVELS[level]:
                raise HttpError(403, f"Permission to {owner}/{repo}.git denied.")
        return info, repo

    def _bypasses(self, info: FakeToken, ruleset: dict[str, Any]) -> bool:
        app = self.github.app
        if info.installation_id is None or app is None:
            return False  # GITHUB_TOKEN and personal tokens are never an Integration
        if info.installation_id != app.installation_id:
            return False
        return any(
            actor.get("actor_type") == "Integration"
            and str(actor.get("actor_id")) == str(app.app_id)
            for actor in ruleset.get("bypass_actors", [])
        )

    def _violation(self, info: FakeToken, repo: str, update: RefUpdate) -> str | None:
        for ruleset in self.github.repo(repo).admin.rulesets.values():
            if ruleset.get("enforcement") != "active" or not _covers(ruleset, update.ref):
                continue
            if self._bypasses(info, ruleset):
                continue
            for rule in ruleset.get("rules", []):
                kind = rule.get("type")
                if kind == "pull_request" and update.kind != "deletion":
                    return RULE_VIOLATION.format(
                        ref=update.ref, rule="Changes must be made through a pull request."
                    )
                if kind == update.kind:
                    return RULE_VIOLATION.format(ref=update.ref, rule=REF_RULES[kind])
        return None

    # -- the routes ---------------------------------------------------------------------

    def _info_refs(self, request: Request) -> Response:
        service = request.query.get("service", "")
        if service not in ("git-upload-pack", "git-receive-pack"):
            raise HttpError(403, "only the smart HTTP protocol is served")
        _, repo = self._authorise(request, "write" if service == "git-receive-pack" else "read")
        return self._backend(request, repo)

    def _service(self, request: Request) -> Response:
        pushing = request.path.endswith("/git-receive-pack")
        info, repo = self._authorise(request, "write" if pushing else "read")
        if not pushing or info is None:  # a push always comes with a token
            return self._backend(request, repo)
        body = request.body
        if (request.header("Content-Encoding") or "") == "gzip":
            body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
        push = GitPush(info.token, repo, tuple(_ref_updates(body)))
        for update in push.updates:
            reason = self._violation(info, repo, update)
            if reason is not None:
                self.refused.append(GitPush(push.token, repo, push.updates, reason))
                raise HttpError(403, f"{reason}\npush declined due to repository rule violations")
        response = self._backend(request, repo)
        self.pushes.append(push)
        if repo in self._mirrored:
            self._mirror(repo)
        return response

    def _backend(self, request: Request, repo: str) -> Response:
        """Hand the request to ``git http-backend`` (CGI) and return its answer."""
        bare = self._served[repo]
        service = request.path.split(".git", 1)[1]  # /info/refs, /git-upload-pack...
        environ = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": str(bare.parent),
            "GIT_HTTP_EXPORT_ALL": "1",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            # Authentication was checked above; http-backend only needs to be told.
            "REMOTE_USER": "x-access-token",
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.receivepack",
            "GIT_CONFIG_VALUE_0": "true",
            "REQUEST_METHOD": request.method,
            "PATH_INFO": f"/{bare.name}{service}",
            "QUERY_STRING": "&".join(f"{k}={v}" for k, v in request.query.items()),
            "CONTENT_TYPE": request.header("Content-Type") or "",
            "CONTENT_LENGTH": str(len(request.body)),
        }
        if request.header("Content-Encoding"):
            environ["HTTP_CONTENT_ENCODING"] = request.header("Content-Encoding") or ""
        if request.header("Git-Protocol"):
            environ["GIT_PROTOCOL"] = request.header("Git-Protocol") or ""
        done = subprocess.run(
            ["git", "http-backend"],
            input=request.body,
            env=environ,
            capture_output=True,
            check=False,
        )
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        status, headers = 200, {}
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers[name.strip()] = value.strip()
        return Response(status, payload, headers)


def _covers(ruleset: dict[str, Any], ref: str) -> bool:
    target = ruleset.get("target", "branch")
    if target == "branch" and not ref.startswith("refs/heads/"):
        return False
    if target == "tag" and not ref.startswith("refs/tags/"):
        return False
    names = (ruleset.get("conditions") or {}).get("ref_name") or {}

    def matches(patterns: list[str]) -> bool:
        return any(p == "~ALL" or fnmatch.fnmatchcase(ref, p) for p in patterns)

    return matches(names.get("include", [])) and not matches(names.get("exclude", []))


def _ref_updates(body: bytes) -> list[RefUpdate]:
    """The commands at the start of a receive-pack request: pkt-lines up to a flush,
    after the ``shallow <sha>`` lines a shallow clone's push starts with (git's
    pack-protocol: ``update-requests = *shallow ( command-list | push-cert )``)."""
    updates, at = [], 0
    while at + 4 <= len(body):
        length = int(body[at : at + 4], 16)
        if length == 0:
            break
        line = body[at + 4 : at + length].split(b"\0", 1)[0].decode().strip()
        at += length
        if line.startswith("shallow "):
            continue  # a push from a shallow clone names its shallow commits first
        old, new, ref = line.split(" ", 2)
        updates.append(RefUpdate(old, new, ref))
    return updates


def deployed_rulesets(app_id: int | str) -> dict[int, dict[str, Any]]:
    """This repository's rulesets as ``deploy apply`` writes them (deploy/github/), keyed
    by id in ``FakeGitHub``'s shape, with ``app_id`` as the App's id: what tests and the
    sandbox enforce is what the deployment declares."""
    values = {
        "github_app_id": str(app_id),
        "github_installation_id": "1",
        # Only rulesets are taken from the spec; these fill the rest of it.
        "vault_addr": "http://127.0.0.1:8200",
        "vault_audience": "admin-requests",
    }
    spec = load_spec(DEFAULT_CONFIG_DIR, "vault", values)
    return {number: {"id": number, **ruleset} for number, ruleset in enumerate(spec.rulesets, 1)}
