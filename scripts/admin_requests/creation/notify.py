"""Telling people about a recipe: its pull request in staged-recipes, and core's issue.

- The pull request that added the recipe (the commit that added ``recipes/<recipe>``,
  then GitHub's pull requests for that commit) gets one comment when the feedstock is
  ready, with its link, and one when the recipe is stuck, with the reason in plain
  words and what to do. The same words are never posted twice in a row
  (queue/notify.py's ``GitHubIssueTracker`` looks first).
- A stuck recipe gets one issue in this repository (label ``feedstock-creation-stuck``,
  found again by a hidden marker naming the recipe), closed when the recipe completes.

Failing to tell is logged and never fails the recipe: the state and the job summary say
the same, and the next run tries again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from admin_requests.access import Access
from admin_requests.actions_output import escape_markdown, markdown_code, printable
from admin_requests.errors import AdminRequestsError
from admin_requests.queue.gitops import Git
from admin_requests.queue.notify import GitHubIssueTracker, IssueTracker
from admin_requests.services import Services

log = logging.getLogger(__name__)

STUCK_LABEL = "feedstock-creation-stuck"
STAGED_RECIPES = "staged-recipes"


def recipe_marker(recipe: str) -> str:
    return f"<!-- admin-requests:creation-recipe={recipe.replace('--', '-%2D')} -->"


def ready_comment(recipe: str, url: str, notes: list[str]) -> str:
    lines = [
        f"The feedstock for {markdown_code(f'recipes/{recipe}')} is ready: {url}",
        "",
        "Its first build starts now. The maintainers' team is set up by the webservices "
        "within a few minutes; until then you may not be able to push to it.",
    ]
    if notes:
        lines += ["", *[f"- {escape_markdown(note)}" for note in notes]]
    return "\n".join([*lines, "", recipe_marker(recipe)])


def stuck_comment(recipe: str, reason: str, issue: str | None) -> str:
    where = f" (tracked in {issue})" if issue else ""
    return "\n".join(
        [
            f"Creating the feedstock for {markdown_code(f'recipes/{recipe}')} is stuck{where}:",
            "",
            # The reason may quote conda-smithy, i.e. the recipe: never markup or mentions.
            escape_markdown(reason),
            "",
            "Nothing more happens until core acts: the recipe stays in staged-recipes and "
            "is tried again when it changes or core retries it.",
            "",
            recipe_marker(recipe),
        ]
    )


@dataclass
class RecipeNotifier:
    staged: Git  # the staged-recipes checkout (its history finds the pull request)
    services: Callable[[Access, str], AbstractContextManager[Services]]
    tracker: IssueTracker | None  # this repository's issues
    organisation: str

    def _pull_request(self, recipe: str, services: Services) -> int | None:
        commit = self.staged.commit_that_added(f"recipes/{recipe}")
        if commit is None:
            return None
        pulls = services.github.pulls_for_commit(STAGED_RECIPES, commit)
        return pulls[0].number if pulls else None

    def comment(self, recipe: str, body: str, *, once: bool = False) -> int | None:
        """Comment on the recipe's pull request; its number, or None (none found, or failed).

        With ``once``, not when any comment there already says exactly this (the ready
        comment of a run that stopped before removing the recipe).
        """
        access = Access((STAGED_RECIPES,), {"pull_requests": "write"})
        try:
            with self.services(access, f"comment on the pull request of recipes/{recipe}") as s:
                number = self._pull_request(recipe, s)
                if number is None:
                    log.warning("no pull request found for recipes/%s; not commented", recipe)
                    return None
                if once and any(
                    c.strip() == body.strip()
                    for c in s.github.comment_bodies(STAGED_RECIPES, number)
                ):
                    return number
                tracker = GitHubIssueTracker(s.github, f"{self.organisation}/{STAGED_RECIPES}")
                tracker.comment_on_issue(number, body)
                return number
        except AdminRequestsError as error:
            log.warning("could not comment on the pull request of recipes/%s: %s", recipe, error)
            return None

    def open_issue(self, recipe: str, feedstock: str, reason: str) -> int | None:
        if self.tracker is None:
            return None
        mark = recipe_marker(recipe)
        try:
            for issue in self.tracker.open_issues_with_label(STUCK_LABEL):
                if mark in issue.body:
                    return issue.number
            title = f"Feedstock creation is stuck: recipes/{printable(recipe)}"
            name = f"{feedstock or '(unknown)'}-feedstock"
            body = "\n".join(
                [
                    f"The feedstock {markdown_code(name)} for "
                    f"{markdown_code(f'recipes/{recipe}')} of staged-recipes could not be "
                    "created:",
                    "",
                    escape_markdown(reason),
                    "",
                    "When it is fixed, retry it: run the create-feedstocks workflow with "
                    f"{markdown_code(f'retry: {recipe}')} (or "
                    f"{markdown_code(f'admin-requests create-feedstocks run --retry {recipe}')}). "
                    "This issue is closed when the feedstock is created.",
                    "",
                    mark,
                ]
            )
            return self.tracker.create_issue(title, body, [STUCK_LABEL])
        except (AdminRequestsError, ConnectionError) as error:
            log.warning("could not open the issue for recipes/%s: %s", recipe, error)
            return None

    def find_issue(self, recipe: str) -> int | None:
        if self.tracker is None:
            return None
        mark = recipe_marker(recipe)
        try:
            found = self.tracker.open_issues_with_label(STUCK_LABEL)
        except (AdminRequestsError, ConnectionError) as error:
            log.warning("could not look for the issue of recipes/%s: %s", recipe, error)
            return None
        return next((issue.number for issue in found if mark in issue.body), None)

    def close_issue(self, recipe: str, number: int, url: str) -> bool:
        if self.tracker is None:
            return False
        try:
            self.tracker.comment_on_issue(number, f"Done: {url} was created.")
            self.tracker.close_issue(number)
            return True
        except (AdminRequestsError, ConnectionError) as error:
            log.warning("could not close #%d for recipes/%s: %s", number, recipe, error)
            return False
