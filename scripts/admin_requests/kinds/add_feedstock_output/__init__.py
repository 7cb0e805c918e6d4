"""``add_feedstock_output``: allow a feedstock to upload packages with given names or globs."""

from __future__ import annotations

import functools
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.tokens import CommentToken

from admin_requests.access import Access
from admin_requests.errors import NotFoundError, PermanentError
from admin_requests.kinds.add_feedstock_output.owners import Claim, OutputsRegistry
from admin_requests.kinds.contract import (
    Item,
    Outcome,
    OutcomeStatus,
    RequestKind,
    RequestModel,
    check_each,
)
from admin_requests.kinds.execution import (
    check_online,
    feedstocks_exist,
    guarded,
    guarded_all,
    missing_feedstock,
)
from admin_requests.kinds.layout import EntryLayout, MappingOfLists
from admin_requests.validation.fields import Decoder, Text, describe
from admin_requests.validation.names import check_feedstock_name, check_output_name_or_glob, is_glob
from admin_requests.validation.problems import Problem

if TYPE_CHECKING:
    from admin_requests.services import Services

CONFIG_PATH = "config.json"
MESSAGE_LINES = 100  # a commit message lists this many outputs, then counts the rest
ALLOWLIST_PATH = "feedstock_outputs_autoreg_allowlist.yml"

CURRENT_FORM = (
    "feedstock_to_output_mapping:\n"
    "  some-feedstock:\n"
    "    - some-output\n"
    "    - 'libsome*'   # a glob"
)


@dataclass(frozen=True)
class FeedstockOutputsRequest(RequestModel):
    feedstock_to_output_mapping: tuple[tuple[Text, tuple[Text, ...]], ...]


@dataclass(frozen=True)
class OutputParams:
    feedstock: str  # without the '-feedstock' suffix
    output: str  # a package name, or a glob when ``glob``
    glob: bool  # a glob goes to the auto-registration allowlist, a name to its own file


def _superseded_list_form(node: SequenceNode) -> str:
    """Rewrite the pre-2024 list-of-single-entry-mappings form into the current mapping."""
    mapping: dict[str, list[str]] = {}
    for entry in node.value:
        if isinstance(entry, MappingNode):
            for key, value in entry.value:
                outputs = value.value if isinstance(value, SequenceNode) else [value]
                mapping.setdefault(str(key.value), []).extend(
                    str(item.value) for item in outputs if isinstance(item, ScalarNode)
                )
    if not mapping:
        return CURRENT_FORM
    lines = ["feedstock_to_output_mapping:"]
    for feedstock, outputs in list(mapping.items())[:5]:
        lines.append(f"  {feedstock}:")
        lines += [f"    - {output}" for output in outputs[:5]]
    return "\n".join(lines)


def _bare(feedstock: Text) -> Text:
    """The feedstock name without a '-feedstock' suffix, keeping its position."""
    return Text(feedstock.removesuffix("-feedstock"), feedstock.line, feedstock.column)


def output_item_id(action: str, feedstock: str, output: str) -> str:
    return f"{action}:{feedstock.removesuffix('-feedstock')}:{output}"


# plan() takes its ids from here too, so the queue finds each item's entry.
ENTRIES = MappingOfLists("feedstock_to_output_mapping", output_item_id)


