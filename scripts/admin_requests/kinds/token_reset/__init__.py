"""``token_reset``: issue fresh feedstock tokens (CI uses them to prove uploads are its own).

Per feedstock, one new token per CI provider it builds on that admin-requests can store a
secret on: GitHub Actions (the repository's ``FEEDSTOCK_TOKEN`` secret) and Azure
Pipelines (the pipeline's secret variable). The token is ``secrets.token_hex(32)``, held
in memory only (never written to disk, never logged); the feedstock-tokens repository
gets its salted scrypt hash (see token_registry.py).

The steps, and why in this order (each is safe to repeat, so a rerun after a crash at
any point converges on "fresh tokens in CI, their hashes registered, old ones gone"):

1. Register the new hashes *provisionally* (``expires_at`` a week ahead), next to the
   old entries. Old tokens stay valid, so CI keeps uploading. A crash here leaves a hash
   whose token nobody has: it expires by itself and is dropped by the next reset.
2. Store each token in its CI. From here CI uses the new token, which is already
   accepted. A crash here leaves CI working on a provisional entry: the rerun issues
   another token, stores it and finalises, which replaces this one. A week outlasts
   the queue's retries (about 20 hours before a request is parked) with days for core.
3. Finalise: the new entries become permanent and the old ones are removed (or given
   ``existing_tokens_time_to_expiration``). Only providers whose store succeeded are
   finalised: a provider whose CI still holds the old token keeps it valid.

The feedstocks of one request go through the steps together, each step for all of them
before the next (two commits to the registry in all, not two per feedstock); the order
holds for each feedstock.

What it costs on GitHub, per feedstock: its ``conda-forge.yml``, its registry file
(read once, for the provisional commit: the final commit builds on what that commit
wrote, and reads again only if someone pushed in between), the repository's Actions
public key (once per repository for the run's client) and the secret: four calls, the
least a reset can do (benchmarks/token_reset_calls.py). Per request: the registry's
default branch and the two commits (eight calls). 1,000 feedstocks are about 4,000
calls, inside the 5,000 an hour GitHub gives an App installation at the least.

The unregistered-outputs hint (below) costs two more calls a feedstock (its recipe, an
output's registration): worth it for the maintainer who asks for a reset of their
feedstock when an upload is refused for an output, not for a mass reset by core after
a leak, where it would be 2,000 of the hour's calls. So a request of more than
``HINT_MAX_FEEDSTOCKS`` (50) feedstocks leaves it out, and each outcome says it was not
checked and how to have it checked.

Registering after storing instead would leave CI with a token no entry accepts
until the rerun; removing the old entries first would do the same. A rerun repeats all
steps for the feedstock (a token's value cannot be read back to skip a provider).

Tokens are always one per provider (entries with a ``provider``), which conda-forge's
check accepts whatever ``unique_token_per_provider`` says; the key is still read so old
request files stay valid.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from ruamel.yaml.nodes import Node, ScalarNode, SequenceNode

from admin_requests.access import Access, GitHubGrant
from admin_requests.errors import NotFoundError, PermanentError, ServiceError, TransientError
from admin_requests.kinds.contract import (
    Item,
    Outcome,
    RequestKind,
    RequestModel,
    check_each,
    feedstock_list,
)
from admin_requests.kinds.execution import guarded, guarded_all, unchecked_online
from admin_requests.kinds.feedstock_facts import (
    CONDA_FORGE_YML,
    advice,
    ci_providers,
    unregistered_outputs,
)
from admin_requests.kinds.layout import EntryLayout, ListEntries
from admin_requests.kinds.token_reset import registry
from admin_requests.validation.fields import Decoder, Text
from admin_requests.validation.names import CI_PROVIDERS, check_feedstock_name
from admin_requests.validation.problems import Problem

if TYPE_CHECKING:
    from admin_requests.credentials.redact import Secret
    from admin_requests.services import Services

log = logging.getLogger(__name__)

SECRET_NAME = "FEEDSTOCK_TOKEN"  # noqa: S105 (the variable's name, not a value)
# Where admin-requests can store a token; the other providers need core by hand.
STORABLE = ("github_actions", "azure")
# How long a provisional registry entry stays valid if the reset is never finalised.
PENDING_SECONDS = 7 * 24 * 3600
# The longest the old tokens may stay valid after a reset. A reset usually follows a
# leak: an unbounded grace (999999999999999999 s) would leave the leaked token valid for
# good while the request looks done. 30 days covers any build still running on them.
MAX_EXPIRATION_SECONDS = 30 * 24 * 3600
# Past this many feedstocks in one request, the unregistered-outputs hint is left out.
HINT_MAX_FEEDSTOCKS = 50
COMMIT_PREFIX = "[ci skip] [skip ci] [cf admin skip] ***NO_CI***"
ENTRIES = ListEntries("feedstocks")


@dataclass(frozen=True)
class TokenResetRequest(RequestModel):
    feedstocks: tuple[Text, ...]
    skip_providers: tuple[Text, ...] = ()
    existing_tokens_time_to_expiration: int | None = None
    unique_token_per_provider: bool = False


@dataclass(frozen=True)
class TokenResetParams:
    feedstock: str  # without the '-feedstock' suffix
    providers: tuple[str, ...]  # the CI providers not in skip_providers
    expiration: int | None  # seconds the old tokens stay valid; None: removed at once


def _too_long(expiration: int) -> str:
    return (
        f"'existing_tokens_time_to_expiration' is {expiration:,} seconds; the old tokens may "
        f"stay valid for at most {MAX_EXPIRATION_SECONDS:,} seconds (30 days) after a reset. "
        "Write a smaller number (e.g. 86400 for a day), or null to replace them at once."
    )


def _check_provider(value: str) -> str | None:
    if value in CI_PROVIDERS:
        return None
    known = ", ".join(CI_PROVIDERS)
    return f"unknown CI provider {value!r} in 'skip_providers'; use some of: {known}."


class TokenResetKind(RequestKind[TokenResetRequest, TokenResetParams]):
    model_type: ClassVar[type[RequestModel]] = TokenResetRequest
    batched: ClassVar[bool] = True
    required_keys: ClassVar[tuple[str, ...]] = ("feedstocks",)
    item_entries: ClassVar[EntryLayout | None] = ENTRIES
    optional_keys: ClassVar[tuple[str, ...]] = (
        "skip_providers",
        "existing_tokens_time_to_expiration",
        "unique_token_per_provider",
    )

    def build(self, fields: dict[str, Node], decoder: Decoder) -> TokenResetRequest | None:
        skip: list[Text] | None = []
        node = fields.get("skip_providers")
        # 'skip_providers: []' is the documented way of saying "none" and stays valid.
        if node is not None and not (isinstance(node, SequenceNode) and not node.value):
            if isinstance(node, ScalarNode) and str(node.value) in ("", "~", "null"):
                skip = []
            else:
                skip = decoder.sequence(
                    node,
                    "skip_providers",
                    lambda item: decoder.text(item, "a CI provider"),
                    example_item="travis",
                )
        ok, expiration = True, None
        if "existing_tokens_time_to_expiration" in fields:
            node = fields["existing_tokens_time_to_expiration"]
            ok, expiration = decoder.optional_int(node, "existing_tokens_time_to_expiration")
            if expiration is not None and expiration > MAX_EXPIRATION_SECONDS:
                decoder.error(node, "expiration-too-long", _too_long(expiration))
                ok = False
        unique: bool | None = False
        if "unique_token_per_provider" in fields:
            unique = decoder.boolean(
                fields["unique_token_per_provider"], "unique_token_per_provider"
            )
        feedstocks = (
            feedstock_list(decoder, fields["feedstocks"]) if "feedstocks" in fields else None
        )
        if feedstocks is None or skip is None or not ok or unique is None:
            return None
        return TokenResetRequest(
            decoder.path, self.action, tuple(feedstocks), tuple(skip), expiration, unique
        )

    def validate(self, model: TokenResetRequest) -> list[Problem]:
        return check_each(
            model.path, model.feedstocks, check_feedstock_name, "bad-feedstock-name"
        ) + check_each(model.path, model.skip_providers, _check_provider, "bad-provider")

    def plan(self, model: TokenResetRequest) -> list[Item[TokenResetParams]]:
        providers = tuple(p for p in CI_PROVIDERS if p not in model.skip_providers)
        expiration = model.existing_tokens_time_to_expiration
        old = (
            "replace the old tokens"
            if expiration is None
            else f"let the old tokens expire in {expiration} s"
        )
        return [
            Item(
                ENTRIES.item_id(self.action, name),
                self.action,
                f"{name}-feedstock",
                f"issue a new feedstock token for {name}-feedstock on each CI provider it "
                f"builds on (among {', '.join(providers) or 'none'}) and {old}",
                TokenResetParams(str(name), providers, expiration),
            )
            for name in model.feedstocks
        ]

    def target_repositories(self, item: Item[TokenResetParams]) -> tuple[str, ...]:
        return (f"{item.params.feedstock}-feedstock",)

    def access(self, model: TokenResetRequest, services: Services) -> Access:
        # Three tokens, each as narrow as its use: secrets on the feedstocks (and reading
        # their conda-forge.yml and recipe), writing only the feedstock-tokens repository,
        # reading only feedstock-outputs (the unregistered-outputs advice).
        settings = services.settings
        providers = [p for p in CI_PROVIDERS if p not in model.skip_providers]
        permissions = {"contents": "read"}
        if "github_actions" in providers:
            permissions["secrets"] = "write"
        return Access(
            github_repositories=tuple(dict.fromkeys(f"{n}-feedstock" for n in model.feedstocks)),
            github_permissions=permissions,
            github_extra=(
                GitHubGrant((settings.feedstock_tokens_repository,), {"contents": "write"}),
                GitHubGrant((settings.feedstock_outputs_repository,), {"contents": "read"}),
            ),
            azure_devops="azure" in providers,
        )

    def preflight(self, model: TokenResetRequest, services: Services) -> list[Problem]:
        problems: list[Problem] = []
        # The outputs check as in execute_batch: not for a mass reset.
        outputs = len(model.feedstocks) <= HINT_MAX_FEEDSTOCKS
        for name in model.feedstocks:
            problems += _preflight_feedstock(model.path, name, services, outputs=outputs)
        return problems

    def execute(self, item: Item[TokenResetParams], services: Services) -> Outcome:
        return self.execute_batch([item], services)[0]

    def execute_batch(
        self, items: list[Item[TokenResetParams]], services: Services
    ) -> list[Outcome]:
        """Reset every feedstock of the request with two commits to the registry in all.

        The steps' order holds for each feedstock (provisional entries, then its CI,
        then the final entries): all provisional entries go in one commit, every token
        is stored, then one commit finalises what was stored, on top of the first and
        of the files as it wrote them. Upstream, and this kind before, wrote two
        commits per feedstock: 2,000 content writes for 1,000 feedstocks, where GitHub
        allows 500 an hour.
        """
        outcomes: dict[str, Outcome] = {}
        resets: list[_Reset] = []
        for item in items:
            outcome, reset = self._prepare(item, services)
            if reset is None:
                outcomes[item.id] = outcome
            else:
                resets.append(reset)
        try:
            outcomes.update(
                guarded_all(
                    f"reset {len(resets)} feedstock tokens",
                    [reset.item for reset in resets],
                    lambda: self._register_and_store(resets, services),
                    not_found=f"the {services.settings.feedstock_tokens_repository!r} "
                    f"repository is missing in {services.settings.organisation!r}, or this "
                    "run's token cannot reach it; ask core to check the configuration and "
                    "the GitHub App's installation.",
                )
            )
        finally:
            for reset in resets:
                for token in reset.tokens.values():
                    token.clear()
        # The usual confusion: uploads fail because an output is not registered, and a
        # token reset is asked for. Say so with the outcome, done or not: it reaches
        # the job summary and, when the request is parked, the requester's issue. It
        # costs two reads a feedstock (its recipe, an output's registration), so a mass
        # reset (core's, after a leak: not that confusion) goes without it.
        for item in items:
            if len(items) > HINT_MAX_FEEDSTOCKS:
                hint: str | None = _hint_skipped()
            else:
                hint = _advice_or_none(services, item.params.feedstock)
            if hint is not None:
                found = outcomes[item.id]
                outcomes[item.id] = dataclasses.replace(found, detail=f"{found.detail}\n\n{hint}")
        return [outcomes[item.id] for item in items]

    def _prepare(
        self, item: Item[TokenResetParams], services: Services
    ) -> tuple[Outcome, _Reset | None]:
        """What resetting ``item`` takes (its new tokens), or its outcome without a reset."""
        expiration = item.params.expiration
        if expiration is not None and expiration > MAX_EXPIRATION_SECONDS:
            # The checker refuses it; this holds for items that did not come through it.
            return Outcome.failed(_too_long(expiration)), None
        repo = item.target
        org = services.settings.organisation
        found: list[_Reset] = []

        def prepare() -> Outcome:
            outcome, reset = self._plan_reset(item, services)
            found.extend([reset] if reset else [])
            return outcome

        outcome = guarded(
            item.description,
            prepare,
            not_found=f"there is no repository {repo!r} in {org!r}; check the feedstock name "
            "and fix or remove it in the request.",
        )
        return outcome, found[0] if found else None

    def _plan_reset(
        self, item: Item[TokenResetParams], services: Services
    ) -> tuple[Outcome, _Reset | None]:
        from admin_requests.credentials.redact import Secret  # credentials/ imports the kinds

        repo = item.target
        wanted = item.params.providers
        github = services.github_for(repo)
        config = github.get_file(repo, CONDA_FORGE_YML)
        if config is None:
            github.repository(repo)  # a missing feedstock is a NotFoundError, said plainly
        in_use = ci_providers(config.text if config else None)
        blocked = {p: why for p, why in in_use.items() if p in wanted and p not in STORABLE}
        if blocked:
            return Outcome.failed(_blocked_words(repo, blocked)), None
        targets = [p for p in STORABLE if p in wanted and (p == "github_actions" or p in in_use)]
        if not targets:
            return Outcome.done(
                f"{repo}: every CI provider it builds on is in skip_providers; nothing reset",
                changed=False,
            ), None
        tokens = {p: Secret(secrets.token_hex(32)) for p in targets}
        # Providers that may still hold the old shared token after this reset.
        others = [p for p in ("github_actions", *in_use) if p not in targets]
        now = int(services.clock())
        pending = {
            p: registry.new_entry(token, p, expires_at=now + PENDING_SECONDS)
            for p, token in tokens.items()
        }
        return Outcome.done("planned"), _Reset(item, tokens, pending, others)

    def _register_and_store(self, resets: list[_Reset], services: Services) -> dict[str, Outcome]:
        if not resets:
            return {}
        tokens_repo = services.settings.feedstock_tokens_repository
        writer = services.github_for(tokens_repo)
        branch = writer.repository(tokens_repo).default_branch
        names = _names([reset.item.target for reset in resets])
        # 1. provisional entries beside the old ones, for every feedstock at once
        provisional = writer.change_files(
            tokens_repo,
            branch,
            {reset.path: _with_pending(reset) for reset in resets},
            f"{COMMIT_PREFIX} new tokens for {names} (provisional)",
        )
        # 2. into each CI (not for a feedstock whose entries could not be registered)
        for reset in resets:
            if reset.unwritable is not None:
                continue
            for provider, token in reset.tokens.items():
                try:
                    self._store(services, reset.item.target, provider, token)
                    reset.stored.append(provider)
                except ServiceError as error:
                    log.warning(
                        "%s: storing the token on %s failed: %s", reset.item.target, provider, error
                    )
                    reset.failures[provider] = error
        # 3. finalise what reached its CI, for every feedstock at once
        stored = [reset for reset in resets if reset.stored]
        if stored:
            # On top of the provisional commit and the files as it wrote them: no file is
            # read again unless someone pushed in between (then all are, see change_files).
            writer.change_files(
                tokens_repo,
                branch,
                {reset.path: _finalized(reset, services) for reset in stored},
                f"{COMMIT_PREFIX} tokens for {_names([r.item.target for r in stored])}",
                after=provisional,
            )
        return {
            reset.item.id: Outcome.failed(f"{reset.unwritable}. Ask core to look at this request.")
            if reset.unwritable is not None
            else self._outcome(
                reset.item, reset.stored, reset.failures, reset.item.params.expiration
            )
            for reset in resets
        }

    def _store(self, services: Services, repo: str, provider: str, token: Secret) -> None:
        if provider == "github_actions":
            services.github_for(repo).set_actions_secret(repo, SECRET_NAME, token)
            return
        if services.azure_devops is None:
            raise PermanentError(
                "Azure Pipelines is not configured for admin-requests (no Azure federation: "
                "AZURE_TENANT_ID/AZURE_CLIENT_ID); ask core to store the token on Azure or "
                "to configure it"
            )
        services.azure_devops.set_secret_variable(repo, SECRET_NAME, token)

    def _outcome(
        self,
        item: Item[TokenResetParams],
        stored: list[str],
        failures: dict[str, ServiceError],
        expiration: int | None,
    ) -> Outcome:
        repo = item.target
        old = "old tokens removed" if expiration is None else f"old tokens expire in {expiration} s"
        parts = []
        if stored:
            parts.append(f"new {SECRET_NAME} stored and registered on {', '.join(stored)}; {old}")
        for provider, error in failures.items():
            parts.append(
                f"{provider}: not stored ({_error_words(provider, error)}); its old token "
                "still works"
            )
        detail = f"{repo}: " + "; ".join(parts)
        if not failures:
            return Outcome.done(detail)
        if any(isinstance(e, TransientError) for e in failures.values()):
            return Outcome.retry(detail)
        return Outcome.failed(detail)


@dataclass
class _Reset:
    """One feedstock's reset in progress: its new tokens and what became of them."""

    item: Item[TokenResetParams]
    tokens: dict[str, Secret]
    pending: dict[str, registry.Entry]  # provider -> its provisional registry entry
    others: list[str]  # providers that may still hold the old shared token
    stored: list[str] = dataclasses.field(default_factory=list)
    failures: dict[str, ServiceError] = dataclasses.field(default_factory=dict)
    # Why its registry file cannot be written (not in the expected format), if so.
    unwritable: PermanentError | None = None

    @property
    def path(self) -> str:
        return registry.registry_path(self.item.params.feedstock)


