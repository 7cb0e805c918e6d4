"""The properties every fuzz target checks: what `check` says about a request file.

- `check` never fails with an internal error, and every problem has a position;
- what `check` accepts, the queue runner accepts too: it reads the same text from
  disk, plans the same items, finds in each item what its kind's execute() needs, and
  can write back any subset of items (or keeps the file whole, which is safe).

Used by tests/validation/test_properties.py (hypothesis) and tests/fuzz/fuzz_loader.py
(atheris).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from admin_requests.kinds import REGISTRY
from admin_requests.kinds.add_feedstock_output import OutputsConfig, sharded_path
from admin_requests.kinds.contract import RequestKind
from admin_requests.queue.writeback import remaining_text
from admin_requests.validation.checker import FileReport, check_text
from admin_requests.validation.names import (
    check_feedstock_name,
    check_output_name_or_glob,
    parse_package_file,
)
from admin_requests.validation.source import read_text

# What each kind's execute() reads from an item's params: an accepted file must give
# every item all of them (execute would otherwise fail the item as "not valid").
EXECUTE_PARAMS = {
    "archive": {"repository"},
    "unarchive": {"repository"},
    "archive_branch": {"repository", "branch", "tag"},
    "unarchive_branch": {"repository", "branch", "tag"},
    "add_feedstock_output": {"feedstock", "output", "kind"},
    "broken": {"name", "version", "basename"},
    "not_broken": {"name", "version", "basename"},
    "cfep3_copy": {"channel", "label", "name", "version", "basename", "sha256", "to_label"},
    "token_reset": {"feedstock", "providers", "expiration"},
    **{
        action: {"feedstock", "revoke", "resources", "pull_request", "send_pr"}
        for action in ("travis", "cirun", "blacksmith", "namespace", "depot", "cirrus_runners")
    },
}


def executes(action: str) -> bool:
    return type(REGISTRY[action]).execute is not RequestKind.execute


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
    # execute() finds what it needs in every item.
    for item in report.items:
        assert EXECUTE_PARAMS.get(report.action, set()) <= set(item.params), item
        if report.action == "add_feedstock_output" and item.params["kind"] == "name":
            assert sharded_path(item.params["output"], OutputsConfig("outputs", 3, "z"))
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
        target = item.target.removesuffix("-feedstock")
        if report.action in ("broken", "not_broken"):
            assert parse_package_file(item.target)[0] is not None
        elif report.action == "add_feedstock_output":
            assert check_output_name_or_glob(target) is None
        elif report.action != "cfep3_copy":
            assert check_feedstock_name(target) is None
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
