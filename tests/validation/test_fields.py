"""Decoding fields: unknown, missing and duplicate keys, lists and their items."""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.nodes import Node, ScalarNode

from admin_requests.validation.fields import Decoder, Text, describe
from tests.validation.malformed import Case, assert_exact_problems, cases

CASES: list[Case] = [
    # --- keys ------------------------------------------------------------------------
    (
        "unknown key",
        "action: archive\nfeedstocks: [numpy]\nreason: old\n",
        [(3, 1, "unknown-key")],
        "Allowed keys: action, feedstocks",
    ),
    (
        "key typo",
        "action: archive\nfeedstock: [numpy]\n",
        [(1, 1, "missing-key"), (2, 1, "unknown-key")],
        "Did you mean 'feedstocks'",
    ),
    ("missing key", "action: broken\n", [(1, 1, "missing-key")], "needs a 'packages' key"),
    (
        "duplicate key",
        "action: archive\nfeedstocks: [a1]\nfeedstocks: [b1]\n",
        [(3, 1, "duplicate-key")],
        "first on line 2",
    ),
    (
        "duplicate action",
        "action: archive\naction: archive\nfeedstocks: [numpy]\n",
        [(2, 1, "duplicate-key")],
        "appears twice",
    ),
    (
        "non-text key",
        "action: archive\nfeedstocks: [numpy]\n? [a, b]\n: 1\n",
        [(3, 3, "wrong-type")],
        "a key in the request",
    ),
    # --- lists -----------------------------------------------------------------------
    (
        "string instead of list",
        "action: archive\nfeedstocks: numpy\n",
        [(2, 13, "expected-list")],
        "feedstocks:\n  - numpy",
    ),
    ("empty list", "action: archive\nfeedstocks: []\n", [(2, 13, "empty-list")], "at least one"),
    ("null list", "action: archive\nfeedstocks:\n", [(2, 12, "empty-list")], "at least one"),
    (
        "mapping instead of list",
        "action: archive\nfeedstocks: {numpy: 1}\n",
        [(2, 13, "expected-list")],
        "not a mapping",
    ),
    (
        "nested list item",
        "action: archive\nfeedstocks:\n  - [numpy]\n",
        [(3, 5, "wrong-type")],
        "single text value",
    ),
    ("null item", "action: archive\nfeedstocks:\n  -\n", [(3, 4, "empty-value")], "is empty"),
    (
        "boolean item",
        "action: archive\nfeedstocks:\n  - yes\n  - true\n",
        [(4, 5, "wrong-type")],
        "quote it",
    ),
]


@pytest.mark.parametrize(("text", "expected", "fragment"), cases(CASES))
def test_malformed_keys_and_lists_get_exact_problem(
    text: str, expected: list[tuple[int, int, str]], fragment: str
) -> None:
    assert_exact_problems(text, expected, fragment)


def compose(text: str) -> Node:
    node: Node = YAML(typ="rt").compose(text)
    return node


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{a: 1}", "a mapping"),
        ("[a]", "a list"),
        ("null", "nothing (an empty value)"),
        ("true", "the boolean 'true'"),
        ("42", "the number '42'"),
        ("numpy", "the text 'numpy'"),
        ("'42'", "the text '42'"),
    ],
)
def test_what_was_written_is_described_in_plain_words(text: str, words: str) -> None:
    assert describe(compose(text)) == words


def test_text_is_a_string_that_remembers_its_place() -> None:
    node = compose("a: b\nkey:   numpy\n").value[1][1]
    assert isinstance(node, ScalarNode)
    text = Text.from_node(node)
    assert text == "numpy"
    assert isinstance(text, str)
    assert (text.line, text.column) == (2, 8)
    decoder = Decoder("r.yml")
    decoder.error_at(text, "bad-name", "m")
    assert [(p.line, p.column, p.code) for p in decoder.problems] == [(2, 8, "bad-name")]


@pytest.mark.parametrize(
    ("text", "result"),
    [("null", (True, None)), ("3600", (True, 3600)), ("1_000", (True, 1000)), ("0", (True, 0))],
)
def test_a_whole_number_or_null(text: str, result: tuple[bool, int | None]) -> None:
    decoder = Decoder("r.yml")
    assert decoder.optional_int(compose(text), "expire_after") == result
    assert decoder.problems == []


@pytest.mark.parametrize("text", ["-1", "'60'", "1.5", "[60]", "true"])
def test_anything_else_is_the_wrong_type_with_an_example(text: str) -> None:
    decoder = Decoder("r.yml")
    assert decoder.optional_int(compose(text), "expire_after", minimum=0) == (False, None)
    [problem] = decoder.problems
    assert problem.code == "wrong-type"
    assert "at least 0" in problem.message
    assert "'expire_after: 3600'" in problem.message