class AddFeedstockOutputKind(RequestKind[FeedstockOutputsRequest, OutputParams]):
    model_type: ClassVar[type[RequestModel]] = FeedstockOutputsRequest
    batched: ClassVar[bool] = True
    required_keys: ClassVar[tuple[str, ...]] = ("feedstock_to_output_mapping",)
    item_entries: ClassVar[EntryLayout | None] = ENTRIES

    def build(self, fields: dict[str, Node], decoder: Decoder) -> FeedstockOutputsRequest | None:
        node = fields.get("feedstock_to_output_mapping")
        if node is None:
            return None
        if isinstance(node, SequenceNode):
            decoder.error(
                node,
                "superseded-format",
                "'feedstock_to_output_mapping' is a list: that is the old format, no longer "
                "accepted. The current format is a mapping from each feedstock name to a list "
                "of output names or globs; rewrite it as:\n" + _superseded_list_form(node),
            )
            return None
        if not isinstance(node, MappingNode) or not node.value:
            decoder.error(
                node,
                "expected-mapping",
                "'feedstock_to_output_mapping' must map each feedstock name to a list of "
                f"outputs, not {describe(node)}:\n{CURRENT_FORM}",
            )
            return None
        result = []
        for feedstock, outputs_node in decoder.mapping_entries(
            node, "'feedstock_to_output_mapping'"
        ):
            outputs = decoder.sequence(
                outputs_node,
                str(feedstock),
                lambda item: decoder.text(item, "an output name or glob"),
                example_item="some-output",
                indent="  ",
            )
            if outputs is not None:
                result.append((feedstock, tuple(outputs)))
        return FeedstockOutputsRequest(decoder.path, self.action, tuple(result))

    def validate(self, model: FeedstockOutputsRequest) -> list[Problem]:
        feedstocks = [feedstock for feedstock, _ in model.feedstock_to_output_mapping]
        problems = check_each(
            model.path,
            [_bare(feedstock) for feedstock in feedstocks],
            check_feedstock_name,
            "bad-feedstock-name",
        )
        # conda-forge has always accepted 'name-feedstock' keys here and stripped the
        # suffix, and real requests rely on it: keep accepting them, but say so.
        problems += [
            Problem(
                model.path,
                feedstock.line,
                feedstock.column,
                "feedstock-suffix",
                f"write the feedstock name without the '-feedstock' suffix: "
                f"{_bare(feedstock)!r}; it is read that way.",
                severity="warning",
            )
            for feedstock in feedstocks
            if feedstock.endswith("-feedstock")
        ]
        for _, outputs in model.feedstock_to_output_mapping:
            problems += check_each(model.path, outputs, check_output_name_or_glob, "bad-output")
        return problems

    def plan(self, model: FeedstockOutputsRequest) -> list[Item[OutputParams]]:
        items = []
        for key, outputs in model.feedstock_to_output_mapping:
            feedstock = _bare(key)
            for output in outputs:
                if is_glob(output):
                    what = f"allow {feedstock}-feedstock to register outputs matching {output!s}"
                else:
                    what = f"register output {output!s} for {feedstock}-feedstock"
                items.append(
                    Item(
                        ENTRIES.item_id(self.action, key, output),
                        self.action,
                        str(output),
                        what,
                        OutputParams(str(feedstock), str(output), glob=is_glob(output)),
                    )
                )
        return items

    def access(self, model: FeedstockOutputsRequest, services: Services) -> Access:
        return Access(
            github_repositories=(services.settings.feedstock_outputs_repository,),
            github_permissions={"contents": "write"},
        )

    def preflight(self, model: FeedstockOutputsRequest, services: Services) -> list[Problem]:
        keys = [key for key, _ in model.feedstock_to_output_mapping]
        problems = feedstocks_exist(model.path, keys, services, bare=lambda key: str(_bare(key)))
        for key, outputs in model.feedstock_to_output_mapping:
            for output in outputs:
                problems += _ownership_problems(model.path, output, services, str(_bare(key)))
        return problems

    def execute(self, item: Item[OutputParams], services: Services) -> Outcome:
        return self.execute_batch([item], services)[0]

    def execute_batch(self, items: list[Item[OutputParams]], services: Services) -> list[Outcome]:
        """All of a request's names and globs in one commit to feedstock-outputs.

        Upstream writes one commit per output (200 outputs: 200 content writes, which
        GitHub's limit of 80 content-generating requests a minute makes take minutes);
        here it is one read per file, then one tree, one commit and one ref update.
        """
        repository = services.settings.feedstock_outputs_repository
        outcomes: dict[str, Outcome] = {}
        wanted: list[Item[OutputParams]] = []
        for item in items:
            feedstock = item.params.feedstock
            # Checked here too, not only in dry runs: outputs registered to a feedstock
            # that does not exist would pass to whoever later creates that repository.
            missing = services.memo(
                f"missing-feedstock:{feedstock}",
                functools.partial(missing_feedstock, services, feedstock),
            )
            if missing is not None:
                outcomes[item.id] = Outcome.failed(missing)
            else:
                wanted.append(item)
        not_found = (
            f"the {repository!r} repository or its {CONFIG_PATH!r} is missing in "
            f"{services.settings.organisation!r}; ask core to check the configuration."
        )
        if any(not item.params.glob for item in wanted):
            # Names need config.json (globs do not): without it only they fail.
            config = guarded(
                "read the feedstock-outputs config",
                lambda: Outcome.done(str(outputs_config(services))),
                not_found=not_found,
            )
            if config.status is not OutcomeStatus.DONE:
                outcomes.update({item.id: config for item in wanted if not item.params.glob})
                wanted = [item for item in wanted if item.params.glob]
        outcomes.update(
            guarded_all(
                f"{len(wanted)} outputs in {repository}",
                wanted,
                lambda: _register_all(wanted, services),
                not_found=not_found,
            )
        )
        return [outcomes[item.id] for item in items]


