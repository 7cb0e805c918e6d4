"""The request reference (docs/reference.md), generated from the code when the docs are built.

What the code knows comes from the code, so it cannot drift: the kinds (the registry),
their keys (``required_keys`` / ``optional_keys``), each key's type and default (the
model dataclass), what a request becomes (``plan`` on the kind's example), which
credentials it gets (``access``) and what the checker says about a wrong file
(``check_text`` on a broken example).

What only people know (what a key means, the steps, how it fails) comes from each kind's
folder, ``kinds/<kind>/reference.yml``, with texts several kinds share in
``kinds/shared_notes.yml`` (``kinds/README.md`` describes both). Every key of every kind
needs a description there, and a description of a key that does not exist is stale: both
are errors, and the docs build (``mkdocs build --strict`` in ``python3 dev.py test``)
fails on them.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from admin_requests.access import Access
from admin_requests.config import Settings
from admin_requests.errors import DocsReferenceError
from admin_requests.kinds import REGISTRY
from admin_requests.kinds.contract import RequestKind, RequestModel
from admin_requests.kinds.folders import (
    EXAMPLES_DIR,
    GENERATE,
    KINDS_DIR,
    REFERENCE,
    TEMPLATES_DIR,
    shown,
)
from admin_requests.kinds.layout import ListEntries, MappingOfLists
from admin_requests.kinds.reference_notes import KindNotes, load_notes
from admin_requests.validation.checker import FileReport, check_file, check_text
from admin_requests.validation.fields import Text

if TYPE_CHECKING:
    from admin_requests.services import Services

# Fields every model has; they are not request keys.
COMMON_FIELDS = frozenset(f.name for f in dataclasses.fields(RequestModel))


@dataclass(frozen=True)
class FieldRow:
    key: str
    required: bool
    type: str
    default: str
    description: str


class _SettingsOnly:
    """What ``access`` may look at when the reference is built: the default settings.

    A kind whose ``access`` needs a live service (a lookup) cannot be described from
    code alone; its notes then need an ``access_note``.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings


def _settings_only(settings: Settings) -> Services:
    # Passed where a kind expects Services; any attribute but .settings raises the
    # AttributeError the callers catch (the kind then needs an access_note).
    return cast("Services", _SettingsOnly(settings))


# -- what the code says ------------------------------------------------------------------


def keys_of(kind: RequestKind[Any, Any]) -> tuple[str, ...]:
    return (*kind.required_keys, *kind.optional_keys)


def model_fields(kind: RequestKind[Any, Any]) -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(kind.model_type) if f.name not in COMMON_FIELDS}


def describe_type(annotation: Any) -> str:
    """A model field's type in the words of someone writing YAML.

    Raises ValueError for a type it has no words for (the notes' ``types`` then say it).
    """
    if annotation in (str, Text):
        return "text"
    if annotation is bool:
        return "`true` or `false`"
    if annotation is int:
        return "whole number"
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        present = [a for a in args if a is not type(None)]
        optional = " or `null`" if len(present) < len(args) else ""
        return " or ".join(describe_type(a) for a in present) + optional
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        entry = args[0]
        if typing.get_origin(entry) is tuple and len(typing.get_args(entry)) == 2:
            key, value = typing.get_args(entry)
            return f"mapping from {describe_type(key)} to {describe_type(value)}"
        return f"list of {_plural(describe_type(entry))}"
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        keys = ", ".join(f"`{f.name}`" for f in dataclasses.fields(annotation))
        return f"mapping with {keys}"
    raise ValueError(f"no description for the type {annotation!r}")


def _plural(words: str) -> str:
    if words == "text":
        return "texts"
    if words.startswith("mapping"):
        return "mappings" + words[len("mapping") :]
    return words


def yaml_value(value: Any) -> str:
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple | list):
        return "`[]`" if not value else f"`{list(value)}`"
    return f"`{value}`"


