"""The hand-written half of the request reference: each kind's ``reference.yml``.

What only people know of a kind (when to file it, what each key means, the steps, how it
fails, one wrong example) is in ``kinds/<kind>/reference.yml``; texts several kinds share
are in ``kinds/shared_notes.yml``, used as ``{shared: NAME}``. This module reads them and
says, file by file, what is wrong; ``reference.py`` checks them against the code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from admin_requests.errors import DocsReferenceError
from admin_requests.kinds.folders import KINDS_DIR, REFERENCE, shown

SHARED_NOTES = "shared_notes.yml"
NOTE_KEYS = frozenset(
    {"when", "fields", "steps", "failures", "invalid_example", "access_note", "defaults", "types"}
)


@dataclass(frozen=True)
class KindNotes:
    """The hand-written part of one kind's reference entry."""

    source: Path  # the kind's reference.yml, for messages
    when: str
    fields: Mapping[str, str]
    steps: Sequence[str]
    failures: Sequence[str]
    invalid_example: str
    access_note: str = ""
    # Shown instead of the dataclass default (for defaults that build() supplies).
    defaults: Mapping[str, str] = field(default_factory=dict)
    # Shown instead of the type derived from the model (for keys it cannot describe).
    types: Mapping[str, str] = field(default_factory=dict)


# -- the notes ---------------------------------------------------------------------------


def _read_mapping(path: Path, problems: list[str], expected: str) -> dict[str, Any]:
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as error:
        problems.append(f"{shown(path)}: cannot read the reference notes: {error}")
        return {}
    if not isinstance(data, dict):
        problems.append(f"{shown(path)}: expected a mapping {expected}")
        return {}
    return {str(key): value for key, value in data.items()}


def load_shared_notes(path: Path) -> tuple[dict[str, str | list[str]], list[str]]:
    """The notes several kinds share (none when the file is absent), and its problems."""
    if not path.is_file():
        return {}, []
    problems: list[str] = []
    shared: dict[str, str | list[str]] = {}
    for name, value in _read_mapping(path, problems, "from a name to its text").items():
        if isinstance(value, str):
            shared[name] = value.strip()
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            shared[name] = [v.strip() for v in value]
        else:
            problems.append(f"{shown(path)}: {name!r} must be a text or a list of texts")
    return shared, problems


class _Notes:
    """Reads the values of one reference.yml, resolving ``{shared: NAME}``."""

    def __init__(
        self, path: Path, shared: Mapping[str, str | list[str]], shared_path: Path
    ) -> None:
        self.path = path
        self.shared = shared
        self.shared_path = shared_path
        self.used: set[str] = set()
        self.problems: list[str] = []

    def _resolve(self, value: Any, where: str) -> Any:
        if not (isinstance(value, dict) and list(value) == ["shared"]):
            return value
        name = str(value["shared"])
        if name not in self.shared:
            self.problems.append(
                f"{shown(self.path)}: {where} uses the shared note {name!r}, which "
                f"{shown(self.shared_path)} does not have; known: {sorted(self.shared)}"
            )
            return None
        self.used.add(name)
        return self.shared[name]

    def text(self, value: Any, where: str) -> str:
        value = self._resolve(value, where)
        if value is None:
            return ""
        if not isinstance(value, str | int | float):
            self.problems.append(
                f"{shown(self.path)}: {where} must be a text or {{shared: NAME}}, "
                f"not {type(value).__name__}"
            )
            return ""
        return str(value).strip()

    def texts(self, value: Any, where: str) -> list[str]:
        value = self._resolve(value, where)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problems.append(
                f"{shown(self.path)}: {where} must be a list of texts or {{shared: NAME}}"
            )
            return []
        return [self.text(entry, f"{where}[{n}]") for n, entry in enumerate(value)]


def load_notes(kinds_dir: Path = KINDS_DIR) -> dict[str, KindNotes]:
    """Read every ``<kind>/reference.yml`` under ``kinds_dir``, with the shared notes.

    Raises DocsReferenceError naming each file and what is wrong in it, including a
    shared note no kind uses.
    """
    shared_path = kinds_dir / SHARED_NOTES
    shared, problems = load_shared_notes(shared_path)
    notes: dict[str, KindNotes] = {}
    used: set[str] = set()
    for path in sorted(kinds_dir.glob(f"*/{REFERENCE}")):
        entry = _read_mapping(path, problems, "with 'when', 'fields', 'steps'...")
        unknown = sorted(set(entry) - NOTE_KEYS)
        if unknown:
            problems.append(f"{shown(path)}: unknown keys {unknown}; allowed: {sorted(NOTE_KEYS)}")
        read = _Notes(path, shared, shared_path)
        fields = entry.get("fields") or {}
        if not isinstance(fields, dict):
            problems.append(f"{shown(path)}: 'fields' must map each key to its description")
            fields = {}
        notes[path.parent.name] = KindNotes(
            source=path,
            when=read.text(entry.get("when"), "'when'"),
            fields={str(k): read.text(v, f"fields.{k}") for k, v in fields.items()},
            steps=read.texts(entry.get("steps"), "'steps'"),
            failures=read.texts(entry.get("failures"), "'failures'"),
            invalid_example=str(entry.get("invalid_example") or ""),
            access_note=read.text(entry.get("access_note"), "'access_note'"),
            defaults={str(k): str(v) for k, v in (entry.get("defaults") or {}).items()},
            types={str(k): str(v) for k, v in (entry.get("types") or {}).items()},
        )
        problems += read.problems
        used |= read.used
    problems += [
        f"{shown(shared_path)}: no kind uses the shared note {name!r}; remove it"
        for name in sorted(set(shared) - used)
    ]
    if problems:
        raise DocsReferenceError(problems)
    return notes
