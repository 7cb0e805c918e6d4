"""Each kind's folder is complete, and the examples and PR templates people read are
generated from it: valid, current, and one per kind."""

from __future__ import annotations

import fnmatch
import shutil
import tomllib
from pathlib import Path

import pytest

from admin_requests.errors import DocsReferenceError
from admin_requests.kinds import REGISTRY
from admin_requests.kinds.folders import (
    DATA_FILES,
    EXAMPLES_DIR,
    GENERATE,
    KIND_FILES,
    KINDS_DIR,
    PR_TEMPLATE,
    TEMPLATES_DIR,
    drift,
    folder_problems,
    generated_files,
    main,
    shown,
    write,
)
from admin_requests.validation.checker import check_file, check_paths


def test_one_valid_example_per_kind(repo_root: Path) -> None:
    examples = repo_root / "docs" / "examples"
    reports = check_paths([examples])
    assert all(r.ok and not r.problems for r in reports), [
        p.format_text() for r in reports for p in r.problems
    ]
    assert sorted(r.action for r in reports if r.action) == sorted(REGISTRY)
    for report in reports:
        assert Path(report.path).stem == report.action


def test_pull_request_template_per_kind(repo_root: Path) -> None:
    templates = repo_root / ".github" / "PULL_REQUEST_TEMPLATE"
    for action in REGISTRY:
        template = templates / f"{action}.md"
        assert template.is_file(), f"missing PR template for {action}"
        text = template.read_text()
        assert f"docs/examples/{action}.yml" in text
        assert "requests/" in text


def test_requests_readme_explains_the_queue(repo_root: Path) -> None:
    readme = (repo_root / "requests" / "README.md").read_text()
    assert "docs/examples" in readme
    assert check_paths([repo_root / "requests"]) == [
        check_file(p) for p in sorted((repo_root / "requests").glob("*.y*ml"))
    ]


# -- the kind folders ----------------------------------------------------------------------


def test_every_kind_has_one_complete_folder() -> None:
    for action in REGISTRY:
        for name in KIND_FILES:
            assert (KINDS_DIR / action / name).is_file(), f"kinds/{action}/{name}"
    assert folder_problems() == []


def test_the_examples_and_templates_are_generated_from_the_kind_folders(
    repo_root: Path,
) -> None:
    assert drift(repo_root, generated_files()) == [], f"run {GENERATE}"


def test_a_generated_template_frames_the_kinds_checklist_with_its_summary() -> None:
    files = generated_files()
    template = files[TEMPLATES_DIR / "broken.md"]
    assert template.startswith(f"<!-- Request: broken. {REGISTRY['broken'].summary} -->\n")
    checklist = (KINDS_DIR / "broken" / PR_TEMPLATE).read_text().strip()
    assert f"Checklist:\n\n{checklist}\n- [ ] `admin-requests check` passes" in template
    # Examples are copied as they are: no header, so a copy is still a valid request.
    assert files[EXAMPLES_DIR / "depot.yml"] == (KINDS_DIR / "depot" / "example.yml").read_text()


def test_drift_names_each_changed_missing_and_extra_file(tmp_path: Path) -> None:
    files = generated_files()
    assert len(write(tmp_path, files)) == 2 * len(REGISTRY)
    (tmp_path / EXAMPLES_DIR / "archive.yml").write_text("action: archive\n")
    (tmp_path / TEMPLATES_DIR / "depot.md").unlink()
    (tmp_path / EXAMPLES_DIR / "retired_kind.yml").write_text("action: retired_kind\n")
    assert drift(tmp_path, files) == [
        "docs/examples/archive.yml differs from what its kind's folder generates",
        ".github/PULL_REQUEST_TEMPLATE/depot.md is missing",
        "docs/examples/retired_kind.yml is generated from no kind's folder",
    ]
    assert write(tmp_path, files) == [
        "wrote docs/examples/archive.yml",
        "wrote .github/PULL_REQUEST_TEMPLATE/depot.md",
        "removed docs/examples/retired_kind.yml (no kind generates it)",
    ]
    assert drift(tmp_path, files) == []


def test_the_generate_command_writes_the_copies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--root", str(tmp_path)]) == 0
    assert drift(tmp_path, generated_files()) == []
    assert "wrote docs/examples/broken.yml" in capsys.readouterr().out
    assert main(["--root", str(tmp_path)]) == 0
    assert "are up to date" in capsys.readouterr().out


def kinds_copy(tmp_path: Path) -> Path:
    """The kinds' data files (not their modules) in tmp_path, with empty __init__.py."""
    for action in REGISTRY:
        (tmp_path / action).mkdir()
        (tmp_path / action / "__init__.py").touch()
        for name in DATA_FILES:
            shutil.copy(KINDS_DIR / action / name, tmp_path / action / name)
    return tmp_path


def test_a_missing_file_and_a_folder_of_no_registered_kind_fail(tmp_path: Path) -> None:
    kinds = kinds_copy(tmp_path)
    (kinds / "depot" / "example.yml").unlink()
    (kinds / "depots").mkdir()
    shutil.copy(kinds / "depot" / PR_TEMPLATE, kinds / "depots" / PR_TEMPLATE)
    (kinds / "helpers").mkdir()  # a helper package without a kind's files is not a kind
    (kinds / "helpers" / "__init__.py").touch()
    with pytest.raises(DocsReferenceError) as caught:
        generated_files(kinds_dir=kinds)
    assert caught.value.problems == [
        f"depot: no {shown(kinds / 'depot' / 'example.yml')}; every kind's folder holds "
        "__init__.py, example.yml, pr_template.md, reference.yml",
        f"{shown(kinds / 'depots')} holds a kind's files but 'depots' is not in the registry "
        "(kinds/__init__.py); register it or remove the folder",
    ]


def test_a_pr_template_line_that_is_not_a_checklist_item_fails(tmp_path: Path) -> None:
    kinds = kinds_copy(tmp_path)
    template = kinds / "archive" / PR_TEMPLATE
    template.write_text("## archive\n\n" + template.read_text())
    with pytest.raises(DocsReferenceError) as caught:
        generated_files(kinds_dir=kinds)
    (found,) = caught.value.problems
    assert found.startswith(f"{shown(template)}:1: '## archive' is not a checklist item")


def test_the_kind_folders_files_are_package_data(repo_root: Path) -> None:
    """An installed admin-requests (not only this checkout) has its kinds' notes."""
    pyproject = tomllib.loads((repo_root / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["admin_requests"]
    package = KINDS_DIR.parent
    data = [
        path.relative_to(package).as_posix()
        for path in KINDS_DIR.rglob("*")
        if path.is_file() and path.suffix in (".yml", ".md") and path.name != "README.md"
    ]
    assert len(data) > 3 * len(REGISTRY)
    assert [name for name in data if not any(fnmatch.fnmatch(name, p) for p in patterns)] == []
