"""Shrinking request files to what is left: exact text, comments kept, items never lost."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from admin_requests.kinds import REGISTRY
from admin_requests.queue.writeback import remaining_text
from admin_requests.validation.checker import check_text

CORPUS = Path(__file__).resolve().parents[1] / "data" / "real-requests"
SHA = "0" * 64


def shrink(text: str, action: str, pending: set[str]) -> str | None:
    return remaining_text(text, REGISTRY[action], pending, "requests/x.yml")


def test_list_entries_go_with_their_end_of_line_comments_other_comments_stay() -> None:
    text = (
        "# header\n"
        "action: archive\n"
        "feedstocks:\n"
        "  # dead upstream\n"
        "  - foo   # eol foo\n"
        "  - bar\n"
        "\n"
        "  - baz  # keep me\n"
        "# trailing\n"
    )
    assert shrink(text, "archive", {"archive:baz"}) == (
        "# header\naction: archive\nfeedstocks:\n  # dead upstream\n\n  - baz  # keep me\n"
        "# trailing\n"
    )


def test_mapping_kind_drops_entries_then_empty_keys() -> None:
    text = (
        "action: archive_branch\n"
        "feedstocks:\n"
        "  foo:   # c foo\n"
        "    - 1.2.x\n"
        "    - 2.10  # numeric-looking, kept exactly\n"
        "  # bar is old\n"
        "  bar:\n"
        "    - main\n"
        "  baz:\n"
        "    - v1\n"
    )
    result = shrink(text, "archive_branch", {"archive_branch:foo@2.10", "archive_branch:baz@v1"})
    assert result == (
        "action: archive_branch\n"
        "feedstocks:\n"
        "  foo:   # c foo\n"
        "    - 2.10  # numeric-looking, kept exactly\n"
        "  # bar is old\n"
        "  baz:\n"
        "    - v1\n"
    )


def test_feedstock_suffix_keys_map_to_their_items() -> None:
    text = (
        "action: add_feedstock_output\n"
        "feedstock_to_output_mapping:\n"
        "  foo-feedstock:\n"
        "    - libfoo\n"
        "    - 'libfoo*'\n"
    )
    result = shrink(text, "add_feedstock_output", {"add_feedstock_output:foo:libfoo*"})
    assert result == (
        "action: add_feedstock_output\nfeedstock_to_output_mapping:\n  foo-feedstock:\n"
        "    - 'libfoo*'\n"
    )


def test_multi_line_entries_go_whole() -> None:
    text = (
        "action: cfep3_copy\n"
        "anaconda_org_packages:\n"
        "  - package: ch/linux-64/foo-1.0-h0_0.conda\n"
        "    # checked by hand\n"
        f"    sha256: {SHA}\n"
        "  - package: ch/linux-64/bar-1.0-h0_0.conda\n"
        f"    sha256: {SHA}\n"
        "to_anaconda_org_label: main\n"
    )
    result = shrink(text, "cfep3_copy", {"cfep3_copy:ch/linux-64/bar-1.0-h0_0.conda"})
    assert result == (
        "action: cfep3_copy\nanaconda_org_packages:\n  - package: ch/linux-64/bar-1.0-h0_0.conda\n"
        f"    sha256: {SHA}\nto_anaconda_org_label: main\n"
    )


def test_duplicate_entries_of_a_done_item_both_go() -> None:
    text = "action: broken\npackages:\n  - linux-64/a-1-0.conda\n  - linux-64/b-1-0.conda\n"
    text += "  - linux-64/a-1-0.conda\n"
    result = shrink(text, "broken", {"broken:linux-64/b-1-0.conda"})
    assert result == "action: broken\npackages:\n  - linux-64/b-1-0.conda\n"


@pytest.mark.parametrize(
    "text",
    [
        "action: archive\nfeedstocks: [foo, bar]\n",  # flow style
        "action: archive_branch\nfeedstocks: {foo: [a], bar: [b]}\n",
    ],
)
def test_files_that_cannot_be_shrunk_safely_are_left_whole(text: str) -> None:
    report = check_text(text)
    assert report.ok
    pending = {report.items[-1].id}
    assert shrink(text, report.action or "", pending) is None


def test_a_kind_without_a_layout_keeps_the_file_whole() -> None:
    text = "action: archive\nfeedstocks:\n  - a\n  - b\n"
    unlaid = copy.copy(REGISTRY["archive"])  # its own instance: the registry's is untouched
    unlaid.item_entries = None  # a ClassVar: set on this copy only
    assert remaining_text(text, unlaid, {"archive:a"}, "requests/x.yml") is None
    assert remaining_text(text, REGISTRY["archive"], {"archive:a"}, "requests/x.yml") is not None


def _corpus() -> list[tuple[str, str]]:
    found = []
    for path in sorted(CORPUS.glob("*.yml")):
        text = path.read_text(encoding="utf-8")
        report = check_text(text, path.name)
        if report.ok and len(report.items) > 1:
            found.append((path.name, text))
    return found


CORPUS_FILES = _corpus()


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_real_requests_shrink_to_exactly_the_pending_items(data: st.DataObject) -> None:
    assert CORPUS_FILES, f"no multi-item request in {CORPUS}"
    name, text = data.draw(st.sampled_from(CORPUS_FILES))
    report = check_text(text, name)
    ids = sorted({item.id for item in report.items})
    pending = set(data.draw(st.lists(st.sampled_from(ids), min_size=1, unique=True)))
    result = shrink(text, report.action or "", pending)
    if pending == set(ids):
        assert result == text
        return
    assert result is not None, name
    again = check_text(result, name)
    assert again.ok
    assert {item.id for item in again.items} == pending
    # Only whole lines were removed, in order: every kept line is from the original.
    original = iter(text.splitlines())
    assert all(any(line == o for o in original) for line in result.splitlines())