def field_rows(kind: RequestKind[Any, Any], notes: KindNotes) -> tuple[list[FieldRow], list[str]]:
    """The kind's keys as table rows, and the problems that stop the build."""
    problems: list[str] = []
    fields = model_fields(kind)
    hints = typing.get_type_hints(kind.model_type)
    rows = []
    for key in keys_of(kind):
        required = key in kind.required_keys
        description = notes.fields.get(key, "")
        if not description:
            problems.append(
                f"{kind.action}: key {key!r} has no description; add 'fields.{key}' to "
                f"{shown(notes.source)}"
            )
        type_words = notes.types.get(key, "")
        if not type_words:
            try:
                if key not in fields:
                    raise ValueError(f"{kind.model_type.__name__} has no field {key!r}")
                type_words = describe_type(hints[key])
            except ValueError as error:
                problems.append(
                    f"{kind.action}: cannot describe the type of {key!r} ({error}); add "
                    f"'types.{key}' to {shown(notes.source)}"
                )
        default = "(required)" if required else notes.defaults.get(key, "")
        if not default and key in fields:
            found = fields[key]
            if found.default is not dataclasses.MISSING:
                default = yaml_value(found.default)
            elif found.default_factory is not dataclasses.MISSING:
                default = yaml_value(found.default_factory())
        if not default:
            problems.append(
                f"{kind.action}: optional key {key!r} has no default in "
                f"{kind.model_type.__name__}; add 'defaults.{key}' to {shown(notes.source)}"
            )
        rows.append(FieldRow(key, required, type_words, default, description))
    for key in sorted(set(notes.fields) - set(keys_of(kind))):
        problems.append(
            f"{kind.action}: {shown(notes.source)} describes {key!r}, which is not a key of "
            "this kind (required_keys/optional_keys); remove or rename the description"
        )
    return rows, problems


def unused_model_fields(registry: Mapping[str, RequestKind[Any, Any]]) -> list[str]:
    """Model fields no kind accepts as a key: added to a model but not to any kind."""
    keys_by_model: dict[type[RequestModel], set[str]] = {}
    for kind in registry.values():
        keys_by_model.setdefault(kind.model_type, set()).update(keys_of(kind))
    problems = []
    for model, keys in keys_by_model.items():
        users = sorted(k.action for k in registry.values() if k.model_type is model)
        for name in dataclasses.fields(model):
            if name.name not in COMMON_FIELDS and name.name not in keys:
                problems.append(
                    f"{model.__name__}.{name.name} is a model field but no kind "
                    f"({', '.join(users)}) lists it in required_keys/optional_keys, so it "
                    "cannot be written in a request; add it there and describe it in the "
                    f"kind's {REFERENCE}"
                )
    return problems


def _overrides(kind: RequestKind[Any, Any], name: str) -> bool:
    return getattr(type(kind), name) is not getattr(RequestKind[Any, Any], name)


def _grant_words(repositories: tuple[str, ...], permissions: Mapping[str, str]) -> str:
    names = ", ".join(f"`{r}`" for r in repositories) or "none"
    levels = ", ".join(f"`{k}: {v}`" for k, v in sorted(permissions.items())) or "`metadata: read`"
    noun = "repository" if len(repositories) == 1 else "repositories"
    return f"the {noun} {names} with {levels}"


def describe_access(access: Access, for_what: str = "this request") -> list[str]:
    lines = []
    grants = []
    if access.github_repositories or access.github_permissions:
        grants.append(_grant_words(access.github_repositories, access.github_permissions))
    grants += [_grant_words(g.repositories, g.permissions) for g in access.github_extra]
    if grants:
        tokens = (
            "an installation token" if len(grants) == 1 else f"{len(grants)} installation tokens"
        )
        lines.append(
            f"**GitHub**: {tokens} of the organisation's App, for "
            + "; and for ".join(grants)
            + f", minted for {for_what} and revoked when it ends."
        )
    else:
        lines.append("**GitHub**: no installation token.")
    if access.github_app_installations:
        lines.append(
            "**CI providers' GitHub Apps**: the organisation's `github_installations_token`, "
            "read from the vault for this request only (GitHub offers adding a repository "
            "to another App's installation to a user's classic token only; see the "
            "security page, W10)."
        )
    if access.cirun:
        lines.append(
            "**Cirun**: the organisation's `cirun_api_key`, read from the vault for this "
            "request only, for Cirun's API (turn Cirun on for a feedstock, change its "
            "policy; Cirun's bot proposes the change to `.cirun` as a pull request). Cirun "
            "has no federation: the key is long-lived (see the security page, W12)."
        )
    if access.azure_devops:
        lines.append(
            "**Azure DevOps**: an Entra ID access token obtained with the job's OIDC token "
            "(workload-identity federation, no stored token), for setting pipeline "
            "variables; it expires by itself within about an hour."
        )
    if access.anaconda_scopes:
        scopes = ", ".join(f"`{s}`" for s in access.anaconda_scopes)
        lines.append(
            f"**anaconda.org**: a token with the scopes {scopes}, valid at most 15 minutes, "
            f"minted for {for_what} and removed when it ends."
        )
    else:
        lines.append("**anaconda.org**: no token.")
    return lines


