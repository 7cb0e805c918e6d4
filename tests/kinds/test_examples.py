"""The documented examples and PR templates cover every kind and stay valid."""

from __future__ import annotations

from pathlib import Path

from admin_requests.kinds import REGISTRY
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
