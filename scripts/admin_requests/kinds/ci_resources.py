"""CI-resource kinds: grant (or revoke) a feedstock's opt-in build resources.

``travis``, ``cirun``, ``blacksmith``, ``namespace``, ``depot`` and ``cirrus_runners``
share one model: a list of feedstocks and ``revoke``; ``cirun`` adds the resources it
asks for, whether pull requests may use them, and whether to send the enabling PR.

Carrying one out, per feedstock (every step first looks, then changes only what is not
yet so, so a rerun after any failure finishes the job without doing anything twice):

1. the provider side: the feedstock is added to (or removed from) the provider's GitHub
   App installation on the organisation; for ``cirun`` also, through Cirun's API as
   conda-smithy calls it (services/cirun.py), Cirun turned on for the feedstock and its
   policy ``<repo>-policy`` given (or relieved of) the resources. On a revoke the App
   stays while any policy still gives the feedstock a resource of the provider;
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
import dataclasses
import functools
import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from ruamel.yaml.nodes import Node

from admin_requests.access import Access, GitHubGrant
from admin_requests.errors import ConflictError, InstallationRemovalRefused, PermanentError
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
    from admin_requests.services import CirunClient, GitHubClient, Services

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
        refused: InstallationRemovalRefused | None = None
        if grant:
            if _set_installation(services, installation, state.id, grant=True):
                done.append(f"added to the {self.resource} App installation")
            done += self._grant_provider(item, services, resources)
        else:
            taken, still_needed = self._revoke_provider(item, services, resources)
            done += taken
            try:
                if not still_needed and _set_installation(
                    services, installation, state.id, grant=False
                ):
                    done.append(f"removed from the {self.resource} App installation")
            except InstallationRemovalRefused as error:
                refused = error  # the record still says the access is gone (below)
        if _record(services, repo, resources, grant=grant, settings=self._record_settings(item)):
            done.append(
                f"recorded in {services.settings.access_control_repository}/"
                f"{services.settings.access_control_path}"
            )
        if refused is not None:
            # A person must change the installation: parked with what was done and why.
            return Outcome.failed(
                f"{repo}: "
                + "; ".join([*done, f"still in the {self.resource} App installation: {refused}"])
            )
        if grant and item.params.send_pr:
            pr = _send_pr(services, repo, state.default_branch, resources, item)
            if pr:
                done.append(pr)
        if not done:
            return Outcome.done(f"{repo}: already in place", changed=False)
        return Outcome.done(f"{repo}: " + "; ".join(done))

    def _grant_provider(
        self, item: Item[CiResourceParams], services: Services, resources: list[str]
    ) -> list[str]:
        """The provider's own side of a grant, beyond its App installation: what was done."""
        return []

    def _revoke_provider(
        self, item: Item[CiResourceParams], services: Services, resources: list[str]
    ) -> tuple[list[str], bool]:
        """The provider's side of a revoke: what was done, and whether the feedstock keeps
        other resources of this provider (then its App installation stays)."""
        return [], False

    def _record_settings(self, item: Item[CiResourceParams]) -> dict[str, object] | None:
        return None


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

    def access(self, model: CiResourceRequest, services: Services) -> Access:
        # Cirun keeps its '.access.yml' itself: the request reaches it through Cirun's API
        # with the organisation's key, and needs no write access to the '.cirun' repository.
        return dataclasses.replace(super().access(model, services), cirun=True)

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

    def _grant_provider(
        self, item: Item[CiResourceParams], services: Services, resources: list[str]
    ) -> list[str]:
        """Cirun on for the feedstock, and its policy given the resources: as conda-smithy's
        ``enable_cirun_for_project`` and ``add_repo_to_cirun_resource`` do, each only when
        Cirun does not already say so."""
        cirun, org, repo = _cirun(services), services.settings.organisation, item.target
        done = []
        full_name = f"{org}/{repo}"
        # One listing per run; kept current as this run changes it.
        active: set[str] = services.memo(
            "cirun-active-repositories",
            lambda: {name for name, on in cirun.repositories().items() if on},
        )
        if full_name not in active:
            cirun.set_repo(full_name, active=True)
            active.add(full_name)
            done.append("Cirun turned on for it")
        access = cirun.access_control(org)
        ours = cirun.policy_id(repo)
        policy = access.policy(ours)
        missing = [r for r in resources if r not in access.resources_of(ours)]
        pull_request = item.params.pull_request
        if not missing and policy is not None and policy.pull_request == pull_request:
            return done
        # The policy keeps every resource it has; asking for all of this request's
        # resources sets its pull_request for them all at once.
        settings = services.settings
        roles = settings.cirun_roles
        users_from_json = settings.cirun_users_list(resources)
        cirun.add_repo_to_resources(
            org,
            repo,
            resources,
            pull_request=pull_request,
            roles=roles,
            users_from_json=users_from_json,
            # conda-smithy's fallback when neither is given: the feedstock's team.
            teams=None if roles or users_from_json else [item.params.feedstock],
        )
        scope = "pushes and pull requests" if pull_request else "pushes only"
        done.append(
            f"Cirun asked to give its policy {ours} {', '.join(missing or resources)} "
            f"({scope}); Cirun's bot proposes the change to "
            f"{org}/.cirun's .access.yml as a pull request"
        )
        return done

    def _revoke_provider(
        self, item: Item[CiResourceParams], services: Services, resources: list[str]
    ) -> tuple[list[str], bool]:
        """Take the resources from the feedstock's ``<repo>-policy`` and nothing else.

        Policies core wrote by hand for the feedstock (``<repo>-windows-policy``...) are
        not Cirun's API's to change: they stay, and while any of them (or the API's policy)
        still gives the feedstock a resource, the Cirun App stays on it. A revoke of a
        resource that such a policy gives fails, naming the policy, for core to edit.
        """
        cirun, org, repo = _cirun(services), services.settings.organisation, item.target
        access = cirun.access_control(org)
        ours = cirun.policy_id(repo)
        held = [r for r in resources if r in access.resources_of(ours)]
        done = []
        if held:
            cirun.remove_repo_from_resources(org, repo, held)
            done.append(
                f"Cirun asked to take {', '.join(held)} from its policy {ours}; Cirun's bot "
                f"proposes the change to {org}/.cirun's .access.yml as a pull request"
            )
        remaining = access.resources_for_repo(repo, without=[(ours, r) for r in held])
        kept_by_hand = sorted(
            {(r, p) for r, ids in remaining.items() for p in ids if p != ours and r in resources}
        )
        if kept_by_hand:
            # Not done: the feedstock keeps the runner. A person must change that policy.
            raise PermanentError(
                f"{repo!r} still may use "
                + ", ".join(f"{r} through the policy {p!r}" for r, p in kept_by_hand)
                + f", which core keeps by hand in {org}/.cirun's .access.yml (Cirun's API "
                f"changes only {ours!r}); remove it there, then retry this request"
            )
        if remaining:
            log.info("%s keeps Cirun resources %s: the App stays", repo, ", ".join(remaining))
        return done, bool(remaining)


def _cirun(services: Services) -> CirunClient:
    if services.cirun is None:
        raise PermanentError(
            "admin-requests has no Cirun API client in this run (the job's secret needs "
            "'cirun_api_key', the organisation's Cirun API key); ask core"
        )
    return services.cirun


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