def _register_all(items: list[Item[OutputParams]], services: Services) -> dict[str, Outcome]:
    """Write ``items`` in one commit; each item's outcome (an edit may fail alone)."""
    if not items:
        return {}
    repository = services.settings.feedstock_outputs_repository
    by_path: dict[str, list[Item[OutputParams]]] = {}
    for item in items:
        if item.params.glob:
            path = ALLOWLIST_PATH
        else:
            path = sharded_path(item.params.output, outputs_config(services))
        by_path.setdefault(path, []).append(item)
    # Each file's edit records its items' outcomes; a re-read after a concurrent push
    # applies the edits again, and the outcomes of that last attempt stand.
    outcomes: dict[str, Outcome] = {}
    changed: dict[str, str] = {}  # item id -> path, for items that changed their file

    def edit(
        path: str, its_items: list[Item[OutputParams]]
    ) -> Callable[[bytes | None], bytes | None]:
        def change(current: bytes | None) -> bytes | None:
            content = current
            for item in its_items:
                changed.pop(item.id, None)
                outcomes.pop(item.id, None)
                try:
                    new = _edit_one(content, item, path)
                except PermanentError as error:
                    outcomes[item.id] = Outcome.failed(f"{error}")
                    continue
                if new is None:
                    outcomes[item.id] = Outcome.done(
                        f"already in {repository}/{path}", changed=False
                    )
                else:
                    content, changed[item.id] = new, path
            return content if content != current else None

        return change

    branch = services.memo(
        "feedstock-outputs-branch", lambda: services.github.repository(repository).default_branch
    )
    result = services.github.change_files(
        repository,
        branch,
        {path: edit(path, its) for path, its in by_path.items()},
        lambda: _commit_message([item for item in items if item.id in changed]),
    )
    for item_id, path in changed.items():
        where = f"{repository}/{path}"
        outcomes[item_id] = Outcome.done(
            f"recorded in {where} ({result.commit.sha[:12]})" if result else f"already in {where}",
            changed=result is not None,
        )
    return outcomes


def _edit_one(content: bytes | None, item: Item[OutputParams], path: str) -> bytes | None:
    feedstock, output = item.params.feedstock, item.params.output
    if item.params.glob:
        return add_glob(content, feedstock=feedstock, glob=output)
    return add_feedstock(content, feedstock=feedstock, path=path)


def _commit_message(items: list[Item[OutputParams]]) -> str:
    """One line per output written, as upstream's one commit per output would have said."""
    lines = []
    for item in items:
        feedstock, output = item.params.feedstock, item.params.output
        if item.params.glob:
            lines.append(f"Allow {feedstock}-feedstock to register outputs matching {output}")
        else:
            lines.append(f"Register output {output} for {feedstock}-feedstock")
    if len(lines) == 1:
        return f"[admin-requests] {lines[0]}"
    if len(lines) > MESSAGE_LINES:
        lines = [*lines[:MESSAGE_LINES], f"... and {len(lines) - MESSAGE_LINES} more"]
    feedstocks = sorted({item.params.feedstock for item in items})
    subject = f"[admin-requests] Register {len(items)} outputs and globs for " + ", ".join(
        f"{name}-feedstock" for name in feedstocks[:3]
    )
    if len(feedstocks) > 3:
        subject += f" and {len(feedstocks) - 3} more"
    return subject + "\n\n" + "\n".join(lines) + "\n"


def outputs_registry(services: Services) -> OutputsRegistry:
    """The run's read-only view of feedstock-outputs (shared by every file it checks)."""

    config = outputs_config(services)  # memo() holds its lock while building: not inside
    return services.memo(
        "feedstock-outputs-registry", lambda: OutputsRegistry(services, config, ALLOWLIST_PATH)
    )


def _ownership_problems(
    path: str, output: Text, services: Services, feedstock: str
) -> list[Problem]:
    problems = check_online(
        path,
        output,
        functools.partial(_owned_elsewhere, services, feedstock, str(output)),
        "owned-elsewhere",
    )
    if problems:
        return problems  # a conflict, or the registry could not be read: nothing to add
    return check_online(
        path,
        output,
        functools.partial(_too_wide, services, feedstock, str(output)),
        "glob-too-wide",
        severity="warning",
    )


