"""Which repositories another GitHub App (a CI provider's) is installed on.

The CI-resource kinds grant a feedstock a provider's runners by adding the feedstock to
that provider's App installation on the organisation. GitHub offers this only as
``PUT``/``DELETE /user/installations/{installation_id}/repositories/{repository_id}``,
which takes a *user* credential with admin rights on the repository: a classic personal
access token with the ``repo`` scope (no App installation token, no fine-grained token).
That credential lives only in the vault and reaches this client for the one request that
needs it (see docs/security.md); an organisation in a GitHub Enterprise can instead use
the enterprise "organization installations" endpoints with an App token.
"""

from __future__ import annotations

import logging

from admin_requests.config import Settings
from admin_requests.errors import InstallationRemovalRefused, PermanentError
from admin_requests.services.http import HttpClient, Retrier

log = logging.getLogger(__name__)

PER_PAGE = 100


class AppInstallationsClient:
    def __init__(self, settings: Settings, token: str, *, retrier: Retrier | None = None) -> None:
        self.http = HttpClient(
            settings.github_api_url,
            token=token,
            timeout=settings.http_timeout_seconds,
            retrier=retrier,
        )

    def __repr__(self) -> str:
        return f"AppInstallationsClient({self.http.base_url!r})"

    def repository_ids(self, installation_id: int) -> set[int]:
        """The ids of the repositories the installation can reach (every page)."""
        ids: set[int] = set()
        page = 1
        while True:
            data = self.http.json(
                "GET",
                f"/user/installations/{installation_id}/repositories",
                params={"per_page": str(PER_PAGE), "page": str(page)},
            )
            batch = data.get("repositories", []) if isinstance(data, dict) else []
            ids.update(int(r["id"]) for r in batch)
            if len(batch) < PER_PAGE:
                return ids
            page += 1

    def add(self, installation_id: int, repository_id: int) -> None:
        self.http.request(
            "PUT", f"/user/installations/{installation_id}/repositories/{repository_id}"
        )

    def remove(self, installation_id: int, repository_id: int) -> None:
        """Take the repository out; InstallationRemovalRefused when GitHub will not.

        GitHub answers 422 when the App is installed on all repositories (none can be
        taken out alone) or when this is the last repository of the installation.
        """
        try:
            self.http.request(
                "DELETE", f"/user/installations/{installation_id}/repositories/{repository_id}"
            )
        except PermanentError as error:
            if error.status != 422:
                raise
            raise InstallationRemovalRefused(
                f"GitHub refused to remove repository {repository_id} from App installation "
                f"{installation_id} (422): {self._why_not_removable(installation_id)}",
                status=422,
            ) from None

    def _why_not_removable(self, installation_id: int) -> str:
        data = self.http.json(
            "GET",
            f"/user/installations/{installation_id}/repositories",
            params={"per_page": "1"},
        )
        selection = data.get("repository_selection") if isinstance(data, dict) else None
        total = data.get("total_count") if isinstance(data, dict) else None
        if selection == "all":
            return (
                "the App is installed on all repositories of the organisation, so none can "
                "be taken out alone; an organisation owner switches its repository access "
                "to selected repositories, without this one, in the App's installation settings"
            )
        if total == 1:
            return (
                "it is the last repository of the installation, which GitHub does not "
                "remove; an organisation owner uninstalls the App, or gives it another "
                "repository first, in the App's installation settings"
            )
        return (
            "the App is installed on all repositories, or this is the last one it has; an "
            "organisation owner changes its repository access in the App's installation settings"
        )
