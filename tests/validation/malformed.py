"""The malformed-file tables' runner: each case gets exactly the expected problems, in place.

A case is (id, file text, expected problems as (line, column, code), a fragment one of
the messages must contain). Each table sits beside the module whose rule it exercises
(test_source.py: the document; test_checker.py: the action; test_fields.py: keys and
lists; test_names.py: feedstock names); the kinds' own rules are in test_malformed.py.
Every case goes through ``check_text``, as a request file does: nothing may raise, the
checker turns every input into problems.
"""

from __future__ import annotations

import pytest

from admin_requests.validation.checker import check_text

Case = tuple[str, str, list[tuple[int, int, str]], str]


def cases(table: list[Case]) -> list[pytest.ParameterSet]:
    """The table as pytest parameters (text, expected, fragment), each named by its id."""
    return [
        pytest.param(text, expected, fragment, id=name) for name, text, expected, fragment in table
    ]


def assert_exact_problems(text: str, expected: list[tuple[int, int, str]], fragment: str) -> None:
    report = check_text(text, "requests/bad.yml")
    found = [(p.line, p.column, p.code) for p in report.problems]
    assert found == expected
    assert any(fragment in p.message for p in report.problems)
    assert all(p.file == "requests/bad.yml" for p in report.problems)
    assert all(p.code != "internal-error" for p in report.problems)