def _follow_up_access(
    kind: RequestKind[Any, Any], report: FileReport, settings: Settings
) -> Access:
    """What ``after_run`` is granted after this kind's example items are done."""
    try:
        return kind.follow_up_access(report.items, _settings_only(settings))
    except AttributeError:  # needs live services: not shown
        return Access()


def describe_layout(kind: RequestKind[Any, Any]) -> str:
    layout = kind.item_entries
    if isinstance(layout, ListEntries):
        entry = f"entry of `{layout.key}`"
        if layout.field:
            entry += f" (identified by its `{layout.field}`)"
        return (
            f"Each {entry} is one item. Done items are removed from the file and the rest "
            "is committed; the file is deleted when every item is done."
        )
    if isinstance(layout, MappingOfLists):
        return (
            f"Each entry of each list under `{layout.key}` is one item. Done items are "
            "removed from the file (and a name whose list becomes empty); the file is "
            "deleted when every item is done."
        )
    return "The file is kept whole until every item is done, then deleted."


# -- rendering ---------------------------------------------------------------------------


def _code(text: str, language: str) -> str:
    return f"```{language}\n{text.rstrip()}\n```"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render_kind(
    kind: RequestKind[Any, Any], notes: KindNotes, root: Path, settings: Settings
) -> tuple[str, list[str]]:
    rows, problems = field_rows(kind, notes)
    action = kind.action
    example_path = root / EXAMPLES_DIR / f"{action}.yml"
    template = root / TEMPLATES_DIR / f"{action}.md"
    source = shown(notes.source)
    if not template.is_file():
        problems.append(
            f"{action}: no pull-request template {TEMPLATES_DIR / f'{action}.md'}; run {GENERATE}"
        )
    for name, text in (("when", notes.when), ("steps", notes.steps)):
        if not text:
            problems.append(f"{action}: add '{name}' to {source}")
    if not notes.failures:
        problems.append(f"{action}: add 'failures' to {source}")
    report = check_file(example_path) if example_path.is_file() else None
    if report is None or report.model is None:
        problems.append(
            f"{action}: {EXAMPLES_DIR / f'{action}.yml'} is missing or not valid; fix the "
            f"kind's example.yml and run {GENERATE}"
        )
    invalid = check_text(notes.invalid_example, f"requests/{action}-wrong.yml")
    if notes.invalid_example and invalid.ok:
        problems.append(
            f"{action}: the invalid_example in {source} passes the checker; make it show a "
            "real mistake"
        )
    if not notes.invalid_example:
        problems.append(f"{action}: add 'invalid_example' to {source}")
    if problems or report is None or report.model is None:
        return "", problems

    out = [f"## `{action}`", "", kind.summary, "", f"**When to file it.** {notes.when}", ""]
    out += ["| key | | type | default | meaning |", "|---|---|---|---|---|"]
    for row in rows:
        needed = "required" if row.required else "optional"
        out.append(
            f"| `{row.key}` | {needed} | {row.type} | {row.default} | {_cell(row.description)} |"
        )
    out += [
        "",
        f"**Example** ([`docs/examples/{action}.yml`](examples/{action}.yml); pull-request "
        f"template `.github/PULL_REQUEST_TEMPLATE/{action}.md`):",
        "",
        _code(example_path.read_text(encoding="utf-8"), "yaml"),
        "",
        "The items this example becomes (`admin-requests plan` lists them; the ids are stable "
        "across runs):",
        "",
        _code(_plan_lines(report), "text"),
        "",
        describe_layout(kind),
        "",
        "**What it does.**",
        "",
    ]
    out += [f"{n}. {step}" for n, step in enumerate(notes.steps, 1)]
    extra = []
    if _overrides(kind, "preflight"):
        extra.append(
            "A dry run (`admin-requests run --dry-run`, or the workflow's `dry_run` input) "
            "also runs this kind's read-only online checks and reports what would fail."
        )
    if _overrides(kind, "after_run"):
        doc = (type(kind).after_run.__doc__ or "").strip().splitlines()[0]
        extra.append(f"Once per run, after all `{action}` items: {doc[0].lower()}{doc[1:]}")
    for paragraph in extra:
        out += ["", paragraph]
    out += ["", "**Credentials and scope** (for the example, with the default settings):", ""]
    try:
        access = kind.access(report.model, _settings_only(settings))
    except AttributeError:
        if not notes.access_note:
            problems.append(
                f"{action}: access() needs live services, so the reference cannot compute it; "
                f"describe it in 'access_note' in {source}"
            )
    else:
        out += [f"- {line}" for line in describe_access(access)]
        follow_up = _follow_up_access(kind, report, settings)
        if not follow_up.grants_nothing:
            out += [
                "",
                "Its once-per-run follow-up step gets credentials of its own (no single "
                "request's token carries them):",
                "",
                *(
                    f"- {line}"
                    for line in describe_access(follow_up, "that step")
                    if "no token" not in line
                ),
            ]
    if notes.access_note:
        out += ["", notes.access_note]
    out += [
        "",
        "**What failure looks like.** A mistake in the file is caught by the pull-request "
        "check, with its line and column; for example:",
        "",
        _code(notes.invalid_example, "yaml"),
        "",
        _code("\n".join(p.format_text() for p in invalid.problems), "text"),
        "",
        "After merge:",
        "",
        *[f"- {failure}" for failure in notes.failures],
        "",
    ]
    return "\n".join(out), problems


