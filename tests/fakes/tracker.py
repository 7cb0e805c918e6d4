"""An in-memory IssueTracker, for queue tests that need no HTTP.

Its issues are the fake GitHub's ``FakeIssue`` records, so a test reads them the same
way whichever tracker it used (comments are dicts with a ``"body"``).
"""

from __future__ import annotations

from collections.abc import Sequence

from admin_requests.queue.notify import TrackedIssue

from .github import FakeIssue

# Who opens and comments on the issues (as the fake GitHub records its comments).
BOT_LOGIN = "admin-requests[bot]"


class MemoryTracker:
    def __init__(self) -> None:
        self.issues: dict[int, FakeIssue] = {}
        self.pulls: dict[str, list[str]] = {}
        self.fail = False

    def _check(self) -> None:
        if self.fail:
            raise ConnectionError("the tracker is down")

    def open_issues_with_label(self, label: str) -> Sequence[TrackedIssue]:
        self._check()
        return [
            TrackedIssue(i.number, i.title, i.body)
            for i in self.issues.values()
            if i.state == "open" and label in i.labels
        ]

    def create_issue(self, title: str, body: str, labels: Sequence[str]) -> int:
        self._check()
        number = len(self.issues) + 1
        self.issues[number] = FakeIssue(number, title, body, list(labels), BOT_LOGIN)
        return number

    def comment_on_issue(self, number: int, body: str) -> None:
        self._check()
        self.issues[number].comments.append(
            {"body": body, "user": {"login": BOT_LOGIN, "type": "Bot"}}
        )

    def close_issue(self, number: int) -> None:
        self._check()
        self.issues[number].state = "closed"

    def pull_request_authors(self, commit_sha: str) -> Sequence[str]:
        self._check()
        return self.pulls.get(commit_sha, [])

    def open_issues(self) -> list[FakeIssue]:
        return [i for i in self.issues.values() if i.state == "open"]
