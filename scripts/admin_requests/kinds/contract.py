"""The request-kind contract shared by every module in this package.

A kind turns a YAML mapping into a typed model (``parse``), checks it offline
(``validate``) and splits it into independent items (``plan``). The processing engine
adds ``preflight`` and ``execute``; the queue runner owns everything else.

``RequestKind[ModelT, ParamsT]`` is generic over the kind's model (a ``RequestModel``
dataclass) and its items' parameters (a frozen dataclass per kind: booleans are
booleans, lists are tuples). Only the checker, the queue and the docs mix kinds of
different types; they hold them as ``RequestKind[Any, Any]`` (see ``kinds/__init__``).

Importing this module never imports ``admin_requests.services``: ``Services`` is only
named in annotations, so ``admin-requests check`` (offline) loads no client code.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from ruamel.yaml.nodes import MappingNode, Node

from admin_requests.access import Access
from admin_requests.kinds.layout import EntryLayout
from admin_requests.validation.fields import Decoder, Text
from admin_requests.validation.problems import Problem

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from admin_requests.services import Services


@dataclass(frozen=True)
class RequestModel:
    """Fields every request model has: where it came from and what it asks."""

    path: str
    action: str


ModelT = TypeVar("ModelT", bound=RequestModel)
# A frozen dataclass of the kind's own (tests/kinds/test_kind_hooks.py checks "frozen").
ParamsT = TypeVar("ParamsT", bound="DataclassInstance")


@dataclass(frozen=True)
class Item(Generic[ParamsT]):
    """One independent unit of work with an id that is stable across runs.

    ``params`` carries what ``execute`` needs (feedstock, branch, package...), typed by
    the kind, so an item can be carried out without the model it came from. Params are
    never serialised: the queue's state files and write-back keep item ids only, and
    every run plans the items again from the request file.
    """

    id: str
    action: str
    target: str
    description: str
    params: ParamsT


class OutcomeStatus(enum.Enum):
    DONE = "done"  # the item's end state holds (whether this run changed it or not)
    RETRY = "retry"  # a transient failure: try again in a later run, with backoff
    FAILED = "failed"  # permanent: retrying cannot help; a person must act


@dataclass(frozen=True)
class Outcome:
    status: OutcomeStatus
    detail: str  # plain words for the requester: what happened, or what to do
    changed: bool = False  # False when the item was already in its end state

    @classmethod
    def done(cls, detail: str, *, changed: bool = True) -> Outcome:
        return cls(OutcomeStatus.DONE, detail, changed)

    @classmethod
    def retry(cls, detail: str) -> Outcome:
        return cls(OutcomeStatus.RETRY, detail)

    @classmethod
    def failed(cls, detail: str) -> Outcome:
        return cls(OutcomeStatus.FAILED, detail)


# What a file edit does with the file's current bytes (None: it does not exist); the
# same contract as GitHubClient.update_file's ``change``, so one function serves both.
FileChange = Callable[[bytes | None], bytes | None]


@dataclass(frozen=True)
class FileEdit:
    path: str
    change: FileChange


@dataclass(frozen=True)
class RenderRequest:
    """What an item needs rendered by conda-smithy, away from every credential.

    Rendering evaluates the feedstock's recipe, which its maintainers control, so it runs
    in a job of its own (``admin-requests render``: no id-token, no vault, contents read;
    services/smithy.py). That job clones ``repository``'s default branch without
    credentials, applies ``edits`` (the same functions ``execute`` applies through the
    API to ``branch``), rerenders, and hands the result as a patch to the privileged job,
    where ``execute``'s ``services.rerenderer`` checks and pushes it to ``branch``.
    """

    repository: str  # the feedstock repository, e.g. "foo-feedstock"
    branch: str  # the branch execute() pushes the edits and the rendering to
    edits: tuple[FileEdit, ...]


class RenderResult(enum.Enum):
    """What ``services.rerenderer.rerender(repository, branch)`` did with the branch."""

    PUSHED = "pushed"  # the checked rendering is on the branch now
    CURRENT = "current"  # the branch already is the rendering (an earlier run, or no change)
    UNAVAILABLE = "unavailable"  # no rendering fits the branch: ask someone else to rerender


class RequestKind(ABC, Generic[ModelT, ParamsT]):
    """One request kind (or one family of kinds sharing a model and params)."""

    action: str
    summary: str
    # The dataclass ``parse`` returns; its fields are the documented request keys.
    model_type: ClassVar[type[RequestModel]] = RequestModel
    # Keys a request of this kind may have besides 'action', for docs and checks.
    required_keys: ClassVar[tuple[str, ...]] = ()
    optional_keys: ClassVar[tuple[str, ...]] = ()
    # Which YAML entry produces which item, so the queue can write back what is left.
    # None: the queue cannot shrink the file and keeps it whole until every item is done.
    item_entries: ClassVar[EntryLayout | None] = None
    # Items the queue may carry out at once. 1 (one after the other) unless the
    # service copes with concurrent writes and they never touch the same thing;
    # GitHub content writes stay serial (secondary rate limits, one file's sha).
    parallel_items: ClassVar[int] = 1
    # True when a request's items are best carried out together (all of a request's
    # outputs in one commit): the queue then calls ``execute_batch`` once per request
    # instead of ``execute`` per item.
    batched: ClassVar[bool] = False

    def __init__(self, action: str, summary: str) -> None:
        self.action = action
        self.summary = summary

    def parse(self, root: MappingNode, decoder: Decoder) -> ModelT | None:
        """Decode the mapping; None (with problems recorded) when it has any problem."""
        before = len(decoder.problems)
        fields = decoder.fields(
            root, action=self.action, required=self.required_keys, optional=self.optional_keys
        )
        model = self.build(fields, decoder)
        return model if len(decoder.problems) == before else None

    @abstractmethod
    def build(self, fields: dict[str, Node], decoder: Decoder) -> ModelT | None:
        """Decode the present keys into a model (problems go to the decoder)."""

    @abstractmethod
    def validate(self, model: ModelT) -> list[Problem]:
        """Offline, pure checks of the values (names, hashes, filenames)."""

    @abstractmethod
    def plan(self, model: ModelT) -> list[Item[ParamsT]]:
        """The items a validated request will act on, in file order.

        Each id comes from ``item_entries`` (its ``item_id``), the definition the queue
        also uses to find the item's entry in the file.
        """

    def items(self, model: ModelT) -> list[Item[ParamsT]]:
        """``plan`` without repeats: an entry listed twice is one unit of work."""
        return list({item.id: item for item in self.plan(model)}.values())

    def target_repositories(self, item: Item[ParamsT]) -> tuple[str, ...]:
        """The organisation's repositories ``item`` acts on because the request names them.

        As the kind maps names (``numpy`` -> ``numpy-feedstock``); not the infrastructure
        the kind itself uses to do it (token_reset's feedstock-tokens). The checker and
        the queue refuse an item whose target is protected
        (``Settings.protected_repositories``), so every kind that acts on repositories a
        request names must list them here; tests/kinds/test_contract.py checks it does.
        """
        return ()

    # -- online part (the processing engine) ----------------------------------------

    @abstractmethod
    def access(self, model: ModelT, services: Services) -> Access:
        """The repositories, permissions and scopes carrying this request out needs."""

    def preflight(self, model: ModelT, services: Services) -> list[Problem]:
        """Read-only online checks (does the feedstock exist...); none by default."""
        return []

    @abstractmethod
    def execute(self, item: Item[ParamsT], services: Services) -> Outcome:
        """Carry out one item idempotently: doing it twice is the same as once."""

    def execute_batch(self, items: list[Item[ParamsT]], services: Services) -> list[Outcome]:
        """Carry out ``items`` (of one request) together: one Outcome each, in order.

        Used instead of ``execute`` when ``batched``; idempotent as ``execute`` is. By
        default, one item after the other.
        """
        return [self.execute(item, services) for item in items]

    def render(self, item: Item[ParamsT]) -> RenderRequest | None:
        """What ``item`` needs rendered in the unprivileged render job; None: nothing.

        Offline and pure, like ``plan``: the render job holds no services. A kind that
        returns a request here finds the result through ``services.rerenderer`` in
        ``execute`` (and must cope with there being none: the render job may have been
        skipped, failed, or rendered a branch that has moved since).
        """
        return None

    def follow_up_key(self) -> str:
        """Kinds with the same key share one follow-up per run (``after_run`` of the first).

        They must share their params type too: ``done`` holds the items of all of them.
        """
        return self.action

    def follow_up_access(self, done: list[Item[ParamsT]], services: Services) -> Access:
        """What ``after_run`` needs, granted once per run with its own credentials.

        Kept apart from ``access``: a follow-up acts for the whole run (one rebuild for
        every label changed), so no single request's token should carry its permission.
        """
        return Access()

    def after_run(self, done: list[Item[ParamsT]], services: Services) -> None:
        """Once per run, after this kind's items (e.g. one repodata rebuild for all).

        ``done`` holds the done items of every kind with the same ``follow_up_key``;
        ``services`` hold credentials for exactly ``follow_up_access(done, ...)``.
        """
        return None


def check_each(
    path: str, values: Iterable[Text], check: Callable[[str], str | None], code: str
) -> list[Problem]:
    """Run a name check over positioned values, and flag values listed twice."""
    problems: list[Problem] = []
    seen: dict[str, Text] = {}
    for value in values:
        message = check(value)
        if message:
            problems.append(Problem(path, value.line, value.column, code, message))
        elif value in seen:
            problems.append(
                Problem(
                    path,
                    value.line,
                    value.column,
                    "duplicate-entry",
                    f"{str(value)!r} is listed twice (first on line {seen[value].line}); "
                    "remove this entry (it is done once either way).",
                    severity="warning",
                )
            )
        seen.setdefault(value, value)
    return problems


def feedstock_list(decoder: Decoder, node: Node, key: str = "feedstocks") -> list[Text] | None:
    return decoder.sequence(
        node,
        key,
        lambda item: decoder.text(item, f"each entry of {key!r}"),
        example_item="some-package",
    )