def _plan_lines(report: FileReport) -> str:
    return "\n".join(f"[{item.id}] {item.description}" for item in report.items)


def render_summary(registry: Mapping[str, RequestKind[Any, Any]]) -> str:
    out = ["| kind | what it does |", "|---|---|"]
    for action, kind in registry.items():
        out.append(f"| [`{action}`](#{action}) | {_cell(kind.summary)} |")
    return "\n".join(out)


LEVELS = {"read": 1, "write": 2, "admin": 3}


def render_app_permissions(
    root: Path,
    *,
    registry: Mapping[str, RequestKind[Any, Any]] | None = None,
    settings: Settings | None = None,
) -> str:
    """The GitHub App permissions the kinds ask for, from ``access()`` on their examples."""
    registry = REGISTRY if registry is None else registry
    settings = settings or Settings()
    needed: dict[str, tuple[str, list[str]]] = {}
    silent = []
    for action, kind in registry.items():
        report = check_file(root / EXAMPLES_DIR / f"{action}.yml")
        if report.model is None:
            raise DocsReferenceError([f"{action}: {EXAMPLES_DIR / f'{action}.yml'} is not valid"])
        try:
            access = kind.access(report.model, _settings_only(settings))
        except AttributeError:
            silent.append(action)
            continue
        follow_up = _follow_up_access(kind, report, settings)
        asked = [
            access.github_permissions,
            *(g.permissions for g in access.github_extra),
            follow_up.github_permissions,
            *(g.permissions for g in follow_up.github_extra),
        ]
        if not any(asked):
            silent.append(action)
        for permission, level in (item for grant in asked for item in grant.items()):
            if permission == "metadata":
                continue  # every App has it: its own row below
            current, users = needed.get(permission, (level, []))
            if LEVELS.get(level, 0) > LEVELS.get(current, 0):
                current = level
            needed[permission] = (current, users if action in users else [*users, action])
    out = ["| permission | access | asked for by |", "|---|---|---|"]
    for permission, (level, users) in sorted(needed.items()):
        kinds = ", ".join(f"[`{a}`](reference.md#{a})" for a in users)
        out.append(f"| {permission.replace('_', ' ').capitalize()} | {level} | {kinds} |")
    out.append("| Metadata | read | every App has it |")
    if silent:
        out += [
            "",
            "No GitHub permission (with the default settings): "
            + ", ".join(f"`{a}`" for a in silent)
            + " (they act on anaconda.org only, or through a follow-up step listed above).",
        ]
    return "\n".join(out)


def render_reference(
    root: Path,
    *,
    notes_dir: Path = KINDS_DIR,
    registry: Mapping[str, RequestKind[Any, Any]] | None = None,
    settings: Settings | None = None,
) -> str:
    """The generated part of docs/reference.md; DocsReferenceError lists every problem.

    The notes are read from ``notes_dir`` (``kinds/``: each kind's reference.yml).
    """
    registry = REGISTRY if registry is None else registry
    notes = load_notes(notes_dir)
    settings = settings or Settings()
    problems = unused_model_fields(registry)
    problems += [
        f"{shown(found.source)} has notes for {action!r}, which is not a registered kind; "
        "remove them"
        for action, found in notes.items()
        if action not in registry
    ]
    sections = [render_summary(registry), ""]
    for action, kind in registry.items():
        if action not in notes:
            problems.append(
                f"{action}: no {shown(notes_dir / action / REFERENCE)}; every kind needs one "
                "with 'when', 'fields', 'steps', 'failures' and 'invalid_example'"
            )
            continue
        text, found = render_kind(kind, notes[action], root, settings)
        problems += found
        sections.append(text)
    if problems:
        raise DocsReferenceError(problems)
    return "\n".join(sections)