def _owned_elsewhere(services: Services, feedstock: str, output: str) -> str | None:
    """Say plainly when ``output`` already belongs to other feedstocks, for the reviewer.

    The same facts the validation service goes by: the output's own file and the
    allowlist's globs (owners.py). The preflight of a dry run and ``check --online`` on
    the pull request both report it, as an error: two feedstocks able to upload one
    name is what feedstock-outputs exists to prevent.
    """
    registry = outputs_registry(services)
    found = registry.claims(output)
    others = found.others(feedstock)
    repository = services.settings.feedstock_outputs_repository
    if not others:
        return None
    owners = ", ".join(sorted({f"{c.feedstock}-feedstock" for c in others}))
    facts = _describe_claims(output, others, repository)
    if found.unread:
        facts += f" ({found.unread} more matching outputs were not read)"
    if is_glob(output):
        effect = f"with this glob, {feedstock}-feedstock could upload them too"
        narrow = ", narrow the glob so it matches none of them,"
    else:
        effect = f"adding it lets {feedstock}-feedstock upload it too"
        narrow = ""
    return (
        f"{facts}; {effect}. If the output moves to {feedstock}-feedstock or is to be "
        f"shared with it, link the agreement of those feedstocks' maintainers ({owners}) in "
        f"the pull request; core may then merge despite this check. Otherwise remove it"
        f"{narrow} from the request."
    )


def _too_wide(services: Services, feedstock: str, output: str) -> str | None:
    """A glob that matches more registered outputs than the check reads, all seemingly
    the requester's own: say what was not looked at."""
    found = outputs_registry(services).claims(output)
    if not found.unread or found.others(feedstock):
        return None  # nothing left unread, or already an error
    return (
        f"the glob {output!r} matches more registered outputs than the check reads; the "
        f"owners of {found.unread} of them were not checked. Narrow the glob, or check in "
        f"{services.settings.feedstock_outputs_repository} that they are all "
        f"{feedstock}-feedstock's."
    )


def _describe_claims(output: str, others: list[Claim], repository: str) -> str:
    registered: dict[str, list[str]] = {}
    globs: dict[str, list[str]] = {}
    for claim in others:
        owner = f"{claim.feedstock}-feedstock"
        if claim.output is not None:
            registered.setdefault(owner, []).append(claim.output)
        if claim.glob is not None:
            globs.setdefault(owner, []).append(claim.glob)
    parts = []
    if registered and not is_glob(output):
        owners = ", ".join(sorted(registered))
        parts.append(f"the output {output!r} is already registered to {owners}")
    for owner, outputs in sorted(registered.items()) if is_glob(output) else ():
        names = sorted(set(outputs))
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        parts.append(f"the glob {output!r} matches outputs registered to {owner}: {shown}")
    for owner, owned in sorted(globs.items()):
        listed = ", ".join(repr(g) for g in sorted(set(owned)))
        if is_glob(output):
            parts.append(f"it overlaps {owner}'s allowed glob {listed}")
        else:
            parts.append(f"it matches {owner}'s allowed glob {listed}, so {owner} may register it")
    where = sorted({claim.path for claim in others})
    shown_where = ", ".join(where[:3]) + (" ..." if len(where) > 3 else "")
    return f"{'; '.join(parts)} (in {repository}: {shown_where})"


@dataclass(frozen=True)
class OutputsConfig:
    """``config.json`` of the feedstock-outputs repository: how the output files are sharded."""

    outputs_path: str
    shard_level: int
    shard_fill: str


def outputs_config(services: Services) -> OutputsConfig:
    """The organisation's config.json, read once per run (every output item needs it)."""
    return services.memo("feedstock-outputs-config", lambda: _read_config(services))


def _read_config(services: Services) -> OutputsConfig:
    repository = services.settings.feedstock_outputs_repository
    found = services.github_for(repository).get_file(repository, CONFIG_PATH)
    if found is None:
        raise NotFoundError(f"{repository}/{CONFIG_PATH} does not exist")
    try:
        data = json.loads(found.content)
        config = OutputsConfig(
            str(data["outputs_path"]), int(data["shard_level"]), str(data["shard_fill"])
        )
    except (ValueError, KeyError, TypeError) as error:
        raise PermanentError(
            f"{repository}/{CONFIG_PATH} is not what admin-requests expects ({error!r}); it "
            "needs 'outputs_path', 'shard_level' and 'shard_fill': ask core to fix it."
        ) from None
    if len(config.shard_fill) != 1 or config.shard_level < 0:
        raise PermanentError(
            f"{repository}/{CONFIG_PATH} has shard_fill {config.shard_fill!r} and shard_level "
            f"{config.shard_level!r}; it needs one fill character and a level of 0 or more."
        )
    return config


