"""Services whose tokens carry exactly what a request's Access declares, as the broker
gives them: the main installation token, one per extra grant, an Azure DevOps token, the
installations credential, a Cirun API key. Tests prove with them that a kind needs nothing more."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from admin_requests.access import Access
from admin_requests.services import (
    AppInstallationsClient,
    AzureDevOpsClient,
    CirunClient,
    Services,
)
from tests.fakes import FakeCirun, FakeGitHub
from tests.fakes.azure import FakeAzure
from tests.fakes.clock import FakeClock
from tests.fakes.wiring import services_for

_numbers = itertools.count(1)


@dataclass
class Minted:
    """Which fake token was minted for what (to try them elsewhere afterwards)."""

    main: str = ""
    grants: dict[tuple[str, ...], str] = field(default_factory=dict)
    azure: str | None = None
    installations: str | None = None
    cirun: str | None = None


def scoped_services(
    gh: FakeGitHub,
    access: Access,
    *,
    azure: FakeAzure | None = None,
    cirun: FakeCirun | None = None,
    clock: FakeClock | None = None,
    minted: Minted | None = None,
    **settings: object,
) -> Services:
    minted = minted if minted is not None else Minted()
    n = next(_numbers)
    minted.main = gh.add_token(
        f"ghs_request_{n}",
        repositories=list(access.github_repositories),
        permissions=dict(access.github_permissions),
    )
    if azure is not None:
        settings.setdefault("azure_devops_url", azure.url)
    if cirun is not None:
        settings.setdefault("cirun_api_url", cirun.api_url)
    services = services_for(
        gh, None, github_token=minted.main, anaconda_token=None, clock=clock, **settings
    )
    for i, grant in enumerate(access.github_extra):
        token = gh.add_token(
            f"ghs_request_{n}_grant_{i}",
            repositories=list(grant.repositories),
            permissions=dict(grant.permissions),
        )
        minted.grants[grant.repositories] = token
        services.add_github_grant(grant.repositories, token)
    if access.azure_devops and azure is not None:
        minted.azure = azure.add_token(f"azure-request-{n}")
        services.azure_devops = AzureDevOpsClient(
            services.settings, minted.azure, retrier=services.github.retrier
        )
    if access.github_app_installations:
        minted.installations = gh.add_user_token(f"ghp_installations_{n}")
        services.app_installations = AppInstallationsClient(
            services.settings, minted.installations, retrier=services.github.retrier
        )
    if access.cirun and cirun is not None:
        minted.cirun = cirun.add_key(f"cirun-request-{n}")
        services.cirun = CirunClient(
            services.settings, minted.cirun, retrier=services.github.retrier
        )
    return services