def _with_pending(reset: _Reset) -> Callable[[bytes | None], bytes | None]:
    def change(current: bytes | None) -> bytes | None:
        reset.unwritable = None
        try:
            entries = registry.parse(current, reset.path)
        except PermanentError as error:
            # This feedstock only: the others of the request go on.
            reset.unwritable = error
            return None
        return registry.render(registry.with_pending(entries, reset.pending.values()))

    return change


def _finalized(reset: _Reset, services: Services) -> Callable[[bytes | None], bytes | None]:
    ours = {p: reset.pending[p] for p in reset.stored}

    def change(current: bytes | None) -> bytes | None:
        return registry.render(
            registry.finalized(
                registry.parse(current, reset.path),
                ours,
                now=int(services.clock()),
                old_tokens_expire_in=reset.item.params.expiration,
                still_in_use=[*reset.others, *reset.failures],
            )
        )

    return change


def _names(repos: list[str], shown: int = 5) -> str:
    """Feedstocks for a commit subject: the first few, then a count."""
    if len(repos) <= shown:
        return ", ".join(repos)
    return f"{', '.join(repos[:shown])} and {len(repos) - shown} more"


def _blocked_words(repo: str, blocked: dict[str, str]) -> str:
    providers = ", ".join(sorted(blocked))
    why = "; ".join(blocked.values())
    return (
        f"{repo} builds on {providers} ({why}), where admin-requests cannot store a feedstock "
        f"token. Nothing was changed. Add {', '.join(repr(p) for p in sorted(blocked))} to "
        "'skip_providers' to reset the tokens on the other providers now, and ask core to "
        f"reset the {providers} token by hand."
    )


