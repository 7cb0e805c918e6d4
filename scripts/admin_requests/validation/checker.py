"""Offline validation of request files: the engine behind ``admin-requests check``.

Each file is checked on its own; a file that makes the checker itself fail is reported
as a problem in that file and the others are still checked.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

from admin_requests.config import Settings
from admin_requests.kinds import REGISTRY
from admin_requests.kinds.contract import Item, RequestKind, RequestModel
from admin_requests.validation.fields import Decoder, describe
from admin_requests.validation.names import check_request_file_name, check_target_repository
from admin_requests.validation.problems import Problem
from admin_requests.validation.source import (
    LoadedDocument,
    load_document,
    parse_document,
    problem_at,
)

log = logging.getLogger(__name__)

# Which request kinds a file may name: the global REGISTRY unless a caller (the queue
# runner, a test) brings its own.
Registry = Mapping[str, RequestKind[Any, Any]]

REQUEST_SUFFIXES = (".yml", ".yaml")
# Files that may sit in requests/ without being requests.
NON_REQUEST_FILES = frozenset({"README.md", ".gitkeep"})
# The repositories no request may act on, as the default configuration names them; the
# CLI and the queue pass their own Settings' list.
DEFAULT_PROTECTED = Settings().protected_repositories


@dataclass
class FileReport:
    """What ``check`` found out about one file."""

    path: str
    action: str | None = None
    model: RequestModel | None = None
    items: list[Item[Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(problem.is_error for problem in self.problems)


def display_path(path: Path) -> str:
    """The path as people and GitHub annotations expect it: relative to the checkout."""
    try:
        # The folder resolved, not the file: a symlink is shown where it is, not its target.
        full = path.parent.resolve() / path.name
        return full.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _action_node(root: MappingNode) -> Node | None:
    for key, value in root.value:
        if isinstance(key, ScalarNode) and key.value == "action":
            node: Node = value
            return node
    return None


def _known_actions(registry: Registry) -> str:
    return ", ".join(sorted(registry))


def _closest_action(action: str, registry: Registry) -> str | None:
    # As kinds.closest_action, over the registry this check uses.
    matches = difflib.get_close_matches(action, list(registry), n=1, cutoff=0.5)
    return matches[0] if matches else None


def check_loaded(
    document: LoadedDocument,
    registry: Registry = REGISTRY,
    protected: frozenset[str] = DEFAULT_PROTECTED,
) -> FileReport:
    report = FileReport(document.path)
    node = _action_node(document.root)
    if node is None:
        report.problems.append(
            problem_at(
                document.path,
                document.root,
                "missing-action",
                f"the request has no 'action' key; start the file with 'action: <kind>', "
                f"where <kind> is one of: {_known_actions(registry)}.",
            )
        )
        return report
    if not isinstance(node, ScalarNode) or not isinstance(node.value, str) or not node.value:
        report.problems.append(
            problem_at(
                document.path,
                node,
                "bad-action",
                f"'action' must be one of {_known_actions(registry)}, not {describe(node)}.",
            )
        )
        return report
    action = str(node.value)
    kind = registry.get(action)
    if kind is None:
        close = _closest_action(action, registry)
        hint = f"did you mean {close!r}? " if close else ""
        report.problems.append(
            problem_at(
                document.path,
                node,
                "unknown-action",
                f"unknown action {action!r}; {hint}Known actions: {_known_actions(registry)}.",
            )
        )
        return report
    report.action = action
    decoder = Decoder(document.path)
    model = kind.parse(document.root, decoder)
    report.problems.extend(decoder.problems)
    if model is None:
        return report
    report.problems.extend(kind.validate(model))
    if not report.ok:
        return report
    items = kind.items(model)
    report.problems.extend(protected_targets(document, kind, items, protected))
    if report.ok:
        report.model = model
        report.items = items
    return report


def _entry_nodes(root: MappingNode, kind: RequestKind[Any, Any]) -> dict[str, Node]:
    """Where each item is written: its list entry, or the key of its list in a mapping."""
    layout = kind.item_entries
    if layout is None:
        return {}
    nodes: dict[str, Node] = {}
    for group in layout.groups(kind.action, root):
        for entry in group.entries:
            nodes.setdefault(entry.item_id, group.key if group.removable else entry.node)
    return nodes


def protected_targets(
    document: LoadedDocument,
    kind: RequestKind[Any, Any],
    items: list[Item[Any]],
    protected: frozenset[str],
) -> list[Problem]:
    """One problem per protected repository the items target, where the file names it."""
    where = _entry_nodes(document.root, kind)
    problems: list[Problem] = []
    seen: set[tuple[str, int]] = set()
    for item in items:
        node = where.get(item.id)
        for repository in kind.target_repositories(item):
            value = str(node.value) if isinstance(node, ScalarNode) else repository
            message = check_target_repository(value, repository, protected)
            if message is None or (repository.lower(), id(node)) in seen:
                continue
            seen.add((repository.lower(), id(node)))
            problems.append(problem_at(document.path, node, "protected-repository", message))
    return problems


def _isolated(
    display: str,
    check: LoadedDocument | Path | str,
    registry: Registry,
    protected: frozenset[str] = DEFAULT_PROTECTED,
) -> FileReport:
    """Check one file; an unexpected exception becomes that file's problem, not a crash."""
    try:
        if isinstance(check, Path):
            document, problems = load_document(check, display)
        elif isinstance(check, str):
            document, problems = parse_document(check, display)
        else:
            document, problems = check, []
        if document is None:
            return FileReport(display, problems=problems)
        report = check_loaded(document, registry, protected)
    except Exception as exc:  # one bad file must never stop the others
        log.exception("internal error while checking %s", display)
        return FileReport(
            display,
            problems=[
                Problem(
                    display,
                    1,
                    1,
                    "internal-error",
                    f"the checker failed on this file ({type(exc).__name__}); this is a bug in "
                    "admin-requests, please report it with the file attached.",
                )
            ],
        )
    report.problems.sort(key=lambda p: (p.line, p.column))
    return report


