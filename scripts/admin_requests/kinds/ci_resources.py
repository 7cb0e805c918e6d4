"""CI-resource kinds: grant (or revoke) a feedstock's opt-in build resources.

``travis``, ``cirun``, ``blacksmith``, ``namespace``, ``depot`` and ``cirrus_runners``
share one model: a list of feedstocks and ``revoke``; ``cirun`` adds the resources it
asks for, whether pull requests may use them, and whether to send the enabling PR.

Carrying one out, per feedstock (every step first looks, then changes only what is not
yet so, so a rerun after any failure finishes the job without doing anything twice):

1. the provider side: the feedstock is added to (or removed from) the provider's GitHub
   App installation on the organisation; for ``cirun`` also the resource policy in the
   organisation's ``.cirun`` repository (``.access.yml``);
2. the record: one entry per resource and feedstock in the organisation's
   ``.access_control.yml`` (``Settings.access_control_repository``), written after the
   provider side so it never claims access that was not given;
3. ``cirun`` with ``send_pr``: a pull request to the feedstock that builds it on the
   runners (``conda-forge.yml`` and ``recipe/conda_build_config.yaml``), rerendered with
   conda-smithy when the job has it (services/smithy.py), else by asking conda-forge's
   bot to rerender in a comment.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from ruamel.yaml.nodes import Node

from admin_requests.access import Access, GitHubGrant
from admin_requests.errors import ConflictError, PermanentError
from admin_requests.kinds import ci_config
from admin_requests.kinds.contract import (
    Item,
    Outcome,
    RequestKind,
    RequestModel,
    check_each,
    feedstock_list,
)
from admin_requests.kinds.execution import feedstocks_exist, guarded
from admin_requests.kinds.layout import EntryLayout, ListEntries
from admin_requests.validation.fields import Decoder, Text
from admin_requests.validation.names import check_feedstock_name
from admin_requests.validation.problems import Problem

if TYPE_CHECKING:
    from admin_requests.config import Settings
    from admin_requests.services import GitHubClient, Services

log = logging.getLogger(__name__)

CIRUN_RESOURCE_PREFIX = "cirun-"
ENTRIES = ListEntries("feedstocks")


@dataclass(frozen=True)
class CiResourceRequest(RequestModel):
    feedstocks: tuple[Text, ...]
    revoke: bool = False
    resources: tuple[Text, ...] = ()
    pull_request: bool = False
    send_pr: bool = True


@dataclass(frozen=True)
class CiResourceParams:
    feedstock: str  # without the '-feedstock' suffix
    revoke: bool
    resources: tuple[str, ...]  # the names the access-control record uses
    pull_request: bool  # cirun: pull requests may use the runners too
    send_pr: bool  # cirun: send the enabling pull request


def _check_cirun_resource(value: str) -> str | None:
    named_like_cirun = value.startswith(CIRUN_RESOURCE_PREFIX) and value != CIRUN_RESOURCE_PREFIX
    if named_like_cirun and check_feedstock_name(value) is None:
        return None
    return (
        f"cirun resource {value!r} is not a cirun resource name: names start with "
        f"{CIRUN_RESOURCE_PREFIX!r}, e.g. 'cirun-openstack-gpu-large' (see the organisation's "
        ".cirun repository for the list)."
    )


class CiResourceKind(RequestKind[CiResourceRequest, CiResourceParams]):
    model_type: ClassVar[type[RequestModel]] = CiResourceRequest
    required_keys: ClassVar[tuple[str, ...]] = ("feedstocks",)
    item_entries: ClassVar[EntryLayout | None] = ENTRIES
    optional_keys: ClassVar[tuple[str, ...]] = ("revoke",)

    def __init__(self, action: str, summary: str, *, resource: str, can_revoke: bool = True):
        super().__init__(action, summary)
        self.resource = resource
        self.can_revoke = can_revoke

    def _flag(
        self, fields: dict[str, Node], decoder: Decoder, key: str, default: bool
    ) -> bool | None:
        return decoder.boolean(fields[key], key) if key in fields else default

    def build(self, fields: dict[str, Node], decoder: Decoder) -> CiResourceRequest | None:
        revoke = self._flag(fields, decoder, "revoke", False)
        if revoke and not self.can_revoke:
            decoder.error(
                fields["revoke"],
                "revoke-unsupported",
                f"{self.action!r} access cannot be revoked through a request; remove "
                "'revoke: true' and ask core in an issue instead.",
            )
            return None
        feedstocks = (
            feedstock_list(decoder, fields["feedstocks"]) if "feedstocks" in fields else None
        )
        if feedstocks is None or revoke is None:
            return None
        return CiResourceRequest(decoder.path, self.action, tuple(feedstocks), revoke)

    def validate(self, model: CiResourceRequest) -> list[Problem]:
        return check_each(model.path, model.feedstocks, check_feedstock_name, "bad-feedstock-name")

    def _what(self, model: CiResourceRequest) -> str:
        return self.resource

    def plan(self, model: CiResourceRequest) -> list[Item[CiResourceParams]]:
        verb = "revoke" if model.revoke else "grant"
        return [
            Item(
                ENTRIES.item_id(self.action, name),
                self.action,
                f"{name}-feedstock",
                f"{verb} {self._what(model)} for {name}-feedstock",
                CiResourceParams(
                    feedstock=str(name),
                    revoke=model.revoke,
                    resources=self._resources(model),
                    pull_request=model.pull_request,
                    send_pr=self._sends_pr(model),
                ),
            )
            for name in model.feedstocks
        ]

    def _resources(self, model: CiResourceRequest) -> tuple[str, ...]:
        """The names the access-control record uses for what this request grants."""
        return (self.action,)

    def _sends_pr(self, model: CiResourceRequest) -> bool:
        return False

    def target_repositories(self, item: Item[CiResourceParams]) -> tuple[str, ...]:
        return (f"{item.params.feedstock}-feedstock",)

    def access(self, model: CiResourceRequest, services: Services) -> Access:
        settings = services.settings
        return Access(
            github_repositories=tuple(dict.fromkeys(f"{n}-feedstock" for n in model.feedstocks)),
            github_permissions=self._feedstock_permissions(model, settings),
            github_extra=(GitHubGrant(self._record_repositories(settings), {"contents": "write"}),),
            github_app_installations=True,
        )

    def _feedstock_permissions(
        self, model: CiResourceRequest, settings: Settings
    ) -> dict[str, str]:
        """On the feedstocks themselves, only their id (the installation takes ids)."""
        return {"metadata": "read"}

    def _record_repositories(self, settings: Settings) -> tuple[str, ...]:
        return (settings.access_control_repository,)

    def preflight(self, model: CiResourceRequest, services: Services) -> list[Problem]:
        return feedstocks_exist(model.path, model.feedstocks, services)

    def execute(self, item: Item[CiResourceParams], services: Services) -> Outcome:
        repo = item.target
        org = services.settings.organisation
        return guarded(
            item.description,
            lambda: self._carry_out(item, services),
            not_found=f"there is no repository {repo!r} in {org!r} (or a repository "
            "admin-requests keeps CI access in is missing); check the feedstock name.",
        )

    def _carry_out(self, item: Item[CiResourceParams], services: Services) -> Outcome:
        repo = item.target
        grant = not item.params.revoke
        resources = list(item.params.resources)
        installation = services.settings.ci_app_installation(self.action)
        if installation is None:
            return Outcome.failed(
                f"the {self.resource} GitHub App's installation id is not "
                f"configured for admin-requests (ADMIN_REQUESTS_CI_APPS, key {self.action!r}); "
                "ask core to configure it."
            )
        state = services.github_for(repo).repository(repo)
        done: list[str] = []
        if grant:
            if _set_installation(services, installation, state.id, grant=True):
                done.append(f"added to the {self.resource} App installation")
            done += self._provider_extras(item, services, resources, grant=True)
        else:
            done += self._provider_extras(item, services, resources, grant=False)
            if not self._installation_still_needed(services, repo) and _set_installation(
                services, installation, state.id, grant=False
            ):
                done.append(f"removed from the {self.resource} App installation")
        if _record(services, repo, resources, grant=grant, settings=self._record_settings(item)):
            done.append(
                f"recorded in {services.settings.access_control_repository}/"
                f"{services.settings.access_control_path}"
            )
        if grant and item.params.send_pr:
            pr = _send_pr(services, repo, state.default_branch, resources, item)
            if pr:
                done.append(pr)
        if not done:
            return Outcome.done(f"{repo}: already in place", changed=False)
        return Outcome.done(f"{repo}: " + "; ".join(done))

    def _provider_extras(
        self, item: Item[CiResourceParams], services: Services, resources: list[str], *, grant: bool
    ) -> list[str]:
        return []

    def _record_settings(self, item: Item[CiResourceParams]) -> dict[str, object] | None:
        return None

    def _installation_still_needed(self, services: Services, repo: str) -> bool:
        """Whether the feedstock still has other resources of this provider after a revoke."""
        return False


class CirunKind(CiResourceKind):
    required_keys: ClassVar[tuple[str, ...]] = ("feedstocks", "resources")
    optional_keys: ClassVar[tuple[str, ...]] = ("revoke", "pull_request", "send_pr")

    def build(self, fields: dict[str, Node], decoder: Decoder) -> CiResourceRequest | None:
        base = super().build(fields, decoder)
        pull_request = self._flag(fields, decoder, "pull_request", False)
        send_pr = self._flag(fields, decoder, "send_pr", True)
        resources = None
        if "resources" in fields:
            resources = decoder.sequence(
                fields["resources"],
                "resources",
                lambda item: decoder.text(item, "a cirun resource"),
                example_item="cirun-openstack-gpu-large",
            )
        if base is None or resources is None or pull_request is None or send_pr is None:
            return None
        return CiResourceRequest(
            base.path,
            base.action,
            base.feedstocks,
            base.revoke,
            tuple(resources),
            pull_request,
            send_pr,
        )

    def validate(self, model: CiResourceRequest) -> list[Problem]:
        return super().validate(model) + check_each(
            model.path, model.resources, _check_cirun_resource, "bad-resource"
        )

    def _what(self, model: CiResourceRequest) -> str:
        scope = " (pushes and pull requests)" if model.pull_request else " (pushes only)"
        pr = "; send the enabling PR" if model.send_pr and not model.revoke else ""
        return f"cirun resources {', '.join(model.resources)}{scope}{pr}"

    def _resources(self, model: CiResourceRequest) -> tuple[str, ...]:
        return tuple(str(r) for r in model.resources)

    def _record_repositories(self, settings: Settings) -> tuple[str, ...]:
        return (settings.access_control_repository, settings.cirun_repository)

    def _feedstock_permissions(
        self, model: CiResourceRequest, settings: Settings
    ) -> dict[str, str]:
        if not self._sends_pr(model):
            return {"metadata": "read"}
        # The pull request: a branch, two files, the pull request and its comment. A
        # conda-smithy rerender also rewrites .github/workflows/, which GitHub lets an
        # App push only with the 'workflows' permission.
        permissions = {"contents": "write", "pull_requests": "write"}
        if settings.conda_smithy:
            permissions["workflows"] = "write"
        return permissions

    def _sends_pr(self, model: CiResourceRequest) -> bool:
        return model.send_pr and not model.revoke

    def _record_settings(self, item: Item[CiResourceParams]) -> dict[str, object] | None:
        return {"pull_request": item.params.pull_request}

    def _installation_still_needed(self, services: Services, repo: str) -> bool:
        # Cirun resources are granted one request at a time: the Cirun App stays on the
        # feedstock while its policy still gives it any resource.
        settings = services.settings
        found = services.github_for(settings.cirun_repository).get_file(
            settings.cirun_repository, settings.cirun_access_path
        )
        return found is not None and repo in ci_config.cirun_policy_ids(found.content)

    def _provider_extras(
        self, item: Item[CiResourceParams], services: Services, resources: list[str], *, grant: bool
    ) -> list[str]:
        settings = services.settings
        repo, name = item.target, item.params.feedstock
        change = functools.partial(
            ci_config.edit_cirun_access,
            resources=resources,
            repo=repo,
            team=name,
            pull_request=item.params.pull_request,
            grant=grant,
            name=settings.cirun_access_path,
        )
        verb = "Grant" if grant else "Revoke"
        changed = services.github_for(settings.cirun_repository).update_file(
            settings.cirun_repository,
            settings.cirun_access_path,
            change,
            f"[admin-requests] {verb} {repo} the cirun resources {', '.join(resources)}",
        )
        if not changed:
            return []
        return [f"cirun policy updated in {settings.cirun_repository}/{settings.cirun_access_path}"]


def _set_installation(services: Services, installation: int, repo_id: int, *, grant: bool) -> bool:
    """Add or remove the repository on the provider's App installation; False if already so."""
    client = services.app_installations
    if client is None:
        raise PermanentError(
            "admin-requests has no credential for CI providers' App installations in this "
            "run (the job's secret needs 'github_installations_token'); ask core"
        )
    # One listing per installation per run; kept current as this run changes it.
    members: set[int] = services.memo(
        f"installation-repositories:{installation}", lambda: client.repository_ids(installation)
    )
    if (repo_id in members) == grant:
        return False
    if grant:
        client.add(installation, repo_id)
        members.add(repo_id)
    else:
        client.remove(installation, repo_id)
        members.discard(repo_id)
    return True


