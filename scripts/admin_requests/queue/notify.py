"""Tell the requester when a request is parked, and when it later completes.

A request gets at most one open issue: found again by its label plus a hidden marker
naming the request file, so a run that crashed after opening it (before its state was
committed) reuses it instead of opening a second one, and says nothing twice: an issue
that already says what we would say is adopted as it is, and a comment identical to
the issue's last one is not posted again. The issue @-mentions the author of the pull
request that added the file.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from admin_requests.actions_output import escape_markdown, printable, render
from admin_requests.errors import TransientError, UncertainWriteError
from admin_requests.queue.gitops import Git
from admin_requests.services.github import GitHubClient

log = logging.getLogger(__name__)

FAILURE_LABEL = "admin-request-failure"
# Issue bodies are limited (65,536 characters); long requests list the first items only.
ISSUE_MAX_ITEMS = 50
# GitHub logins: alphanumerics and single hyphens, at most 39 characters; apps end in [bot].
LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}(?:\[bot\])?$")


@dataclass(frozen=True)
class TrackedIssue:
    number: int
    title: str
    body: str


class IssueTracker(Protocol):
    """The issue calls the queue makes; the GitHub client implements them."""

    def open_issues_with_label(self, label: str) -> Sequence[TrackedIssue]: ...

    def create_issue(self, title: str, body: str, labels: Sequence[str]) -> int: ...

    def comment_on_issue(self, number: int, body: str) -> None: ...

    def close_issue(self, number: int) -> None: ...

    def pull_request_authors(self, commit_sha: str) -> Sequence[str]:
        """Logins of the authors of the pull requests that contain this commit."""
        ...


def marker(request: str) -> str:
    # Inside an HTML comment: '--' would end it early, so such names cannot be markers.
    return f"<!-- admin-requests:request-file={request.replace('--', '-%2D')} -->"


@dataclass(frozen=True)
class Requester:
    """Who to address: a GitHub login (mentioned) or, failing that, a commit author name."""

    login: str | None
    name: str | None

    @property
    def mention(self) -> str:
        """Markdown for the issue's first word: the one @-mention an issue body makes.

        Every other '@' in the body (request text, a commit author's name) is neutralised
        by the templates' filters, so an issue notifies its requester and nobody else.
        """
        if self.login and LOGIN.match(self.login):
            return f"@{self.login}"
        return escape_markdown(printable(self.name or "requester"))


@dataclass(frozen=True)
class IssueContext:
    """What the issue templates show; built by the queue runner."""

    request: str
    action: str | None
    reason: str
    error: str
    pending: Sequence[tuple[str, str]]  # (item description, why it is not done)
    done: Sequence[str]
    attempts: int
    retry_hint: str
    problems: Sequence[str] = ()  # why the file is not valid, one line each


class Notifier:
    def __init__(self, tracker: IssueTracker, git: Git, label: str = FAILURE_LABEL) -> None:
        self.tracker = tracker
        self.git = git
        self.label = label

    def find_issue(self, request: str) -> int | None:
        found = self._find(request)
        return found.number if found else None

    def _find(self, request: str) -> TrackedIssue | None:
        needle = marker(request)
        for issue in self.tracker.open_issues_with_label(self.label):
            if needle in issue.body:
                return issue
        return None

    def requester(self, request: str) -> Requester:
        sha = self.git.commit_that_added(request)
        if sha is None:
            return Requester(None, None)
        try:
            for login in self.tracker.pull_request_authors(sha):
                if LOGIN.match(login):
                    return Requester(login, None)
        except Exception:  # the commit author is a fine fallback; keep going
            log.warning("cannot look up the pull request of %s", sha, exc_info=True)
        author = self.git.author_of(sha)
        return Requester(None, author.name if author else None)

    def report_parked(self, context: IssueContext) -> int:
        """Open the request's issue, or comment on the open one; return its number."""
        existing = self._find(context.request)
        requester = self.requester(context.request)
        values = {
            "c": context,
            "requester": requester,
            "marker": marker(context.request),
            "max_items": ISSUE_MAX_ITEMS,
        }
        body = render("issue_parked.md.j2", **values)
        if existing is not None:
            if existing.body.strip() == body.strip():
                # Opened by a run whose record of it was lost (it crashed, or the
                # answer never came back): it already says this.
                return existing.number
            comment = render("issue_parked_again.md.j2", **values)
            self.tracker.comment_on_issue(existing.number, comment)
            return existing.number
        # A name that came with a newline (a bad name, parked for it) stays on one line.
        title = f"Request {printable(context.request)} needs attention"
        return self.tracker.create_issue(title, body, [self.label])

    def report_resolved(
        self, request: str, known_issue: int | None, *, withdrawn: bool
    ) -> int | None:
        """Close the request's open issue with a comment; return its number if there was one."""
        number = self.find_issue(request) if known_issue is None else known_issue
        if number is None:
            return None
        template = "issue_withdrawn.md.j2" if withdrawn else "issue_resolved.md.j2"
        self.tracker.comment_on_issue(number, render(template, request=request))
        self.tracker.close_issue(number)
        return number


class GitHubIssueTracker:
    """The IssueTracker of one repository (``owner/name``), on the GitHub client.

    Opening an issue and commenting are not safe to repeat: when the client cannot
    tell whether one happened (UncertainWriteError), the tracker looks for it before
    trying again, so a lost answer never opens a second issue or posts a comment twice.
    """

    ATTEMPTS = 3

    def __init__(self, client: GitHubClient, repository: str) -> None:
        self.client = client
        self.repository = repository

    def open_issues_with_label(self, label: str) -> Sequence[TrackedIssue]:
        issues = self.client.list_issues(self.repository, labels=(label,), state="open")
        return [TrackedIssue(i.number, i.title, i.body) for i in issues]

    def create_issue(self, title: str, body: str, labels: Sequence[str]) -> int:
        for _ in range(self.ATTEMPTS):
            try:
                return self.client.create_issue(self.repository, title, body, tuple(labels)).number
            except UncertainWriteError:
                log.info("opening the issue %r may have failed; looking for it", title)
            for issue in self.client.list_issues(self.repository, labels=tuple(labels)):
                if issue.title == title and issue.body.strip() == body.strip():
                    return issue.number
        raise TransientError(
            f"could not open the issue {title!r} in {self.repository!r} after "
            f"{self.ATTEMPTS} tries; it is opened by a later run."
        )

    def comment_on_issue(self, number: int, body: str) -> None:
        """Comment, unless the issue's last comment already says exactly this."""
        for _ in range(self.ATTEMPTS):
            comments = self.client.comment_bodies(self.repository, number)
            if comments and comments[-1].strip() == body.strip():
                return
            try:
                self.client.comment(self.repository, number, body)
                return
            except UncertainWriteError:
                log.info("commenting on #%d may have failed; looking for the comment", number)
        raise TransientError(
            f"could not comment on #{number} in {self.repository!r} after {self.ATTEMPTS} "
            "tries; a later run tries again."
        )

    def close_issue(self, number: int) -> None:
        self.client.close_issue(self.repository, number)

    def pull_request_authors(self, commit_sha: str) -> Sequence[str]:
        return [pull.author for pull in self.client.pulls_for_commit(self.repository, commit_sha)]
