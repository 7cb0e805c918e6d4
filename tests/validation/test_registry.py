"""The checker validates against the registry it is given (the queue runner's), not
only the global one."""

from __future__ import annotations

from pathlib import Path

from admin_requests.kinds import REGISTRY
from admin_requests.validation.checker import check_paths, check_text
from tests.queue.support import ScriptedKind, things


def test_a_kind_of_the_given_registry_is_checked_and_planned() -> None:
    kind = ScriptedKind("fake")
    report = check_text(things("a", "b"), "requests/x.yml", {kind.action: kind})
    assert report.ok
    assert [item.id for item in report.items] == ["fake:a", "fake:b"]
    # The global registry knows no such kind, and was not changed.
    assert "fake" not in REGISTRY
    assert [p.code for p in check_text(things("a")).problems] == ["unknown-action"]


def test_unknown_actions_are_named_against_the_given_registry() -> None:
    kind = ScriptedKind("fake")
    [problem] = check_text("action: fak\nthings:\n  - a\n", "x.yml", {kind.action: kind}).problems
    assert problem.code == "unknown-action"
    assert "did you mean 'fake'?" in problem.message
    assert problem.message.endswith("Known actions: fake.")
    [problem] = check_text("action: archive\n", "x.yml", {kind.action: kind}).problems
    assert "Known actions: fake." in problem.message


def test_check_paths_passes_the_registry_on(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(things("x"))
    kind = ScriptedKind("fake")
    [report] = check_paths([tmp_path], {kind.action: kind})
    assert report.ok
    [report] = check_paths([tmp_path])
    assert not report.ok
