"""The checker: the action picks the kind, every problem of a file at once, files isolated."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml.nodes import MappingNode

from admin_requests import kinds
from admin_requests.config import Settings
from admin_requests.kinds import REGISTRY
from admin_requests.validation.checker import check_paths, check_text, display_path
from admin_requests.validation.fields import Decoder
from tests.queue.support import ScriptedKind, things
from tests.validation.malformed import Case, assert_exact_problems, cases

# The action: missing, not text, unknown, or a kind's old name.

CASES: list[Case] = [
    ("no action", "feedstocks: [numpy]\n", [(1, 1, "missing-action")], "one of: add_feedstock"),
    (
        "action typo",
        "action: archve\nfeedstocks: [numpy]\n",
        [(1, 9, "unknown-action")],
        "did you mean 'archive'",
    ),
    ("action unknown", "action: delete_everything\n", [(1, 9, "unknown-action")], "Known actions"),
    ("action is a list", "action: [archive]\n", [(1, 9, "bad-action")], "not a list"),
    ("action empty", "action:\nfeedstocks: [numpy]\n", [(1, 8, "bad-action")], "one of"),
    (
        "action old name",
        "action: mark_broken\npackages: [x]\n",
        [(1, 9, "unknown-action")],
        "Known actions",
    ),
]


@pytest.mark.parametrize(("text", "expected", "fragment"), cases(CASES))
def test_a_malformed_action_gets_exact_problem(
    text: str, expected: list[tuple[int, int, str]], fragment: str
) -> None:
    assert_exact_problems(text, expected, fragment)


def test_warnings_do_not_invalidate() -> None:
    report = check_text("action: archive\nfeedstocks: [numpy, numpy]\n")
    assert report.ok
    assert [item.target for item in report.items] == ["numpy-feedstock"]


def test_all_problems_of_a_file_are_reported_at_once() -> None:
    report = check_text(
        "action: archive\nfeedstocks:\n  - ok-name\n  - bad/name\n  - other-feedstock\n"
    )
    assert [(p.line, p.code) for p in report.problems] == [
        (4, "bad-feedstock-name"),
        (5, "bad-feedstock-name"),
    ]


VALID = "action: archive\nfeedstocks: [numpy]\n"


def test_the_folder_is_checked_file_by_file_and_what_does_not_belong_is_named(
    tmp_path: Path,
) -> None:
    for name in ("README.md", ".gitkeep", "a.yml", "b.yaml", "notes.txt"):
        (tmp_path / name).write_text(VALID)
    (tmp_path / "sub").mkdir()
    reports = {Path(r.path).name: r for r in check_paths([tmp_path])}
    assert sorted(reports) == ["a.yml", "b.yaml", "notes.txt", "sub"]
    assert reports["a.yml"].ok
    assert reports["b.yaml"].ok
    assert [p.code for p in reports["notes.txt"].problems] == ["not-a-request-file"]
    assert "rename this to notes.yml" in reports["notes.txt"].problems[0].message
    assert "not folders" in reports["sub"].problems[0].message
    # Named one by one: a request file is checked, README.md is still not a request.
    explicit = check_paths([tmp_path / "a.yml", tmp_path / "README.md", tmp_path / "notes.txt"])
    assert [(Path(r.path).name, r.ok) for r in explicit] == [("a.yml", True), ("notes.txt", False)]


def test_a_file_that_breaks_the_checker_is_that_files_problem_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(root: MappingNode, decoder: Decoder) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(REGISTRY["archive"], "parse", explode)
    (tmp_path / "a.yml").write_text(VALID)
    (tmp_path / "b.yml").write_text("action: unarchive\nfeedstocks: [numpy]\n")
    broken, fine = check_paths([tmp_path])
    assert [p.code for p in broken.problems] == ["internal-error"]
    assert "this is a bug in admin-requests" in broken.problems[0].message
    assert fine.ok
    assert [item.target for item in fine.items] == ["numpy-feedstock"]


def test_paths_are_shown_relative_to_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "requests").mkdir()
    monkeypatch.chdir(tmp_path)
    assert display_path(tmp_path / "requests" / "a.yml") == "requests/a.yml"
    assert display_path(Path("/elsewhere/a.yml")) == "/elsewhere/a.yml"


# -- the registry it is given (the queue runner's), not only the global one ---------------


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


# Issue 16 finding 7: no request may act on the organisation's infrastructure
# repositories. Feedstock names map to '<name>-feedstock', as each kind maps them.

PROTECTED_CASES: list[Case] = [
    (
        "archive the repodata patches",
        "action: archive\nfeedstocks:\n  - numpy\n  - conda-forge-repodata-patches\n",
        [(4, 5, "protected-repository")],
        "'conda-forge-repodata-patches' names the repository "
        "'conda-forge-repodata-patches-feedstock', one of the organisation's infrastructure",
    ),
    (
        "GitHub names are case-insensitive",
        "action: unarchive\nfeedstocks: [Conda-Forge-Repodata-Patches]\n",
        [(2, 14, "protected-repository")],
        "remove it from the request",
    ),
    (
        "a branch of it, named once for both branches",
        "action: archive_branch\nfeedstocks:\n  conda-forge-repodata-patches:\n"
        "    - old\n    - older\n",
        [(3, 3, "protected-repository")],
        "infrastructure repositories",
    ),
    (
        "its feedstock token",
        "action: token_reset\nfeedstocks: [conda-forge-repodata-patches]\n",
        [(2, 14, "protected-repository")],
        "'conda-forge-repodata-patches-feedstock'",
    ),
    (
        "CI resources for it",
        "action: cirun\nfeedstocks: [conda-forge-repodata-patches]\n"
        "resources: [cirun-openstack-gpu-large]\n",
        [(2, 14, "protected-repository")],
        "no request may act on",
    ),
]


@pytest.mark.parametrize(("text", "expected", "fragment"), cases(PROTECTED_CASES))
def test_a_protected_repository_is_refused_where_the_file_names_it(
    text: str, expected: list[tuple[int, int, str]], fragment: str
) -> None:
    assert_exact_problems(text, expected, fragment)


def test_the_protected_list_is_the_one_passed_in() -> None:
    # The CLI and the queue pass their Settings' list (ADMIN_REQUESTS_PROTECTED_REPOSITORIES
    # adds to it); a repository on it is refused, one off it is not.
    text = "action: archive\nfeedstocks: [numpy]\n"
    assert check_text(text).ok
    settings = Settings.from_environ({"ADMIN_REQUESTS_PROTECTED_REPOSITORIES": "NumPy-Feedstock"})
    [problem] = check_text(text, protected=settings.protected_repositories).problems
    assert (problem.line, problem.code) == (2, "protected-repository")


def test_every_kind_that_targets_a_feedstock_declares_it() -> None:
    # Without target_repositories a kind's feedstocks would escape the protection.
    for action, kind in REGISTRY.items():
        example = (Path(kinds.__file__).parent / action / "example.yml").read_text()
        report = check_text(example)
        assert report.ok, action
        for item in report.items:
            if item.target.endswith("-feedstock"):
                assert item.target in kind.target_repositories(item), action


# Issue 16 finding 9: the PR check refuses what the run refuses (names, symlinks).


def test_a_request_file_name_with_a_newline_or_an_invisible_mark_is_refused(
    tmp_path: Path,
) -> None:
    for name in ("evil\n::stop-commands::x.yml", "archive-pyshader-feedstock.yml\u200e", "ok.yml"):
        (tmp_path / name).write_text(VALID)
    reports = {Path(r.path).name: r for r in check_paths([tmp_path])}
    assert reports["ok.yml"].ok
    evil = reports["evil\n::stop-commands::x.yml"]
    assert [(p.line, p.code) for p in evil.problems] == [(1, "bad-file-name")]
    assert "'evil\\\\n::stop-commands::x.yml'" in evil.problems[0].message
    assert "e.g. to 'evil-stop-commands-x.yml'" in evil.problems[0].message
    # A real name from conda-forge's history, with a left-to-right mark at its end.
    [problem] = reports["archive-pyshader-feedstock.yml\u200e"].problems
    assert problem.code in ("bad-file-name", "not-a-request-file")


def test_a_symlinked_request_is_refused_and_never_read(tmp_path: Path) -> None:
    queue = tmp_path / "requests"
    queue.mkdir()
    outside = tmp_path / "os-release"
    outside.write_text('NAME="Debian GNU/Linux"\n')
    (queue / "a.yml").symlink_to(outside)
    (queue / "dangling.yml").symlink_to(tmp_path / "nowhere")
    reports = {Path(r.path).name: r for r in check_paths([queue])}
    for name in ("a.yml", "dangling.yml"):
        [problem] = reports[name].problems
        assert problem.code == "symlink", name
        assert "symbolic link" in problem.message
        assert reports[name].path.endswith(f"requests/{name}")  # the link, not its target
    assert all("Debian" not in p.message for r in reports.values() for p in r.problems)
