"""What one request (or one follow-up step) may use: decided by its kind, granted by credentials.

Kept apart from both: the kinds decide an ``Access`` from a model, the credential broker
turns it into tokens, and neither imports the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class GitHubGrant:
    """Permissions on some repositories, given as one installation token of their own."""

    repositories: tuple[str, ...]
    permissions: Mapping[str, str]


@dataclass(frozen=True)
class Access:
    """The least a request needs: decided from the model, enforced by the credentials.

    ``github_repositories`` are repository names inside the organisation;
    ``github_permissions`` use GitHub App permission names (``administration``,
    ``contents``, ``actions``...) with ``read`` or ``write``.

    An installation token has one set of permissions for all its repositories, so a
    request that needs *different* permissions on different repositories lists the
    others in ``github_extra``: each grant is minted as a token of its own and reached
    with ``services.github_for(repository)`` (token_reset: ``secrets: write`` on the
    feedstocks, ``contents: write`` on feedstock-tokens only).
    ``azure_devops``: a federated Azure DevOps token (pipeline variables).
    ``github_app_installations``: the credential that may add repositories to other
    GitHub Apps' installations (CI-resource kinds); see docs/security.md.
    ``cirun``: the organisation's Cirun API key (the ``cirun`` kind), read from the vault.
    """

    github_repositories: tuple[str, ...] = ()
    github_permissions: Mapping[str, str] = field(default_factory=dict)
    anaconda_scopes: tuple[str, ...] = ()
    github_extra: tuple[GitHubGrant, ...] = ()
    azure_devops: bool = False
    github_app_installations: bool = False
    cirun: bool = False
    # Feedstock creation only: ``POST /orgs/{org}/repos`` needs ``administration: write``
    # (GitHub's description); a token limited to listed repositories is not known to be
    # able to create one (a report says it cannot: octokit/auth-app.js#271), so this one
    # is for all repositories. Allowed for exactly that permission; the token is used for
    # that one call and revoked at once (creation/steps.py).
    all_repositories: bool = False

    @property
    def grants_nothing(self) -> bool:
        """Whether nothing beyond the job's own GITHUB_TOKEN is needed."""
        return not (
            self.github_repositories
            or self.github_permissions
            or self.anaconda_scopes
            or self.github_extra
            or self.azure_devops
            or self.github_app_installations
            or self.cirun
            or self.all_repositories
        )


def push_access(repository: str) -> Access:
    """What a push of the automation's own commits needs: ``contents: write`` on that one
    repository and nothing else (GitHub adds ``metadata: read`` to every token).

    The processing run pushes its results and the run lease to this repository with it;
    feedstock creation pushes to staged-recipes the same way (docs/security.md, W1).
    """
    return Access(github_repositories=(repository,), github_permissions={"contents": "write"})


CREATE_REPOSITORY_PERMISSIONS = {"administration": "write"}


def create_repository_access() -> Access:
    """What creating one repository in the organisation needs (creation/steps.py)."""
    return Access(github_permissions=dict(CREATE_REPOSITORY_PERMISSIONS), all_repositories=True)