def _error_words(provider: str, error: ServiceError) -> str:
    if isinstance(error, NotFoundError) and provider == "azure":
        return f"{error}; check that the feedstock's Azure pipeline exists"
    return str(error)


def _hint_skipped() -> str:
    return (
        "Whether its outputs are registered to it was not checked: a request of more than "
        f"{HINT_MAX_FEEDSTOCKS} feedstocks leaves that check out. If uploads still fail "
        "with 'not allowed' or 'not registered', ask for a token_reset of this feedstock "
        "alone, which checks it."
    )


def _advice_or_none(services: Services, feedstock: str) -> str | None:
    """The unregistered-outputs advice, or None (also when it cannot be checked now)."""
    try:
        problems = unregistered_outputs(services, feedstock)
    except ServiceError as error:
        log.info("could not check the outputs of %s: %s", feedstock, error)
        return None
    return advice(feedstock, problems) if problems else None


def _preflight_feedstock(
    path: str, name: Text, services: Services, *, outputs: bool = True
) -> list[Problem]:
    repo = f"{name}-feedstock"
    org = services.settings.organisation
    try:
        services.github.repository(repo)
    except NotFoundError:
        return [
            Problem(
                path,
                name.line,
                name.column,
                "no-such-feedstock",
                f"there is no repository {repo!r} in {org!r}; check the feedstock name.",
            )
        ]
    except ServiceError as error:
        return [unchecked_online(path, name, error)]
    if not outputs:
        return []
    try:
        problems = unregistered_outputs(services, str(name))
    except ServiceError as error:
        return [unchecked_online(path, name, error)]
    if not problems:
        return []
    return [
        Problem(
            path,
            name.line,
            name.column,
            "output-not-registered",
            advice(str(name), problems),
            severity="warning",
        )
    ]


KIND = TokenResetKind(
    "token_reset",
    "Issue a new feedstock token when uploads fail with a token/authentication error.",
)
