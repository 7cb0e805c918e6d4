"""The GitHub client request kinds and the queue use: PyGithub plus a few raw calls.

Built once per run from Settings and a token, then passed in. PyGithub's own retries
and write throttling are off: every call goes through our ``Retrier`` (the policy in
services/http.py), so retries are bounded, honour Retry-After and rate-limit headers,
and tests control the clock. Methods take repository names inside the organisation
(``foo-feedstock``) or full names (``owner/name``) and return small plain values, so
callers never depend on PyGithub's objects.
"""

from __future__ import annotations

import base64
import functools
import logging
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import github
import requests
from github.GithubException import GithubException
from nacl.public import PublicKey, SealedBox

from admin_requests.config import Settings
from admin_requests.errors import (
    ConflictError,
    NotFoundError,
    PermanentError,
    TransientError,
    UncertainWriteError,
)
from admin_requests.services import tree_reads
from admin_requests.services.http import (
    Retrier,
    RetryableFailure,
    error_message,
    never_connected,
    permanent_error,
    retryable,
)

if TYPE_CHECKING:  # credentials/ imports the request kinds, which import this module
    from admin_requests.credentials.redact import Secret

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RepoState:
    full_name: str
    archived: bool
    default_branch: str
    id: int = 0  # GitHub's numeric id (App installations take repositories by id)


@dataclass(frozen=True)
class FileContent:
    path: str
    content: bytes
    sha: str  # the blob sha GitHub needs to update the file

    @property
    def text(self) -> str:
        return self.content.decode()


@dataclass(frozen=True)
class TreeEntry:
    """One entry of a folder: a file (``blob``), a folder (``tree``) or a submodule."""

    path: str  # relative to the folder that was listed
    type: str  # "blob", "tree" or "commit" (the contents API's "file" and "dir" mapped)
    sha: str


@dataclass(frozen=True)
class GitCommit:
    """A git commit object as the Git Data API has it."""

    sha: str
    tree: str  # the sha of its tree
    parents: tuple[str, ...]
    message: str


class _NothingToCommit(Exception):
    """change_files found every file as it should be: no commit."""


class _ReadAgain(Exception):
    """change_files' attempt on known files found nothing to change: read the branch."""


@dataclass(frozen=True)
class ChangedFiles:
    """What ``GitHubClient.change_files`` committed: the commit and the paths it wrote.

    ``files`` is every path it was asked to change as it is in ``commit`` (None: absent),
    what it wrote or read: a later ``change_files(..., after=this)`` starts from it
    without reading the files again.
    """

    commit: GitCommit
    paths: tuple[str, ...]
    files: Mapping[str, bytes | None] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class IssueInfo:
    number: int
    title: str
    body: str
    state: str
    labels: tuple[str, ...]
    author: str
    url: str
    created_at: str = ""  # ISO 8601, as GitHub sends it
    updated_at: str = ""
    comments: int = 0


@dataclass(frozen=True)
class PullInfo:
    number: int
    title: str
    author: str
    url: str


@dataclass(frozen=True)
class WorkflowInfo:
    id: int
    name: str
    path: str  # .github/workflows/x.yml
    state: str  # active, disabled_manually, ...
    url: str  # the workflow's page on GitHub


@dataclass(frozen=True)
class WorkflowRunInfo:
    id: int
    number: int
    event: str  # push, schedule, workflow_dispatch, pull_request, ...
    status: str  # queued, in_progress, completed, ...
    conclusion: str | None  # success, failure, cancelled, skipped, timed_out, ... when completed
    branch: str
    created_at: str  # ISO 8601, as GitHub sends it
    updated_at: str
    url: str  # the run's page on GitHub


