"""`check` composes with libyaml's C parser and gets exactly the pure parser's tree.

The C parser (ruamel.yaml.clib) composes 18 times faster; the pure one gives every
problem its message and position. Wherever the two could differ the file goes to the
pure one (validation/source.py), so these hold the C side to the pure one: identical
node trees (tags, values, styles, marks) over the real requests as written and as
others would save them, identical problems for files only one of them refuses, and the
same answers from hostile text. tests/fuzz/properties.py checks the same for every fuzzed input.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from admin_requests.validation import source
from admin_requests.validation.checker import check_text
from admin_requests.validation.source import (
    _TO_THE_PURE_PARSER,
    MAX_DEPTH,
    _compose_c,
    _compose_pure,
    _for_the_c_parser,
    parse_document,
)
from tests.validation.node_trees import node_tree

pytestmark = pytest.mark.skipif(source.CParser is None, reason="ruamel.yaml.clib is not installed")

# The one real request the C parser is not given: it has a tab after a value (line 39),
# which libyaml accepts and the pure parser refuses.
PURE_ONLY = {"pytorch-599a7374.yml"}

VARIANTS: dict[str, Callable[[str], str]] = {
    "as written": lambda text: text,
    "no line break at the end": lambda text: text.rstrip("\n"),
    "Windows line breaks": lambda text: text.replace("\n", "\r\n"),
    "trailing spaces, no line break": lambda text: text.rstrip("\n") + "  ",
}


def _composed_by_c(text: str) -> object:
    """The C side's tree, or None where it hands the text to the pure parser."""
    try:
        return node_tree(_compose_c(text))
    except _TO_THE_PURE_PARSER:
        return None


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_real_request_gets_the_pure_parsers_exact_tree(
    corpus_dir: Path, variant: str
) -> None:
    taken = set()
    for path in sorted(corpus_dir.iterdir()):
        text = VARIANTS[variant](path.read_text())
        tree = _composed_by_c(text)
        if tree is None:
            continue
        taken.add(path.name)
        assert tree == node_tree(_compose_pure(path.name, text)), path.name
    # The speed comes from the C side reading nearly all of them.
    assert {p.name for p in corpus_dir.iterdir()} - taken == PURE_ONLY


