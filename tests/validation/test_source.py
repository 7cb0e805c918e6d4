"""Reading a request file: its size, encoding and YAML, refused safely and in place."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml.nodes import ScalarNode, SequenceNode

from admin_requests.validation.source import (
    MAX_FILE_BYTES,
    load_document,
    parse_document,
    problem_at,
    read_text,
)
from tests.validation.malformed import Case, assert_exact_problems, cases

# The document itself: syntax, anchors and aliases, several documents, nesting.

CASES: list[Case] = [
    ("empty file", "", [(1, 1, "empty-file")], "the file is empty"),
    ("only a comment", "# nothing\n", [(1, 1, "empty-file")], "action: archive"),
    ("top-level list", "- action: archive\n", [(1, 1, "not-a-mapping")], "YAML mapping"),
    ("top-level scalar", "archive numpy\n", [(1, 1, "not-a-mapping")], "'action' key"),
    (
        "two documents",
        "action: archive\n---\naction: broken\n",
        [(2, 1, "multiple-documents")],
        "own file",
    ),
    (
        "tab indentation",
        "action: archive\nfeedstocks:\n\t- numpy\n",
        [(3, 1, "yaml-syntax")],
        "tab characters",
    ),
    ("unclosed quote", 'action: "archive\n', [(2, 1, "yaml-syntax")], "not valid YAML"),
    (
        "bad indentation",
        "action: archive\nfeedstocks:\n  - a\n - b\n",
        [(4, 2, "yaml-syntax")],
        "not valid YAML",
    ),
    (
        "anchor",
        "action: archive\nfeedstocks: &x\n  - numpy\n",
        [(2, 13, "yaml-alias")],
        "anchors and aliases",
    ),
    (
        "alias bomb",
        "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\naction: archive\n",
        [(1, 4, "yaml-alias")],
        "write every value out in full",
    ),
    (
        "merge key alias",
        "base: &b {revoke: false}\naction: depot\n<<: *b\n",
        [(1, 7, "yaml-alias")],
        "anchors",
    ),
    (
        "deep nesting",
        "action: archive\nfeedstocks: " + "[" * 30 + "]" * 30 + "\n",
        [(2, 32, "too-deep")],
        "nested more than 20 levels",
    ),
    ("huge flow nesting", "[" * 100_000, [(1, 21, "too-deep")], "Flatten the file"),
    (
        "too many nodes",
        "action: broken\npackages:\n" + "- a\n" * 200_000,
        [(199_998, 1, "too-complex")],
        "split the request",
    ),
    (
        "control character",
        "action: archive\nfeedstocks: [\x07numpy]\n",
        [(2, 14, "yaml-syntax")],
        "not valid YAML",
    ),
]


@pytest.mark.parametrize(("text", "expected", "fragment"), cases(CASES))
def test_a_malformed_document_gets_exact_problem(
    text: str, expected: list[tuple[int, int, str]], fragment: str
) -> None:
    assert_exact_problems(text, expected, fragment)


def test_a_file_over_the_limit_is_refused_with_its_size(tmp_path: Path) -> None:
    big = tmp_path / "big.yml"
    with big.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    text, [problem] = read_text(big, "requests/big.yml")
    assert text is None
    assert (problem.file, problem.line, problem.code) == ("requests/big.yml", 1, "file-too-large")
    assert "the file is 1,048,577 bytes" in problem.message
    (tmp_path / "limit.yml").write_bytes(b"#" * MAX_FILE_BYTES)
    assert read_text(tmp_path / "limit.yml", "limit.yml") == ("#" * MAX_FILE_BYTES, [])


def test_a_file_that_is_not_utf8_names_the_line_and_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yml"
    path.write_bytes("action: archive\nfeedstocks:\n  - café\n".encode("latin-1"))
    document, [problem] = load_document(path, "requests/latin1.yml")
    assert document is None
    assert (problem.line, problem.column, problem.code) == (3, 1, "not-utf8")
    assert "byte 0xe9 at offset 35" in problem.message
    assert "save it as UTF-8" in problem.message


def test_values_keep_the_text_as_written_and_where_it_was() -> None:
    document, problems = parse_document("action: archive_branch\nbranches: [2.10, 07]\n", "r.yml")
    assert problems == []
    assert document is not None
    (_, action), (_, branches) = document.root.value
    assert isinstance(action, ScalarNode)
    assert action.value == "archive_branch"
    assert isinstance(branches, SequenceNode)
    assert [item.value for item in branches.value] == ["2.10", "07"]
    assert (branches.value[1].start_mark.line, branches.value[1].start_mark.column) == (1, 17)


def test_a_problem_without_a_node_is_placed_at_the_start() -> None:
    problem = problem_at("r.yml", None, "code", "message")
    assert (problem.line, problem.column) == (1, 1)
