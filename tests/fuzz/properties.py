"""The properties every fuzz target checks: what `check` says about a request file.

- `check` never fails with an internal error, and every problem has a position;
- the C parser composes exactly the pure parser's tree, or leaves the text to it;
- what `check` accepts, the queue runner accepts too: it reads the same text from
  disk, plans the same items, finds in each item what its kind's execute() needs (the
  params type the kind declares, and what its hooks' ``check_item`` asserts), and can
  write back any subset of items (or keeps the file whole, which is safe).

Used by tests/validation/test_properties.py (hypothesis) and tests/fuzz/fuzz_loader.py
(atheris).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from admin_requests.kinds import REGISTRY
from admin_requests.queue.writeback import remaining_text
from admin_requests.validation.checker import FileReport, check_text
from admin_requests.validation.source import (
    _TO_THE_PURE_PARSER,
    _compose_c,
    _compose_pure,
    read_text,
)
from tests.kinds.kind_hooks import hooks_of, params_type
from tests.validation.node_trees import node_tree


def assert_the_parsers_agree(text: str) -> None:
    """Where the C parser composes the text, the pure one composes the same tree."""
    try:
        tree = node_tree(_compose_c(text))
    except _TO_THE_PURE_PARSER:
        return  # check asks the pure parser alone
    assert tree == node_tree(_compose_pure("requests/x.yml", text))


def assert_the_runner_accepts(text: str, report: FileReport) -> None:
    """The queue runner's path for an accepted file: read, plan, execute, write back."""
    assert report.action is not None
    kind = REGISTRY[report.action]
    # The runner reads the file's bytes from disk and checks them again.
    path = _scratch_file()
    path.write_bytes(text.encode("utf-8"))
    read, problems = read_text(path, "requests/x.yml")
    assert problems == []
    assert read == text
    again = check_text(text, "requests/x.yml")
    assert again.ok
    ids = [item.id for item in report.items]
    assert [item.id for item in again.items] == ids
    assert [item.id for item in kind.items(report.model)] == ids
    # execute() finds what it needs in every item: the params type it is declared to
    # take, holding values that pass the checks its kind relies on.
    declared, hooks = params_type(kind), hooks_of(report.action)
    for item in report.items:
        assert type(item.params) is declared, item
        hooks.check_item(item)
    # Write-back: whatever is left, the shrunk file is exactly the items left (or the
    # runner keeps the file whole, which is always safe).
    for pending in ({*ids}, {*ids[1:]}, {*ids[:1]}, {*ids[::2]}, {*ids[1::2]}):
        if not pending:
            continue
        shrunk = remaining_text(text, kind, pending, "requests/x.yml")
        if shrunk is None:
            continue
        if pending == set(ids):
            assert shrunk == text
        left = check_text(shrunk, "requests/x.yml")
        assert left.ok, left.problems
        assert {item.id for item in left.items} == pending


def assert_accepted_is_executable(text: str) -> None:
    assert_the_parsers_agree(text)
    report = check_text(text)
    assert all(p.code != "internal-error" for p in report.problems), report.problems
    if not report.ok:
        assert report.model is None
        assert all(p.line >= 1 and p.column >= 1 for p in report.problems)
        return
    # Accepted: the models can carry it out. Every item is well-formed and every
    # name it will act on passes the same checks the processing engine relies on.
    assert report.model is not None
    assert report.action in REGISTRY
    assert report.items, "an accepted request acts on at least one item"
    assert len({item.id for item in report.items}) == len(report.items)
    for item in report.items:
        assert item.action == report.action
        assert not any(c in item.target for c in "\n\r\t\x00 ")
    assert_the_runner_accepts(text, report)


def _scratch_file() -> Path:
    """One scratch file per process: fuzzers call this thousands of times."""
    global _SCRATCH
    if _SCRATCH is None:
        _SCRATCH = Path(tempfile.mkdtemp(prefix="admin-requests-fuzz-")) / "x.yml"
    return _SCRATCH


_SCRATCH: Path | None = None


def assert_bytes_are_handled(raw: bytes) -> None:
    """The runner's read of a file's bytes, then the properties above on its text."""
    path = _scratch_file()
    path.write_bytes(raw)
    text, problems = read_text(path, "requests/x.yml")
    if text is None:
        assert problems
        assert all(p.line >= 1 for p in problems)
        return
    assert_accepted_is_executable(text)