def test_check_says_the_same_with_and_without_the_c_parser(
    corpus_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def reports() -> list[object]:
        out = []
        for path in sorted(corpus_dir.iterdir()):
            report = check_text(path.read_text(), path.name)
            out.append((path.name, report.problems, [item.id for item in report.items]))
        return out

    with_c = reports()
    monkeypatch.setattr(source, "CParser", None)  # as where ruamel.yaml.clib is missing
    assert reports() == with_c


def test_a_tab_only_the_pure_parser_refuses_gets_its_message(corpus_dir: Path) -> None:
    text = (corpus_dir / "pytorch-599a7374.yml").read_text()
    # libyaml itself would take the file: given it, it composes a tree.
    assert source._CComposer(text).get_single_node() is not None
    assert not _for_the_c_parser(text)
    _, [problem] = parse_document(text, "requests/pytorch.yml")
    assert (problem.line, problem.column, problem.code) == (39, 59, "yaml-syntax")
    assert "found character '\\t' that cannot start any token" in problem.message
    assert "indent with spaces" in problem.message


# Text where the two parsers part ways, or that passes a limit: each must get from
# check exactly what the pure parser alone says (with the side that composed it).
DIVERGENT = {
    "tab after a value": ("action: archive\nfeedstocks:\n  - numpy\t\n", "pure"),
    "byte order mark": ("\ufeffaction: archive\nfeedstocks:\n  - numpy\n", "pure"),
    "a non-ASCII comment": ("action: archive  # café\nfeedstocks:\n  - numpy\n", "pure"),
    "an anchor and its alias": ("action: archive\nfeedstocks: &f\n  - a\nx: *f\n", "pure"),
    "an alias with no anchor": ("action: archive\nfeedstocks: *f\n", "pure"),
    "a tag": ("action: !!str archive\nfeedstocks:\n  - numpy\n", "pure"),
    "a directive": ("%YAML 1.1\n---\naction: archive\nrevoke: yes\n", "pure"),
    "an empty value": ("action: archive\nfeedstocks:\n# later\n", "pure"),
    "an empty list entry": ("action: archive\nfeedstocks:\n  -\n  - numpy\n", "pure"),
    "a block scalar": ("action: archive\nfeedstocks: |-# x\n  numpy\n", "pure"),
    "two document ends": ("action: archive\n...\n...\n", "pure"),
    "a lone carriage return": ("action: archive\rfeedstocks:\r  - numpy\r", "pure"),
    "two documents": ("action: archive\n---\naction: broken\n", "pure"),
    "an unclosed flow list": ("action: archive\nfeedstocks: [numpy\n", "pure"),
    "a duplicate key": ("action: archive\nfeedstocks:\n  - a\nfeedstocks:\n  - b\n", "c"),
    "unended last line": ("action: archive\nfeedstocks: [numpy, scipy]", "c"),
    "Windows line breaks": ("action: archive\r\nfeedstocks:\r\n  - numpy\r\n", "c"),
    "quoted empty value": ("action: archive\nfeedstocks:\n  - ''\n", "c"),
    # Stopped at the limit: libyaml's composer recurses, and 100,000 levels of it
    # overflow the C stack (a segmentation fault); 1,000 show the limit safely.
    "too deep": ("[" * 1000 + "x" + "]" * 1000, "pure"),
    "too deep, block": ("- " * (MAX_DEPTH + 2) + "x\n", "pure"),
    # With the node limit at SMALL_MAX_NODES (the real one takes 15 s of pure parsing).
    "too many nodes": ("action: broken\npackages:\n" + "- x\n" * 60, "pure"),
}


SMALL_MAX_NODES = 50


@pytest.mark.parametrize("case", sorted(DIVERGENT))
def test_where_the_parsers_part_ways_the_pure_one_answers(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, side = DIVERGENT[case]
    if case == "too many nodes":
        monkeypatch.setattr(source, "MAX_NODES", SMALL_MAX_NODES)
    assert (_composed_by_c(text) is not None) == (side == "c")
    document, problems = parse_document(text, "requests/x.yml")
    monkeypatch.setattr(source, "CParser", None)
    pure_document, pure_problems = parse_document(text, "requests/x.yml")
    assert problems == pure_problems
    assert node_tree(document and document.root) == node_tree(pure_document and pure_document.root)


# Mutations of real requests, as the fuzzers make them but from a fixed seed and a fixed
# count: the C side either hands the text over or composes the pure parser's tree.
PIECES = [":", ": ", "- ", "-", "  ", "\n", "\n  ", "[", "]", "{", "}", ",", "#", " #", "'",
          '"', "|", ">-\n  a\n", "? ", "---", "...", "\r\n", "\\", "*a", "~", "yes", "0o7",
          "1e3", "a:b", "[a: b]", "{a, b}", "- - a\n", ":\n", "-\n", '"\\/"', '"\\x41"',
          "k" * 1030 + ": v\n"]  # fmt: skip
MUTATIONS = 3000


def _mutate(text: str, rng: random.Random) -> str:
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(text))
        roll = rng.random()
        if roll < 0.6:
            text = text[:at] + rng.choice(PIECES) + text[at:]
        elif roll < 0.85:
            text = text[:at] + text[at + rng.randint(1, 8) :]
        else:
            lines = text.split("\n")
            line = rng.randrange(len(lines))
            lines[line] = " " * rng.randint(0, 5) + lines[line].lstrip(" ")
            text = "\n".join(lines)
    return text


def test_mutated_requests_get_the_pure_parsers_tree_or_the_pure_parser(corpus_dir: Path) -> None:
    rng = random.Random(18)
    texts = [path.read_text() for path in sorted(corpus_dir.iterdir())]
    composed = 0
    for _ in range(MUTATIONS):
        text = _mutate(rng.choice(texts), rng)
        tree = _composed_by_c(text)
        if tree is not None:
            composed += 1
            assert tree == node_tree(_compose_pure("requests/x.yml", text)), repr(text)
    assert composed > MUTATIONS // 4  # the C side was really exercised