def sharded_path(name: str, config: OutputsConfig) -> str:
    """Where the output ``name`` is registered, the way conda-forge-metadata computes it.

    (Not ``conda_forge_metadata.feedstock_outputs.sharded_path``: it downloads
    conda-forge's own config.json at call time.)
    """
    name = name.lower()
    chars = [c for c in name if c.isalnum()][: config.shard_level]
    chars += [config.shard_fill] * (config.shard_level - len(chars))
    return "/".join([config.outputs_path, *chars, f"{name}.json"])


def add_feedstock(current: bytes | None, *, feedstock: str, path: str) -> bytes | None:
    """The output's JSON with ``feedstock`` added; None when it is already listed."""
    data: dict[str, Any] = {"feedstocks": []}
    if current is not None:
        try:
            data = json.loads(current)
            feedstocks = data["feedstocks"]
        except (ValueError, KeyError, TypeError):
            feedstocks = None
        if not isinstance(feedstocks, list):
            raise PermanentError(
                f"{path!r} in the feedstock-outputs repository is not a JSON object with a "
                "'feedstocks' list; ask core to repair it."
            )
    if feedstock in data["feedstocks"]:
        return None
    data["feedstocks"].append(feedstock)
    # As conda-forge-webservices and the old admin-requests write it: json.dumps with its
    # defaults, no newline (32,513 of feedstock-outputs' 32,676 files are exactly that).
    return json.dumps(data).encode()


def add_glob(current: bytes | None, *, feedstock: str, glob: str) -> bytes | None:
    """The allowlist with ``glob`` under ``feedstock``, comments and order kept; None if present."""
    text = current.decode() if current is not None else ""
    yaml = _round_trip_yaml(text)
    try:
        data = yaml.load(text) if text.strip() else CommentedMap()
    except YAMLError as error:
        raise PermanentError(
            f"{ALLOWLIST_PATH!r} is not valid YAML ({error}); ask core to repair it."
        ) from None
    if not isinstance(data, CommentedMap):
        raise PermanentError(f"{ALLOWLIST_PATH!r} is not a mapping; ask core to repair it.")
    globs = data.get(feedstock)
    if globs is None:
        data[feedstock] = CommentedSeq([glob])
    elif not isinstance(globs, CommentedSeq):
        raise PermanentError(
            f"{feedstock!r} in {ALLOWLIST_PATH!r} is not a list of globs; ask core to repair it."
        )
    elif glob in globs:
        return None
    else:
        _append_keeping_comments(globs, glob)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue().encode()


def _append_keeping_comments(seq: CommentedSeq, value: object) -> None:
    """Append ``value``; comment lines below the old last item stay below the new one.

    ruamel.yaml attaches full-line comments that follow a sequence to its last item,
    so a plain append would put the new item under a comment meant for what follows.
    """
    last = len(seq) - 1
    seq.append(value)
    entry = seq.ca.items.get(last) if last >= 0 else None
    token = entry[0] if entry else None
    if token is None:
        return
    own_line, _, following = token.value.partition("\n")
    if not following:
        return
    token.value = own_line + "\n"
    seq.ca.items[last + 1] = [CommentToken("\n" + following, token.start_mark), None, None, None]


def _round_trip_yaml(text: str) -> YAML:
    """A round-trip YAML that writes sequences indented the way ``text`` already does."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    match = re.search(r"^( *)\S[^\n]*:[ \t]*\n( *)- ", text, re.MULTILINE)
    if match and len(match.group(2)) > len(match.group(1)):
        offset = len(match.group(2)) - len(match.group(1))
        yaml.indent(mapping=2, sequence=offset + 2, offset=offset)
    elif match is None:
        yaml.indent(mapping=2, sequence=4, offset=2)  # a new file: the common style
    return yaml


KIND = AddFeedstockOutputKind(
    "add_feedstock_output",
    "Let a feedstock upload a package name it was not allowed to (fixes 'output not "
    "allowed' upload failures).",
)
