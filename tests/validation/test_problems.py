"""A Problem: where it is, how bad it is, and one line for editors and logs."""

from __future__ import annotations

from admin_requests.validation.problems import Problem


def test_one_line_in_the_form_editors_jump_to() -> None:
    problem = Problem("requests/a.yml", 3, 7, "bad-name", "write 'numpy'")
    assert problem.format_text() == "requests/a.yml:3:7: error [bad-name]: write 'numpy'"
    warning = Problem("requests/a.yml", 2, 1, "duplicate-entry", "listed twice", "warning")
    assert warning.format_text() == ("requests/a.yml:2:1: warning [duplicate-entry]: listed twice")


def test_only_errors_make_a_file_invalid() -> None:
    assert Problem("f", 1, 1, "c", "m").is_error
    assert not Problem("f", 1, 1, "c", "m", severity="warning").is_error


def test_problems_sort_by_file_then_place() -> None:
    problems = [
        Problem("b.yml", 1, 1, "z", "m"),
        Problem("a.yml", 2, 1, "y", "m"),
        Problem("a.yml", 1, 9, "x", "m"),
        Problem("a.yml", 1, 2, "w", "m"),
    ]
    assert [(p.file, p.line, p.column) for p in sorted(problems)] == [
        ("a.yml", 1, 2),
        ("a.yml", 1, 9),
        ("a.yml", 2, 1),
        ("b.yml", 1, 1),
    ]


def test_as_a_dict_for_json_output() -> None:
    assert Problem("f", 1, 2, "c", "m").as_dict() == {
        "file": "f",
        "line": 1,
        "column": 2,
        "code": "c",
        "message": "m",
        "severity": "error",
    }
