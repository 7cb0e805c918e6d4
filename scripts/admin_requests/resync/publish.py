"""Act on a non-empty repodata diff: rebuild the patches, then say so in one issue.

The order is the point. The empty commit goes first (the push to the feedstock's main
rebuilds the patches, as for ``broken``); only once it is on the branch is the issue
updated, so a failed push never leaves an issue claiming a rebuild. There is one open
issue for the resync at a time: found by its marker, opened the first week, commented
on the weeks after (upstream opens a new one every week).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date

from admin_requests.config import Settings
from admin_requests.queue.notify import GitHubIssueTracker
from admin_requests.services.github import GitHubClient

log = logging.getLogger(__name__)

# Upstream's commit message for the weekly rebuild.
COMMIT_MESSAGE = "resync repo data for weekly cron-job"
TITLE = "Non-zero repodata patch diff"
MARKER = "<!-- admin-requests:repodata-resync -->"
# GitHub refuses bodies over 65,536 characters; the rest is in the job's log.
DIFF_CHARS = 60_000


@dataclass(frozen=True)
class Published:
    commit: str  # the empty commit's sha
    issue: int
    opened: bool  # a new issue (else a comment on the open one)


def publish(
    diff: str, github: GitHubClient, settings: Settings, *, today: date, run_url: str | None
) -> Published:
    """Rebuild the patches with an empty commit, then update the resync's one issue."""
    repository = settings.repodata_patches_repository
    commit = github.commit_to_branch(repository, settings.repodata_patches_branch, COMMIT_MESSAGE)
    log.info("committed %s to %s to rebuild the repodata patches", commit.sha[:12], repository)
    text = report(diff, today=today, commit=commit.sha, run_url=run_url)
    tracker = GitHubIssueTracker(github, github.full_name(repository))
    for issue in github.list_issues(repository, state="open"):
        if MARKER in issue.body:
            tracker.comment_on_issue(issue.number, text)
            return Published(commit.sha, issue.number, opened=False)
    number = tracker.create_issue(TITLE, f"{MARKER}\n{text}", ())
    return Published(commit.sha, number, opened=True)


def report(diff: str, *, today: date, commit: str, run_url: str | None) -> str:
    """The week's words: what differs (folded), and the rebuild it started."""
    shown = diff if len(diff) <= DIFF_CHARS else diff[:DIFF_CHARS] + "\n[… cut; see the run]"
    # A fence longer than any run of backticks in the diff, so nothing in it can end it.
    longest = max((len(m) for m in re.findall(r"`+", shown)), default=0)
    fence = "`" * max(3, longest + 1)
    where = f" ([the run]({run_url}))" if run_url else ""
    return (
        f"The weekly check on {today.isoformat()} found that anaconda.org does not serve "
        f"what the repodata patches say{where}. The patches are rebuilt by commit "
        f"{commit[:12]} on this feedstock's main; if next week's check still finds a "
        "difference, a patch or anaconda.org's indexing needs a look.\n\n"
        f"<details><summary>the difference</summary>\n\n{fence}\n{shown}\n{fence}\n\n"
        "</details>\n"
    )
