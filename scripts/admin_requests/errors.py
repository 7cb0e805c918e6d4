"""Every exception this package raises on purpose, in one place.

Messages quote values with ``!r`` and say how to fix the problem, because they end up
in job summaries and issues read by people who did not write this code.
"""

from __future__ import annotations


class AdminRequestsError(Exception):
    """Base class: anything that is expected to happen and has a known remedy."""


class UsageError(AdminRequestsError):
    """The command line was wrong (exit code 2)."""


class StateFileError(AdminRequestsError):
    """A queue state file cannot be read (it is then ignored and rewritten)."""


class QueueFileError(AdminRequestsError):
    """The queue was about to change a file it must not (one reached through a symlink)."""


class GitError(AdminRequestsError):
    """A git command failed while recording the queue's results."""


class PushRejectedError(GitError):
    """The results could not be pushed even after rebasing onto the remote branch."""


# -- request kinds -----------------------------------------------------------------------


class KindRegistryError(AdminRequestsError):
    """A folder listed in the kinds registry does not define the kind it is named after."""


class UnvalidatedModelError(AdminRequestsError):
    """A kind was asked to plan a model that ``validate`` rejects (a bug in the caller)."""


# -- online services ---------------------------------------------------------------------


class ServiceError(AdminRequestsError):
    """A call to GitHub or anaconda.org did not do what was asked."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TransientError(ServiceError):
    """The service is down, slow or rate-limiting: the same call may work later."""


class UncertainWriteError(TransientError):
    """A write that is not safe to repeat failed in a way that may have carried it out
    (the answer was lost, timed out or was a 5xx): look before writing again."""


class PermanentError(ServiceError):
    """The service refused the call as it is (4xx): retrying the same call cannot help."""


class RenderingRefused(PermanentError):
    """The render job's patch for a feedstock changes what a rerender never writes, or
    does not apply to the tree it names: it is never pushed (services/rendered.py)."""


class NotFoundError(PermanentError):
    """The repository, reference, file or package does not exist (or is hidden from us)."""


class AccessDeniedError(PermanentError):
    """The token is unknown, expired, or lacks the scope or permission for this call."""


class ConflictError(PermanentError):
    """The resource changed or already exists (409, or 422 'already exists')."""


class InstallationRemovalRefused(PermanentError):
    """GitHub will not take this repository out of an App installation (422): the App is
    installed on all repositories, or it is the last repository the installation has."""


# -- credentials (scripts/admin_requests/credentials/) ---------------------------------
# Messages here never contain a secret value or a response body: they name the URL,
# the status and what to change, and pass through the redactor before they are raised.


class CredentialError(AdminRequestsError):
    """A credential could not be obtained, used or revoked."""


class CredentialConfigError(CredentialError):
    """The credential configuration is missing or contradictory."""


class OidcTokenError(CredentialError):
    """The job's GitHub OIDC token could not be requested."""


class VaultError(CredentialError):
    """The vault (OpenBao/Vault) refused a login, read, signature or revocation."""


class AwsCredentialError(CredentialError):
    """AWS STS or Secrets Manager refused the request."""


class GitHubAppTokenError(CredentialError):
    """GitHub refused to mint or revoke an App installation token."""


class RepositoriesRefusedError(GitHubAppTokenError):
    """GitHub refused a token for a repository list (422): one may not exist or be reachable."""


class AnacondaTokenError(CredentialError):
    """anaconda.org refused to mint or delete a scoped token."""


class AzureTokenError(CredentialError):
    """Entra ID refused to exchange the job's OIDC token for an Azure access token."""


class CredentialScopeError(CredentialError):
    """A request asked for access that would be broader than allowed."""


class EnvBackendRefused(CredentialError):
    """The local-development 'env' backend was selected inside GitHub Actions."""


# -- documentation -----------------------------------------------------------------------


class DocsReferenceError(AdminRequestsError):
    """The generated request reference cannot be built: the code and its notes disagree."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            "the request reference is out of step with the code:\n"
            + "\n".join(f"  - {p}" for p in problems)
        )
        self.problems = problems


# -- the status page ------------------------------------------------------------------


class StatusConfigError(AdminRequestsError):
    """The status page's configuration (.github/status-page.yml) is wrong."""


# -- deployment --------------------------------------------------------------------------


class DeployConfigError(AdminRequestsError):
    """The deployment files (deploy/github/) or the command line are wrong."""


class NoServicesError(AdminRequestsError):
    """The run has no services (no GITHUB_TOKEN) but was asked to carry something out."""


# -- feedstock creation (scripts/admin_requests/creation/) ------------------------------


class RecipeStuck(PermanentError):
    """A recipe's feedstock cannot be created until a person acts (a repository of that
    name exists with other content, a render that failed, a name that is refused): the
    recipe is parked at once, its pull request told why and what to do."""