def _record(
    services: Services,
    repo: str,
    resources: list[str],
    *,
    grant: bool,
    settings: dict[str, object] | None,
) -> bool:
    config = services.settings
    verb = "Grant" if grant else "Revoke"

    def change(current: bytes | None) -> bytes | None:
        for resource in resources:
            current = (
                ci_config.edit_access_control(
                    current,
                    resource=resource,
                    feedstock=repo,
                    grant=grant,
                    name=config.access_control_path,
                    settings=settings,
                )
                or current
            )
        return current

    return services.github_for(config.access_control_repository).update_file(
        config.access_control_repository,
        config.access_control_path,
        change,
        f"[admin-requests] {verb} {repo} {', '.join(resources)}",
    )


RERENDER_COMMAND = "@conda-forge-admin, please rerender"


def _send_pr(
    services: Services, repo: str, base: str, resources: list[str], item: Item[CiResourceParams]
) -> str | None:
    """Open (once) the pull request that builds the feedstock on the cirun runners.

    Returns what was done, or None when nothing was needed.
    """
    github = services.github_for(repo)
    cbc_path = "recipe/conda_build_config.yaml"
    current = github.get_file(repo, cbc_path)
    labels = ci_config.runner_labels(current.content if current else None)
    if set(resources) <= set(labels):
        return None  # the feedstock already asks for these runners
    pull_request = item.params.pull_request
    digest = hashlib.sha256(f"{sorted(resources)}:{pull_request}".encode()).hexdigest()[:10]
    branch = f"admin-requests-cirun-{digest}"
    existing = github.open_pull_from(repo, branch)
    if existing is not None:
        _ask_for_rerender(services, github, repo, existing.number)
        return None
    if github.get_ref(repo, f"heads/{branch}") is None:
        head = github.get_ref(repo, f"heads/{base}")
        if head is None:
            raise PermanentError(f"{repo!r} has no branch {base!r} to start the pull request from")
        # Already there: our own earlier call, whose answer was lost. The branch is ours.
        with contextlib.suppress(ConflictError):
            github.create_ref(repo, f"heads/{branch}", head)
    message = f"Build on the cirun runners {', '.join(resources)}"
    github.update_file(
        repo,
        "conda-forge.yml",
        functools.partial(ci_config.enable_self_hosted, pull_request=pull_request),
        message,
        branch=branch,
    )
    github.update_file(
        repo,
        cbc_path,
        functools.partial(ci_config.set_runner_labels, resources=resources),
        message,
        branch=branch,
    )
    rerendered = services.rerenderer.rerender(repo, branch) if services.rerenderer else False
    pull = github.create_pull(
        repo,
        title=f"Build on cirun runners: {', '.join(resources)}",
        body=_pr_body(resources, pull_request, rerendered=services.rerenderer is not None),
        head=branch,
        base=base,
    )
    if services.rerenderer is None:
        _ask_for_rerender(services, github, repo, pull.number)
    suffix = " (rerendered)" if rerendered else ""
    return f"opened pull request {pull.url}{suffix}"


def _ask_for_rerender(services: Services, github: GitHubClient, repo: str, number: int) -> None:
    if services.rerenderer is not None:
        return
    if not any(RERENDER_COMMAND in body for body in github.comment_bodies(repo, number)):
        github.comment(repo, number, RERENDER_COMMAND)


def _pr_body(resources: list[str], pull_request: bool, *, rerendered: bool) -> str:
    triggers = "pushes and pull requests" if pull_request else "pushes to this repository"
    rerender = (
        "The feedstock was rerendered with conda-smithy."
        if rerendered
        else "conda-forge's bot is asked to rerender this branch in a comment below."
    )
    return (
        f"This pull request was sent by admin-requests: the feedstock was granted the cirun "
        f"runners {', '.join(resources)} for {triggers}. It builds linux_64 on self-hosted "
        "GitHub Actions runners (conda-forge.yml) with these runner labels "
        f"(recipe/conda_build_config.yaml). {rerender}\n\n"
        "Only builds started by maintainers of this feedstock (and core) who accepted the "
        "runners' terms of service will run.\n"
        "- [ ] The maintainers accepted the terms of service and privacy policy of the "
        "runners' provider.\n\n"
        "Rerendering with GitHub Actions as CI provider must be done locally from now on."
    )
