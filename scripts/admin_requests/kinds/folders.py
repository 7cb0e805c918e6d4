"""What a kind's folder holds besides its module, and the copies generated from it.

``kinds/<kind>/`` (the folder is named after the kind's action) holds, beside
``__init__.py``:

- ``example.yml``: a valid request with comments; people copy it into ``requests/``.
- ``pr_template.md``: the checklist a reviewer needs, one ``- [ ] ...`` line each; the
  frame around it (the heading with the kind's summary, where the file goes, the check's
  own line) is ``templates/pr_template.md.j2``, the same for every kind.
- ``reference.yml``: the hand-written half of its entry in the request reference
  (``kinds/reference.py``; ``kinds/README.md`` says what goes in it).

Users and GitHub look elsewhere, so ``python3 dev.py generate`` writes copies there:
``docs/examples/<kind>.yml`` (the example as it is) and
``.github/PULL_REQUEST_TEMPLATE/<kind>.md`` (the framed checklist). Both folders hold
only generated files; tests/kinds/test_folders.py fails when they drift.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from admin_requests.actions_output import render
from admin_requests.errors import DocsReferenceError
from admin_requests.kinds import REGISTRY
from admin_requests.kinds.contract import RequestKind

KINDS_DIR = Path(__file__).resolve().parent
EXAMPLE = "example.yml"
PR_TEMPLATE = "pr_template.md"
REFERENCE = "reference.yml"
DATA_FILES = (EXAMPLE, PR_TEMPLATE, REFERENCE)
KIND_FILES = ("__init__.py", *DATA_FILES)
EXAMPLES_DIR = Path("docs/examples")
TEMPLATES_DIR = Path(".github/PULL_REQUEST_TEMPLATE")
GENERATE = "python3 dev.py generate"
CHECKLIST_ITEM = "- [ ] "


def shown(path: Path) -> str:
    """A path as a message shows it: relative to the current directory when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def kind_folders(kinds_dir: Path = KINDS_DIR) -> dict[str, Path]:
    """The folders that hold a kind's data files, by name (a helper package does not)."""
    return {
        folder.name: folder
        for folder in sorted(kinds_dir.iterdir())
        if folder.is_dir() and any((folder / name).is_file() for name in DATA_FILES)
    }


def folder_problems(
    registry: Mapping[str, RequestKind[Any, Any]] | None = None, kinds_dir: Path = KINDS_DIR
) -> list[str]:
    """Kinds whose folder lacks a file, and folders of kinds the registry does not list."""
    registry = REGISTRY if registry is None else registry
    folders = kind_folders(kinds_dir)
    problems = [
        f"{action}: no {shown(kinds_dir / action / name)}; every kind's folder holds "
        f"{', '.join(KIND_FILES)}"
        for action in registry
        for name in KIND_FILES
        if not (kinds_dir / action / name).is_file()
    ]
    problems += [
        f"{shown(folder)} holds a kind's files but {name!r} is not in the registry "
        "(kinds/__init__.py); register it or remove the folder"
        for name, folder in folders.items()
        if name not in registry
    ]
    return problems


def checklist(path: Path) -> tuple[str, list[str]]:
    """The checklist of a kind's pr_template.md, and what is wrong with it."""
    lines = [line.rstrip() for line in path.read_text(encoding="utf-8").splitlines()]
    items = [line for line in lines if line]
    problems = [
        f"{shown(path)}:{number}: {line!r} is not a checklist item; write "
        f"'{CHECKLIST_ITEM}...' (the rest of the pull-request template is "
        "templates/pr_template.md.j2, the same for every kind)"
        for number, line in enumerate(lines, 1)
        if line and not line.startswith(CHECKLIST_ITEM)
    ]
    if not items:
        problems.append(f"{shown(path)}: no checklist item; list what a reviewer must check")
    return "\n".join(items), problems


def generated_files(
    registry: Mapping[str, RequestKind[Any, Any]] | None = None, kinds_dir: Path = KINDS_DIR
) -> dict[Path, str]:
    """Each generated file's path (relative to the repository) and text.

    Raises DocsReferenceError listing every kind whose folder is incomplete.
    """
    registry = REGISTRY if registry is None else registry
    problems = folder_problems(registry, kinds_dir)
    if problems:
        raise DocsReferenceError(problems)
    files: dict[Path, str] = {}
    for action, kind in registry.items():
        folder = kinds_dir / action
        files[EXAMPLES_DIR / f"{action}.yml"] = (folder / EXAMPLE).read_text(encoding="utf-8")
        items, found = checklist(folder / PR_TEMPLATE)
        problems += found
        files[TEMPLATES_DIR / f"{action}.md"] = render(
            "pr_template.md.j2", action=action, summary=kind.summary, checklist=items
        )
    if problems:
        raise DocsReferenceError(problems)
    return files


def _committed(root: Path) -> set[Path]:
    """The files now in the generated folders (all of them are generated)."""
    found = {*(root / EXAMPLES_DIR).glob("*"), *(root / TEMPLATES_DIR).glob("*")}
    return {path.relative_to(root) for path in found if path.is_file()}


def drift(root: Path, files: Mapping[Path, str]) -> list[str]:
    """How the files under ``root`` differ from ``files``; empty when they are current."""
    problems = []
    for path, text in files.items():
        target = root / path
        if not target.is_file():
            problems.append(f"{path} is missing")
        elif target.read_text(encoding="utf-8") != text:
            problems.append(f"{path} differs from what its kind's folder generates")
    problems += [
        f"{path} is generated from no kind's folder"
        for path in sorted(_committed(root) - set(files))
    ]
    return problems


def write(root: Path, files: Mapping[Path, str]) -> list[str]:
    """Make the generated folders under ``root`` hold exactly ``files``; say what changed."""
    changed = []
    for path, text in files.items():
        target = root / path
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        changed.append(f"wrote {path}")
    for path in sorted(_committed(root) - set(files)):
        (root / path).unlink()
        changed.append(f"removed {path} (no kind generates it)")
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m admin_requests.kinds.folders",
        description=f"Write {EXAMPLES_DIR}/ and {TEMPLATES_DIR}/ from the kind folders.",
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository")
    args = parser.parse_args(argv)
    try:
        files = generated_files()
    except DocsReferenceError as error:
        print(error, file=sys.stderr)
        return 1
    changed = write(args.root, files)
    for line in changed:
        print(line)
    if not changed:
        print(f"{EXAMPLES_DIR}/ and {TEMPLATES_DIR}/ are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