def check_text(
    text: str,
    display: str = "<request>",
    registry: Registry = REGISTRY,
    protected: frozenset[str] = DEFAULT_PROTECTED,
) -> FileReport:
    return _isolated(display, text, registry, protected)


def check_file(
    path: Path, registry: Registry = REGISTRY, protected: frozenset[str] = DEFAULT_PROTECTED
) -> FileReport:
    report = _isolated(display_path(path), path, registry, protected)
    report.problems[:0] = file_name_problems(path.name, report.path)
    return report


def file_name_problems(name: str, display: str) -> list[Problem]:
    """A bad request file name as a problem of that file (the PR check and the run)."""
    message = check_request_file_name(name)
    return [] if message is None else [Problem(display, 1, 1, "bad-file-name", message)]


def _misplaced(path: Path, display: str) -> FileReport:
    if path.is_dir():
        message = (
            "requests/ holds request files only, not folders; move the files up into "
            "requests/ itself."
        )
    else:
        message = (
            f"only .yml or .yaml request files belong in requests/; rename this to "
            f"{path.stem}.yml if it is a request, or move it elsewhere."
        )
    return FileReport(display, problems=[Problem(display, 1, 1, "not-a-request-file", message)])


def check_paths(
    paths: Iterable[Path],
    registry: Registry = REGISTRY,
    protected: frozenset[str] = DEFAULT_PROTECTED,
) -> list[FileReport]:
    """Check files and directories (a directory means every file directly inside it)."""
    reports: list[FileReport] = []
    for path in paths:
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.name in NON_REQUEST_FILES:
                    continue
                if child.is_symlink():
                    reports.append(check_file(child, registry, protected))  # refused
                elif child.is_dir() or child.suffix not in REQUEST_SUFFIXES:
                    reports.append(_misplaced(child, display_path(child)))
                else:
                    reports.append(check_file(child, registry, protected))
        elif path.suffix in REQUEST_SUFFIXES:
            reports.append(check_file(path, registry, protected))
        elif path.name not in NON_REQUEST_FILES:
            reports.append(_misplaced(path, display_path(path)))
    return reports