@dataclass
class GitHubClient:
    """GitHub for one run; see the module docstring."""

    settings: Settings
    gh: github.Github
    retrier: Retrier
    # Repository -> its Actions public key ({key_id, key}), read once per client (see
    # set_actions_secret).
    _actions_keys: dict[str, dict[str, str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _actions_keys_lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    @classmethod
    def build(
        cls, settings: Settings, token: str, *, retrier: Retrier | None = None
    ) -> GitHubClient:
        gh = github.Github(
            base_url=settings.github_api_url,
            auth=github.Auth.Token(token),
            # PyGithub insists on whole seconds.
            timeout=max(1, math.ceil(settings.http_timeout_seconds)),
            retry=None,  # our Retrier retries, with a bounded and testable policy
            seconds_between_requests=None,
            seconds_between_writes=None,
            per_page=100,
            lazy=True,  # no call until an attribute is needed
        )
        return cls(settings, gh, retrier or Retrier())

    def __repr__(self) -> str:
        return f"GitHubClient({self.settings.github_api_url!r})"

    def full_name(self, repo: str) -> str:
        return repo if "/" in repo else f"{self.settings.organisation}/{repo}"

    def _url(self, repo: str, suffix: str = "") -> str:
        return f"{self.settings.github_api_url}/repos/{self.full_name(repo)}{suffix}"

    def _call(self, what: str, operation: Callable[[], T], *, repeatable: bool = True) -> T:
        """Run one GitHub call with retries, turning failures into our named errors.

        A call that is not ``repeatable`` (it creates something: an issue, a comment)
        is retried only when it cannot have happened: no connection was made, or a
        rate limit refused it. Any other failure may have carried it out (the answer
        was lost, timed out or was a 5xx), so it raises UncertainWriteError at once and
        the caller looks before writing again; a blind retry would write twice.
        """

        def uncertain(reason: str) -> UncertainWriteError:
            return UncertainWriteError(
                f"{what}: {reason}; it may or may not have happened, so it is not repeated blindly."
            )

        def attempt() -> T:
            try:
                return operation()
            except requests.ConnectTimeout:
                raise RetryableFailure("no connection in time") from None
            except requests.Timeout:
                if not repeatable:
                    raise uncertain("no answer in time") from None
                raise RetryableFailure("no answer in time") from None
            except requests.ConnectionError as error:
                if not repeatable and not never_connected(error):
                    raise uncertain(f"the connection failed ({type(error).__name__})") from None
                raise RetryableFailure(f"connection failed ({type(error).__name__})") from None
            except ValueError:  # a body that starts like JSON but is not
                if not repeatable:
                    raise uncertain("the answer was not JSON") from None
                raise RetryableFailure("the answer was not JSON") from None
            except GithubException as error:
                headers = {str(k): str(v) for k, v in (error.headers or {}).items()}
                message = _message(error)
                failure = retryable(error.status, headers, self.retrier.clock(), message)
                if failure is not None and not repeatable and not failure.rate_limited:
                    raise uncertain(f"HTTP {error.status}") from None
                if failure is not None:
                    raise failure from None
                raise permanent_error(error.status, what, message) from None
            except RetryableFailure as failure:  # _checked_json: a proxy page, not JSON
                if not repeatable:
                    raise uncertain(failure.reason) from None
                raise

        return self.retrier.run(attempt, what)

    def _raw(self, verb: str, url: str, **kwargs: Any) -> Any:
        with self.retrier.paced(verb):  # mutations a second apart, as GitHub asks
            _, data = self.gh.requester.requestJsonAndCheck(verb, url, **kwargs)
        return _checked_json(data)

    def _get_page(self, url: str, params: dict[str, str] | None) -> tuple[dict[str, Any], Any]:
        headers, data = self.gh.requester.requestJsonAndCheck("GET", url, parameters=params)
        return headers, _checked_json(data)

    def _pages(self, what: str, url: str, params: dict[str, str]) -> list[Any]:
        """Every page of a list endpoint, following the Link headers (each page retried)."""
        pages: list[Any] = []
        next_url: str | None = url
        page_params: dict[str, str] | None = params  # the next links carry the query
        while next_url is not None:
            headers, data = self._call(
                what, functools.partial(self._get_page, next_url, page_params)
            )
            pages.append(data)
            next_url = _next_link(headers)
            page_params = None
        return pages

    # -- repositories -----------------------------------------------------------------

    def repository(self, repo: str) -> RepoState:
        """The repository's state; NotFoundError when it does not exist."""
        data = self._call(
            f"read repository {self.full_name(repo)!r}", lambda: self._raw("GET", self._url(repo))
        )
        return RepoState(
            data["full_name"], bool(data["archived"]), data["default_branch"], int(data["id"])
        )

    def set_archived(self, repo: str, archived: bool) -> None:
        verb = "archive" if archived else "unarchive"
        self._call(
            f"{verb} repository {self.full_name(repo)!r}",
            lambda: self._raw("PATCH", self._url(repo), input={"archived": archived}),
        )

    def create_repository(self, name: str, *, description: str) -> RepoState:
        """Create ``name`` in the organisation as conda-smithy's ``create_github_repo``
        does (``POST /orgs/{org}/repos``: public, no wiki, its description).

        ConflictError when a repository of that name exists (GitHub's 422 "name already
        exists on this account"). Not repeated blindly: a lost answer raises
        UncertainWriteError, and the caller looks the repository up.
        """
        org = self.settings.organisation
        what = f"create the repository {org}/{name}"
        body = {"name": name, "description": description, "has_wiki": False, "private": False}
        try:
            data = self._call(
                what,
                lambda: self._raw(
                    "POST", f"{self.settings.github_api_url}/orgs/{quote(org)}/repos", input=body
                ),
                repeatable=False,
            )
        except PermanentError as error:
            if error.status == 422 and "already exists" in str(error):
                raise ConflictError(f"{what}: it already exists", status=422) from None
            raise
        return RepoState(
            data["full_name"], bool(data["archived"]), data["default_branch"], int(data["id"])
        )

    def repository_description(self, repo: str) -> str:
        data = self._call(
            f"read repository {self.full_name(repo)!r}", lambda: self._raw("GET", self._url(repo))
        )
        return str(data.get("description") or "")

    # -- rulesets (feedstock creation) -------------------------------------------------

    def rulesets(self, repo: str) -> list[dict[str, Any]]:
        """The repository's rulesets as GitHub lists them (id, name, enforcement...)."""
        pages = self._pages(
            f"list the rulesets of {self.full_name(repo)!r}",
            self._url(repo, "/rulesets"),
            {"per_page": "100"},
        )
        return [ruleset for page in pages for ruleset in page]

    def ruleset(self, repo: str, number: int) -> dict[str, Any]:
        data: dict[str, Any] = self._call(
            f"read ruleset {number} of {self.full_name(repo)!r}",
            lambda: self._raw("GET", self._url(repo, f"/rulesets/{number}")),
        )
        return data

    def write_ruleset(self, repo: str, body: dict[str, Any], number: int | None = None) -> int:
        """Create the ruleset (``number`` None) or replace ruleset ``number``; its id.

        A create whose answer was lost is looked up by name by the caller before it is
        made again (GitHub refuses a second ruleset of the same name anyway).
        """
        verb, suffix = ("POST", "/rulesets") if number is None else ("PUT", f"/rulesets/{number}")
        data = self._call(
            f"write ruleset {body.get('name')!r} of {self.full_name(repo)!r}",
            lambda: self._raw(verb, self._url(repo, suffix), input=body),
            repeatable=number is not None,
        )
        return int(data["id"])

    # -- references -------------------------------------------------------------------

    def get_ref(self, repo: str, ref: str) -> str | None:
        """The commit SHA of ``heads/x`` or ``tags/y``, or None when it does not exist."""
        try:
            data = self._call(
                f"read {ref!r} in {self.full_name(repo)!r}",
                lambda: self._raw("GET", self._url(repo, f"/git/ref/{quote(ref)}")),
            )
        except NotFoundError:
            return None
        if isinstance(data, list):  # older GitHub servers answer with prefix matches
            data = next((d for d in data if d["ref"] == f"refs/{ref}"), None)
            if data is None:
                return None
        return str(data["object"]["sha"])

    def create_ref(self, repo: str, ref: str, sha: str) -> str:
        """Create ``refs/{ref}`` at ``sha``; return the SHA GitHub reports for it.

        ConflictError when the reference already exists.
        """
        what = f"create {ref!r} in {self.full_name(repo)!r}"
        try:
            data = self._call(
                what,
                lambda: self._raw(
                    "POST", self._url(repo, "/git/refs"), input={"ref": f"refs/{ref}", "sha": sha}
                ),
            )
        except PermanentError as error:
            if error.status == 422 and "already exists" in str(error):
                raise ConflictError(f"{what}: it already exists", status=422) from None
            raise
        return str(data["object"]["sha"])

    def delete_ref(self, repo: str, ref: str) -> bool:
        """Delete ``refs/{ref}``; False when it was already gone."""
        try:
            self._call(
                f"delete {ref!r} in {self.full_name(repo)!r}",
                lambda: self._raw("DELETE", self._url(repo, f"/git/refs/{quote(ref)}")),
            )
        except PermanentError as error:
            if error.status == 422 and "does not exist" in str(error):
                return False
            raise
        return True

    # -- files ------------------------------------------------------------------------

    def get_file(self, repo: str, path: str, *, ref: str | None = None) -> FileContent | None:
        """A file (on ``ref``, else the default branch) with its blob sha, or None."""
        params = {"ref": ref} if ref else None
        try:
            data = self._call(
                f"read {path!r} in {self.full_name(repo)!r}",
                lambda: self._raw(
                    "GET", self._url(repo, f"/contents/{quote(path)}"), parameters=params
                ),
            )
        except NotFoundError:
            return None
        if not isinstance(data, dict) or data.get("type") != "file":
            raise PermanentError(
                f"{path!r} in {self.full_name(repo)!r} is a directory, not a file; check the "
                "configured path."
            )
        blob = str(data["sha"])
        if data.get("encoding") == "none":
            # Past 1 MB the contents API answers without the content: read the blob.
            content = self._blob(repo, blob)
        else:
            content = base64.b64decode(data.get("content") or "")
        size = data.get("size")
        if isinstance(size, int) and len(content) != size:
            # Never hand on a file read short: a write based on it would truncate it.
            raise TransientError(
                f"{path!r} in {self.full_name(repo)!r} came back with {len(content)} of its "
                f"{size} bytes; nothing was written, it is read again in a later run."
            )
        return FileContent(path, content, blob)

    def list_folder(self, repo: str, path: str) -> list[TreeEntry] | None:
        """What is directly in folder ``path`` on the default branch; None if it is absent.

        The contents API, which lists at most 1,000 entries: for small folders (the
        parents of feedstock-outputs' shards); list large ones with ``get_tree``.
        """
        try:
            data = self._call(
                f"list {path!r} in {self.full_name(repo)!r}",
                lambda: self._raw("GET", self._url(repo, f"/contents/{quote(path)}")),
            )
        except NotFoundError:
            return None
        if not isinstance(data, list):
            raise PermanentError(
                f"{path!r} in {self.full_name(repo)!r} is a file, not a folder; check the "
                "configured path."
            )
        kinds = {"file": "blob", "dir": "tree", "submodule": "commit"}
        return [
            TreeEntry(
                str(entry["name"]),
                kinds.get(str(entry["type"]), str(entry["type"])),
                str(entry["sha"]),
            )
            for entry in data
        ]

    def get_tree(
        self, repo: str, sha: str, *, recursive: bool = False
    ) -> tuple[list[TreeEntry], bool]:
        """A git tree's entries (every level below it when ``recursive``), and whether
        GitHub truncated the list (past 100,000 entries or 7 MB when recursive)."""
        params = {"recursive": "1"} if recursive else None
        data = self._call(
            f"read tree {sha[:12]} in {self.full_name(repo)!r}",
            lambda: self._raw(
                "GET", self._url(repo, f"/git/trees/{quote(sha)}"), parameters=params
            ),
        )
        entries = [
            TreeEntry(str(entry["path"]), str(entry["type"]), str(entry["sha"]))
            for entry in data.get("tree") or []
        ]
        return entries, bool(data.get("truncated"))

    def get_blob(self, repo: str, sha: str) -> bytes:
        """A file's bytes by its blob sha (as a tree lists it)."""
        return self._blob(repo, sha)

    def _blob(self, repo: str, blob: str) -> bytes:
        """A file's bytes from the blobs API (any size up to 100 MB)."""
        data = self._call(
            f"read blob {blob[:12]} in {self.full_name(repo)!r}",
            lambda: self._raw("GET", self._url(repo, f"/git/blobs/{blob}")),
        )
        if data.get("encoding") != "base64":
            raise PermanentError(
                f"blob {blob[:12]} in {self.full_name(repo)!r} came back as "
                f"{data.get('encoding')!r}, not base64; read it with git instead."
            )
        return base64.b64decode(data["content"])

    def put_file(
        self,
        repo: str,
        path: str,
        content: bytes,
        message: str,
        sha: str | None,
        *,
        branch: str | None = None,
    ) -> str:
        """Create (``sha`` None) or update a file; ConflictError when ``sha`` is stale."""
        body: dict[str, Any] = {"message": message, "content": base64.b64encode(content).decode()}
        if sha is not None:
            body["sha"] = sha
        if branch is not None:
            body["branch"] = branch
        what = f"write {path!r} in {self.full_name(repo)!r}"
        try:
            data = self._call(
                what,
                lambda: self._raw("PUT", self._url(repo, f"/contents/{quote(path)}"), input=body),
            )
        except PermanentError as error:
            # 422 "sha wasn't supplied": someone created the file since we read it.
            if error.status in (409, 422) and "sha" in str(error):
                raise ConflictError(f"{what}: the file changed meanwhile", status=409) from None
            raise
        return str(data["content"]["sha"])

    def update_file(
        self,
        repo: str,
        path: str,
        change: Callable[[bytes | None], bytes | None],
        message: str,
        *,
        attempts: int = 5,
        branch: str | None = None,
    ) -> bool:
        """Read, ``change`` and write a file, re-reading when someone else wrote it first.

        ``change`` gets the current bytes (None when missing) and returns the new bytes,
        or None for "nothing to change". Returns whether a write happened. The sha the
        write is based on is GitHub's optimistic lock: nobody's change is overwritten.
        """
        for _ in range(attempts):
            current = self.get_file(repo, path, ref=branch)
            new = change(current.content if current else None)
            if new is None or (current is not None and new == current.content):
                return False
            try:
                self.put_file(
                    repo, path, new, message, current.sha if current else None, branch=branch
                )
                return True
            except ConflictError:
                log.info("%s in %s changed while we wrote it; reading it again", path, repo)
        raise TransientError(
            f"{path!r} in {self.full_name(repo)!r} kept changing while we wrote it "
            f"({attempts} tries); it is retried in a later run."
        )

    # -- git data: commits without a clone --------------------------------------------

    def get_commit(self, repo: str, sha: str) -> GitCommit:
        """The git commit object ``sha`` (its tree and parents); NotFoundError if unknown."""
        data = self._call(
            f"read commit {sha[:12]} in {self.full_name(repo)!r}",
            lambda: self._raw("GET", self._url(repo, f"/git/commits/{quote(sha)}")),
        )
        return _git_commit(data)

    def create_commit(
        self, repo: str, message: str, tree: str, parents: Sequence[str]
    ) -> GitCommit:
        """A new commit object; no branch points at it until ``update_ref`` moves one.

        Repeated when its answer is lost: a second object that nothing points at is
        never seen (git keeps it unreachable), so a retry cannot write anything twice.
        """
        body = {"message": message, "tree": tree, "parents": list(parents)}
        data = self._call(
            f"create a commit in {self.full_name(repo)!r}",
            lambda: self._raw("POST", self._url(repo, "/git/commits"), input=body),
        )
        return _git_commit(data)

    def update_ref(self, repo: str, ref: str, sha: str, *, force: bool = False) -> None:
        """Move ``refs/{ref}`` to ``sha``.

        Without ``force`` GitHub moves it only forward (``sha`` must descend from where
        it is now): ConflictError when someone else moved it meanwhile. Moving it again
        to where it already is changes nothing, so a lost answer is simply retried.
        """
        what = f"move {ref!r} of {self.full_name(repo)!r} to {sha[:12]}"
        try:
            self._call(
                what,
                lambda: self._raw(
                    "PATCH",
                    self._url(repo, f"/git/refs/{quote(ref)}"),
                    input={"sha": sha, "force": force},
                ),
            )
        except PermanentError as error:
            if error.status == 422 and "fast forward" in str(error):
                raise ConflictError(
                    f"{what}: it moved meanwhile (not a fast forward)", status=422
                ) from None
            raise

    def commit_to_branch(
        self,
        repo: str,
        branch: str,
        message: str | Callable[[], str],
        *,
        tree_for: Callable[[GitCommit], str] | None = None,
        attempts: int = 5,
    ) -> GitCommit:
        """Add one commit on top of ``branch``, as a push would, and return it.

        Reads the branch's head commit, makes a commit on it whose tree is
        ``tree_for(head)`` (by default the head's own tree: an empty commit; a caller
        that changes files builds the tree there, e.g. with ``POST /git/trees``) and
        moves the branch to it without force. When someone pushed in between, it starts
        again from the new head, at most ``attempts`` times, so nobody's push is undone.
        ``message`` may be a function, called once the tree is built.
        """
        name = self.full_name(repo)
        for _ in range(attempts):
            head = self.get_ref(repo, f"heads/{branch}")
            if head is None:
                raise NotFoundError(
                    f"{name!r} has no branch {branch!r}; check the configured branch.",
                    status=404,
                )
            parent = self.get_commit(repo, head)
            tree = tree_for(parent) if tree_for is not None else parent.tree
            text = message() if callable(message) else message
            commit = self.create_commit(repo, text, tree, [parent.sha])
            try:
                self.update_ref(repo, f"heads/{branch}", commit.sha)
            except ConflictError:
                log.info("%s of %s moved while we committed; reading it again", branch, name)
                continue
            return commit
        raise TransientError(
            f"{branch!r} of {name!r} kept moving while we committed to it ({attempts} "
            "tries); it is tried again in a later run."
        )

    def create_tree(self, repo: str, base_tree: str, files: Mapping[str, bytes]) -> str:
        """A tree: ``base_tree`` with ``files`` (path -> text content) written over it.

        The contents go inline (``content``), so one call writes them all: no blob per
        file. They must be UTF-8 text, which every file admin-requests writes is.
        Repeated when its answer is lost: a tree nothing points at is never seen.
        """
        body = {
            "base_tree": base_tree,
            "tree": [
                {"path": path, "mode": "100644", "type": "blob", "content": content.decode()}
                for path, content in sorted(files.items())
            ],
        }
        data = self._call(
            f"create a tree of {len(files)} files in {self.full_name(repo)!r}",
            lambda: self._raw("POST", self._url(repo, "/git/trees"), input=body),
        )
        return str(data["sha"])

    def change_files(
        self,
        repo: str,
        branch: str,
        changes: Mapping[str, Callable[[bytes | None], bytes | None]],
        message: str | Callable[[], str],
        *,
        attempts: int = 5,
        after: ChangedFiles | None = None,
    ) -> ChangedFiles | None:
        """Apply every ``change`` to its file in one commit on ``branch``; None if none did.

        Like ``update_file`` for many files at once: each ``change`` gets the file's
        current bytes (None when missing) and returns the new ones, or None for nothing
        to change. The files are read from the branch after its head is read, so a push
        in between (which would make them newer than that head) also makes the ref
        update a non-fast-forward: then everything is read and applied again, at most
        ``attempts`` times, and nobody's change is undone. Calls: the ref, its commit,
        the reads, then a tree, a commit and a ref update, whatever the number of files.
        The reads are a contents read per file for a few files, else the git trees
        above them and a blob per file that exists (services/tree_reads.py: 2,000 new
        outputs of feedstock-outputs are a few listings, not 2,000 reads). ``message``
        may be a function, called once the changes are known (to name only what
        changed).

        ``after``, what an earlier ``change_files`` on this branch committed: the first
        attempt builds on that commit and on the files as it left them (read only the
        paths it does not know, at that commit), so it costs a tree, a commit and a ref
        update. When the branch moved since (the ref update is not a fast forward), or
        nothing would change on those files, it starts again as without ``after``: head,
        commit and every file read afresh.
        """
        if after is not None:
            try:
                return self._change_after(repo, branch, changes, message, after)
            except (ConflictError, _ReadAgain):
                log.info("%s of %s: reading the branch and its files again", branch, repo)
        written: dict[str, bytes] = {}
        seen: dict[str, bytes | None] = {}

        def tree_for(parent: GitCommit) -> str:
            written.clear()  # each attempt reads and applies everything again
            seen.clear()
            now, then = _apply_all(changes, self._current_files(repo, branch, list(changes)))
            written.update(now)
            seen.update(then)
            if not written:
                raise _NothingToCommit
            return self.create_tree(repo, parent.tree, written)

        try:
            commit = self.commit_to_branch(
                repo, branch, message, tree_for=tree_for, attempts=attempts
            )
        except _NothingToCommit:
            return None
        return ChangedFiles(commit, tuple(sorted(written)), dict(seen))

    def _change_after(
        self,
        repo: str,
        branch: str,
        changes: Mapping[str, Callable[[bytes | None], bytes | None]],
        message: str | Callable[[], str],
        after: ChangedFiles,
    ) -> ChangedFiles | None:
        """``change_files``' first attempt on top of ``after``: ConflictError when the
        branch moved since, ``_ReadAgain`` when nothing would change on ``after``'s files."""
        parent = after.commit
        currents: dict[str, bytes | None] = {}
        for path in changes:
            if path in after.files:
                currents[path] = after.files[path]
            else:
                found = self.get_file(repo, path, ref=parent.sha)
                currents[path] = found.content if found else None
        written, seen = _apply_all(changes, currents)
        if not written:
            # Nothing to change on the files as we left them; whether that still holds
            # on the branch now is only known by reading it.
            raise _ReadAgain
        tree = self.create_tree(repo, parent.tree, written)
        text = message() if callable(message) else message
        commit = self.create_commit(repo, text, tree, [parent.sha])
        self.update_ref(repo, f"heads/{branch}", commit.sha)  # ConflictError if it moved
        return ChangedFiles(commit, tuple(sorted(written)), seen)

    def _current_files(self, repo: str, branch: str, paths: list[str]) -> dict[str, bytes | None]:
        if len(paths) <= tree_reads.PER_FILE_UP_TO:
            found = {path: self.get_file(repo, path, ref=branch) for path in paths}
            return {path: file.content if file else None for path, file in found.items()}
        return tree_reads.files_on_branch(self, repo, branch, paths)

    # -- Actions secrets (token_reset) ------------------------------------------------

    def set_actions_secret(self, repo: str, name: str, value: Secret) -> None:
        """Store ``value`` as the repository's Actions secret ``name`` (new or replaced).

        GitHub takes secrets only encrypted to the repository's public key with a
        libsodium sealed box: the value is sealed here and never sent or logged in clear.
        The key is read once per repository for this client (``actions_public_key``).
        GitHub's description of the PUT (@octokit/openapi) documents only 201 and 204;
        if a key rotated meanwhile, the answer is a 422 (what the fake gives for a
        ``key_id`` that is not the repository's): then the key is read again and, when
        it did change, the secret is sealed to the new one and stored once more.
        """
        key = self.actions_public_key(repo)
        try:
            self._put_actions_secret(repo, name, value, key)
        except PermanentError as error:
            if error.status != 422:
                raise
            fresh = self.actions_public_key(repo, fresh=True)
            if fresh["key_id"] == key["key_id"]:
                raise
            log.info("the Actions public key of %s changed; sealing to the new one", repo)
            self._put_actions_secret(repo, name, value, fresh)

    def actions_public_key(self, repo: str, *, fresh: bool = False) -> dict[str, str]:
        """The repository's Actions public key (``key_id``, ``key``), read once per client
        unless ``fresh``. A client lives for one run's credentials (an hour at most)."""
        with self._actions_keys_lock:
            known = None if fresh else self._actions_keys.get(repo)
        if known is not None:
            return known
        data = self._call(
            f"read the Actions public key of {self.full_name(repo)!r}",
            lambda: self._raw("GET", self._url(repo, "/actions/secrets/public-key")),
        )
        key = {"key_id": str(data["key_id"]), "key": str(data["key"])}
        with self._actions_keys_lock:
            self._actions_keys[repo] = key
        return key

    def _put_actions_secret(
        self, repo: str, name: str, value: Secret, key: Mapping[str, str]
    ) -> None:
        body = {"encrypted_value": seal_for_github(key["key"], value), "key_id": key["key_id"]}
        self._call(
            f"store the Actions secret {name!r} of {self.full_name(repo)!r}",
            lambda: self._raw(
                "PUT", self._url(repo, f"/actions/secrets/{quote(name)}"), input=body
            ),
        )

    def actions_secret_exists(self, repo: str, name: str) -> bool:
        """Whether the repository has the Actions secret ``name`` (its value is never read)."""
        try:
            self._call(
                f"look up the Actions secret {name!r} of {self.full_name(repo)!r}",
                lambda: self._raw("GET", self._url(repo, f"/actions/secrets/{quote(name)}")),
            )
        except NotFoundError:
            return False
        return True

    # -- pull requests to feedstocks (cirun) -------------------------------------------

    def open_pull_from(self, repo: str, branch: str) -> PullInfo | None:
        """The open pull request whose head is ``branch`` of ``repo`` itself, if any."""
        owner = self.full_name(repo).split("/")[0]
        data = self._call(
            f"list pull requests of {self.full_name(repo)!r}",
            lambda: self._raw(
                "GET",
                self._url(repo, "/pulls"),
                parameters={"head": f"{owner}:{branch}", "state": "open", "per_page": 100},
            ),
        )
        found = [_pull(p) for p in data if p.get("head", {}).get("ref") == branch]
        return found[0] if found else None

    def create_pull(self, repo: str, *, title: str, body: str, head: str, base: str) -> PullInfo:
        """Open a pull request from ``head``; the open one from ``head`` if it exists.

        Not repeated blindly: when the answer is lost (or GitHub says one already
        exists for ``head``, our own earlier call), the open pull request is looked up.
        """
        what = f"open a pull request in {self.full_name(repo)!r}"
        try:
            data = self._call(
                what,
                lambda: self._raw(
                    "POST",
                    self._url(repo, "/pulls"),
                    input={"title": title, "body": body, "head": head, "base": base},
                ),
                repeatable=False,
            )
        except UncertainWriteError:
            existing = self.open_pull_from(repo, head)
            if existing is None:
                raise
            return existing
        except PermanentError as error:
            existing = None
            if error.status == 422 and "already exists" in str(error):
                existing = self.open_pull_from(repo, head)
            if existing is None:
                raise
            return existing
        return _pull(data)

    def comment_bodies(self, repo: str, number: int) -> list[str]:
        """The text of every comment on an issue or pull request."""
        pages = self._pages(
            f"read the comments of {self.full_name(repo)}#{number}",
            self._url(repo, f"/issues/{number}/comments"),
            {"per_page": "100"},
        )
        return [str(c.get("body") or "") for page in pages for c in page]

    # -- issues and pull requests (the queue) -----------------------------------------

    def last_comment(self, repo: str, number: int, count: int) -> tuple[str, str] | None:
        """(body, created_at) of the newest of an issue's ``count`` comments, in one call:
        comments come oldest first, so with one per page the newest is page ``count``."""
        if count <= 0:
            return None
        data = self._call(
            f"read the last comment of {self.full_name(repo)}#{number}",
            lambda: self._raw(
                "GET",
                self._url(repo, f"/issues/{number}/comments"),
                parameters={"per_page": 1, "page": count},
            ),
        )
        if not data:
            return None
        return str(data[-1].get("body") or ""), str(data[-1].get("created_at") or "")

    def list_issues(
        self, repo: str, *, labels: tuple[str, ...] = (), state: str = "open"
    ) -> list[IssueInfo]:
        """Issues (not pull requests) with all ``labels``, in ``state`` (open/closed/all)."""
        params = {"state": state, "per_page": "100"}
        if labels:
            params["labels"] = ",".join(labels)
        pages = self._pages(
            f"list issues of {self.full_name(repo)!r}", self._url(repo, "/issues"), params
        )
        return [_issue(i) for page in pages for i in page if "pull_request" not in i]

    def create_issue(
        self, repo: str, title: str, body: str, labels: tuple[str, ...] = ()
    ) -> IssueInfo:
        """Open an issue; UncertainWriteError when it may have been opened anyway."""
        data = self._call(
            f"open an issue in {self.full_name(repo)!r}",
            lambda: self._raw(
                "POST",
                self._url(repo, "/issues"),
                input={"title": title, "body": body, "labels": list(labels)},
            ),
            repeatable=False,
        )
        return _issue(data)

    def comment(self, repo: str, number: int, body: str) -> None:
        """Comment on an issue; UncertainWriteError when it may have been posted anyway."""
        self._call(
            f"comment on {self.full_name(repo)}#{number}",
            lambda: self._raw(
                "POST", self._url(repo, f"/issues/{number}/comments"), input={"body": body}
            ),
            repeatable=False,
        )

    def close_issue(self, repo: str, number: int, reason: str = "completed") -> None:
        """Close an open issue; one already closed is left as it is.

        A run killed after closing it, before recording that, closes it again when it
        is re-run: read first, so that changes nothing (not even its closing time).
        """
        issue = self._call(
            f"read {self.full_name(repo)}#{number}",
            lambda: self._raw("GET", self._url(repo, f"/issues/{number}")),
        )
        if isinstance(issue, dict) and issue.get("state") == "closed":
            return
        self._call(
            f"close {self.full_name(repo)}#{number}",
            lambda: self._raw(
                "PATCH",
                self._url(repo, f"/issues/{number}"),
                input={"state": "closed", "state_reason": reason},
            ),
        )

    def pulls_for_commit(self, repo: str, sha: str) -> list[PullInfo]:
        """The pull requests that brought ``sha`` in (who asked for a request file)."""
        data = self._call(
            f"find the pull request of {sha[:12]} in {self.full_name(repo)!r}",
            lambda: self._raw(
                "GET", self._url(repo, f"/commits/{sha}/pulls"), parameters={"per_page": 100}
            ),
        )
        return [_pull(p) for p in data]

    # -- workflow runs (the status page; needs actions: read) -------------------------

    def list_workflows(self, repo: str) -> list[WorkflowInfo]:
        """Every workflow of the repository, as Actions lists them."""
        pages = self._pages(
            f"list the workflows of {self.full_name(repo)!r}",
            self._url(repo, "/actions/workflows"),
            {"per_page": "100"},
        )
        return [
            WorkflowInfo(
                int(w["id"]), str(w["name"]), str(w["path"]), str(w["state"]), str(w["html_url"])
            )
            for page in pages
            for w in page["workflows"]
        ]

    def workflow_runs(
        self, repo: str, workflow_id: int, *, limit: int = 30
    ) -> list[WorkflowRunInfo]:
        """The latest ``limit`` (at most 100) runs of one workflow, newest first."""
        params = {"per_page": str(min(max(limit, 1), 100)), "exclude_pull_requests": "true"}
        data = self._call(
            f"list the runs of workflow {workflow_id} in {self.full_name(repo)!r}",
            lambda: self._raw(
                "GET",
                self._url(repo, f"/actions/workflows/{workflow_id}/runs"),
                parameters=params,
            ),
        )
        return [_workflow_run(r) for r in data["workflow_runs"][:limit]]

    def workflow_runs_since(self, repo: str, workflow: str, since: str) -> list[WorkflowRunInfo]:
        """Every run of ``workflow`` (its file name or id) created at or after ``since``
        (ISO 8601), newest first: 100 a page, as few calls as the count allows."""
        pages = self._pages(
            f"list the runs of {workflow!r} in {self.full_name(repo)!r}",
            self._url(repo, f"/actions/workflows/{quote(workflow)}/runs"),
            {"per_page": "100", "created": f">={since}", "exclude_pull_requests": "true"},
        )
        return [_workflow_run(r) for page in pages for r in page["workflow_runs"]]


def _apply_all(
    changes: Mapping[str, Callable[[bytes | None], bytes | None]],
    currents: Mapping[str, bytes | None],
) -> tuple[dict[str, bytes], dict[str, bytes | None]]:
    """Each change applied to its file's current bytes: the files to write, and every
    file as it is after (its new bytes, or the current ones when it changes nothing)."""
    written: dict[str, bytes] = {}
    seen: dict[str, bytes | None] = {}
    for path, change in changes.items():
        new = _applied(change, currents[path])
        seen[path] = currents[path] if new is None else new
        if new is not None:
            written[path] = new
    return written, seen


def _applied(change: Callable[[bytes | None], bytes | None], current: bytes | None) -> bytes | None:
    """What ``change`` makes of ``current``: the new bytes, or None when it changes nothing."""
    new = change(current)
    if new is None or (current is not None and new == current):
        return None
    return new


def _git_commit(data: dict[str, Any]) -> GitCommit:
    return GitCommit(
        str(data["sha"]),
        str(data["tree"]["sha"]),
        tuple(str(p["sha"]) for p in data.get("parents", [])),
        str(data.get("message", "")),
    )


def _pull(data: dict[str, Any]) -> PullInfo:
    return PullInfo(
        int(data["number"]), str(data["title"]), str(data["user"]["login"]), str(data["html_url"])
    )


def seal_for_github(public_key_b64: str, value: Secret) -> str:
    """``value`` in a libsodium sealed box for ``public_key_b64``, base64 (GitHub's format)."""
    box = SealedBox(PublicKey(base64.b64decode(public_key_b64)))
    return base64.b64encode(box.encrypt(value.reveal().encode())).decode()


def _workflow_run(data: dict[str, Any]) -> WorkflowRunInfo:
    conclusion = data.get("conclusion")
    return WorkflowRunInfo(
        int(data["id"]),
        int(data["run_number"]),
        str(data["event"]),
        str(data["status"]),
        str(conclusion) if conclusion is not None else None,
        str(data.get("head_branch") or ""),
        str(data["created_at"]),
        str(data.get("updated_at") or data["created_at"]),
        str(data["html_url"]),
    )


def _issue(data: dict[str, Any]) -> IssueInfo:
    return IssueInfo(
        int(data["number"]),
        str(data["title"]),
        str(data.get("body") or ""),
        str(data["state"]),
        tuple(str(label["name"]) for label in data.get("labels", [])),
        str((data.get("user") or {}).get("login", "")),
        str(data.get("html_url", "")),
        str(data.get("created_at") or ""),
        str(data.get("updated_at") or ""),
        int(data.get("comments") or 0),
    )


def _checked_json(data: Any) -> Any:
    """PyGithub wraps a body that is not JSON as {"data": text}: a proxy page, not an answer."""
    if (
        isinstance(data, dict)
        and set(data) <= {"data", "url"}
        and isinstance(data.get("data"), str)
    ):
        raise RetryableFailure("the answer was not JSON")
    return data


def _next_link(headers: dict[str, Any]) -> str | None:
    for part in str(headers.get("link", "")).split(","):
        url, _, rel = part.partition(";")
        if 'rel="next"' in rel:
            return url.strip().strip("<>")
    return None


def _message(error: GithubException) -> str:
    return error_message(error.data)
