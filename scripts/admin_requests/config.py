"""Run configuration, read once from the environment at the edge (the CLI).

Nothing below the CLI reads ``os.environ``: it gets a Settings object. Every base URL is
configurable so tests and the local sandbox point the clients at fakes on 127.0.0.1.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from admin_requests.errors import UsageError


@dataclass(frozen=True)
class Settings:
    organisation: str = "conda-forge"
    # The repository this automation runs in (owner/name), as Actions sets it.
    repository: str = "conda-forge/admin-requests"
    github_api_url: str = "https://api.github.com"
    anaconda_api_url: str = "https://api.anaconda.org"
    # Where package files are served from (conda.anaconda.org in production).
    channel_url: str = "https://conda.anaconda.org"
    # The channel that request kinds act on (labels, copies).
    channel: str = "conda-forge"
    feedstock_outputs_repository: str = "feedstock-outputs"
    feedstock_tokens_repository: str = "feedstock-tokens"
    repodata_patches_repository: str = "conda-forge-repodata-patches-feedstock"
    # The branch whose push rebuilds the patches: broken/not_broken add one empty commit
    # to it per run that changed labels, as upstream does.
    repodata_patches_branch: str = "main"
    http_timeout_seconds: float = 30.0
    # How long one processing run may go on starting work (ADMIN_REQUESTS_RUN_BUDGET,
    # seconds; 0: no limit). When it is spent the run commits what is done and stops;
    # the next run goes on from there. 40 minutes leaves the job's 60 (process.yml) room
    # for its setup, the last chunk, the follow-up steps and the push.
    run_budget_seconds: float = 2400.0
    # CI resources: the organisation's record of which feedstock may use which resource.
    # Not this repository: a request's token would then be able to push to the code
    # that runs with the processing credentials.
    access_control_repository: str = "ci-access-control"
    access_control_path: str = ".access_control.yml"
    # Cirun's API (services/cirun.py), as cirun-py calls it; CIRUN_API_ENDPOINT as there.
    # It keeps the organisation's '.cirun/.access.yml' itself, through its own bot.
    cirun_api_url: str = "https://api.cirun.io/api/v1"
    # Who may start a feedstock's Cirun runners: users with these roles on it...
    cirun_roles: tuple[str, ...] = ("admin", "maintain", "write")
    # ...who, for runners named with the prefix, are also in the provider's list of users
    # who accepted its terms of service (conda-forge: Quansight's open-gpu-server).
    cirun_users_from_json: tuple[tuple[str, str], ...] = (
        (
            "cirun-openstack-",
            "https://raw.githubusercontent.com/Quansight/open-gpu-server/main/access/"
            "conda-forge-users.json",
        ),
    )
    # The installation id of each CI provider's GitHub App on the organisation, by
    # request kind ('blacksmith', 'cirun'...): ADMIN_REQUESTS_CI_APPS="cirun=1,depot=2".
    ci_app_installations: tuple[tuple[str, int], ...] = ()
    # Azure Pipelines, where feedstocks that build on Azure keep their FEEDSTOCK_TOKEN.
    azure_devops_url: str = "https://dev.azure.com"
    azure_devops_organisation: str = "conda-forge"
    azure_devops_project: str = "feedstock-builds"
    # The render job only (never a job with credentials): conda-smithy's executable,
    # installed there from the conda lock (services/smithy.py).
    conda_smithy: str = ""
    # The processing job: the directory the render jobs' renderings were downloaded to
    # (services/rendered.py); "" = none, and the cirun pull request asks conda-forge's
    # bot to rerender instead.
    rendered_dir: str = ""
    git_base_url: str = "https://github.com"
    # Infrastructure repositories no request may act on (archive, branches, tokens, CI
    # access), besides those named above, which are always protected (this repository,
    # feedstock-outputs, feedstock-tokens, the repodata patches, .cirun, the CI access
    # record): a request must not be able to archive or reset the organisation's own
    # machinery. ADMIN_REQUESTS_PROTECTED_REPOSITORIES adds more ("a,b"); see
    # ``protected_repositories``.
    # '.cirun' holds Cirun's access control: its bot writes it, never a request.
    protected_extra_repositories: tuple[str, ...] = ("staged-recipes", ".github", ".cirun")

    @property
    def protected_repositories(self) -> frozenset[str]:
        """The repository names (lower-case: GitHub's are case-insensitive) no request
        may target; the checker and the queue both refuse them."""
        names = (
            self.repository.rpartition("/")[2],
            self.feedstock_outputs_repository,
            self.feedstock_tokens_repository,
            self.repodata_patches_repository,
            self.access_control_repository,
            *self.protected_extra_repositories,
        )
        return frozenset(name.strip().lower() for name in names if name.strip())

    def cirun_users_list(self, resources: Sequence[str]) -> str | None:
        """The users_from_json URL for a policy with ``resources``: when all share a prefix."""
        for prefix, url in self.cirun_users_from_json:
            if resources and all(r.startswith(prefix) for r in resources):
                return url
        return None

    def ci_app_installation(self, action: str) -> int | None:
        """The installation id of ``action``'s provider App, or None when not configured."""
        return dict(self.ci_app_installations).get(action)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        defaults = cls()
        return cls(
            organisation=environ.get("ADMIN_REQUESTS_ORG", defaults.organisation),
            repository=environ.get("GITHUB_REPOSITORY", defaults.repository),
            github_api_url=environ.get("GITHUB_API_URL", defaults.github_api_url).rstrip("/"),
            anaconda_api_url=environ.get("ANACONDA_API_URL", defaults.anaconda_api_url).rstrip("/"),
            channel_url=environ.get("ANACONDA_CHANNEL_URL", defaults.channel_url).rstrip("/"),
            channel=environ.get("ADMIN_REQUESTS_CHANNEL", defaults.channel),
            feedstock_outputs_repository=environ.get(
                "FEEDSTOCK_OUTPUTS_REPOSITORY", defaults.feedstock_outputs_repository
            ),
            feedstock_tokens_repository=environ.get(
                "FEEDSTOCK_TOKENS_REPOSITORY", defaults.feedstock_tokens_repository
            ),
            repodata_patches_repository=environ.get(
                "REPODATA_PATCHES_REPOSITORY", defaults.repodata_patches_repository
            ),
            repodata_patches_branch=environ.get(
                "REPODATA_PATCHES_BRANCH", defaults.repodata_patches_branch
            ),
            http_timeout_seconds=float(
                environ.get("ADMIN_REQUESTS_HTTP_TIMEOUT", defaults.http_timeout_seconds)
            ),
            run_budget_seconds=_seconds(
                environ, "ADMIN_REQUESTS_RUN_BUDGET", defaults.run_budget_seconds
            ),
            access_control_repository=environ.get(
                "ACCESS_CONTROL_REPOSITORY", defaults.access_control_repository
            ),
            cirun_api_url=environ.get("CIRUN_API_ENDPOINT", defaults.cirun_api_url).rstrip("/"),
            ci_app_installations=parse_installations(environ.get("ADMIN_REQUESTS_CI_APPS", "")),
            azure_devops_url=environ.get("AZURE_DEVOPS_URL", defaults.azure_devops_url).rstrip("/"),
            azure_devops_organisation=environ.get(
                "AZURE_DEVOPS_ORGANISATION", defaults.azure_devops_organisation
            ),
            azure_devops_project=environ.get("AZURE_DEVOPS_PROJECT", defaults.azure_devops_project),
            conda_smithy=environ.get("CONDA_SMITHY", defaults.conda_smithy),
            rendered_dir=environ.get("ADMIN_REQUESTS_RENDERED", defaults.rendered_dir),
            git_base_url=environ.get("GITHUB_SERVER_URL", defaults.git_base_url).rstrip("/"),
            protected_extra_repositories=(
                *defaults.protected_extra_repositories,
                *(
                    name.strip()
                    for name in environ.get("ADMIN_REQUESTS_PROTECTED_REPOSITORIES", "").split(",")
                    if name.strip()
                ),
            ),
        )


# The settings a deployment gives processing as repository variables, which
# process.yml's "process the queue" step passes on as ``${{ vars.NAME }}``. A name read
# here but not passed there is silently empty in production: without
# ADMIN_REQUESTS_CI_APPS every CI-resource grant fails (tests/workflows/
# test_process_workflow.py keeps the two in step).
DEPLOYMENT_VARIABLES: tuple[str, ...] = (
    "ADMIN_REQUESTS_CI_APPS",
    "ADMIN_REQUESTS_PROTECTED_REPOSITORIES",
    "ADMIN_REQUESTS_RUN_BUDGET",
)


def _seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    """A number of seconds, 0 or more, from ``name``; ``default`` when it is unset."""
    value = environ.get(name, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0 or seconds == float("inf"):
        raise UsageError(
            f"{name}={value!r} is not a number of seconds; set it like {name}={default:g}, "
            "0 for no limit, or unset it for the default"
        )
    return seconds


def parse_installations(text: str) -> tuple[tuple[str, int], ...]:
    """``"cirun=18453316, depot=42"`` -> ``(("cirun", 18453316), ("depot", 42))``."""
    pairs = []
    for part in text.replace(";", ",").split(","):
        name, sep, value = part.strip().partition("=")
        if not part.strip():
            continue
        if not sep or not value.strip().isdigit() or not name.strip():
            raise UsageError(
                f"ADMIN_REQUESTS_CI_APPS has {part.strip()!r}; write each provider as "
                "'kind=installation-id', e.g. 'cirun=18453316,depot=42'"
            )
        pairs.append((name.strip(), int(value)))
    return tuple(pairs)
