"""Where each item of a request is written (kinds/layout.py): the ids the layouts give the
entries of a parsed document, and which lists may go once their entries are done."""

from __future__ import annotations

from ruamel.yaml.nodes import MappingNode

from admin_requests.kinds.layout import EntryGroup, ListEntries, MappingOfLists
from admin_requests.validation.source import parse_document


def root_of(text: str) -> MappingNode:
    document, problems = parse_document(text, "requests/x.yml")
    assert document is not None, problems
    return document.root


def ids(groups: list[EntryGroup]) -> list[list[str]]:
    return [[entry.item_id for entry in group.entries] for group in groups]


def test_list_entries_are_identified_by_the_text_as_written() -> None:
    root = root_of("action: archive\nfeedstocks:\n  - foo\n  - 2.10\n  - {not: scalar}\n")
    [group] = ListEntries("feedstocks").groups("archive", root)
    assert ids([group]) == [["archive:foo", "archive:2.10"]]  # 2.10 stays 2.10
    assert group.key.value == "feedstocks"
    assert not group.removable  # the request's own list stays until the file goes
    assert group.entries[1].node.start_mark.line == 3  # the entry keeps its place
    assert ListEntries.item_id("archive", "foo") == "archive:foo"


def test_list_entries_with_a_field_use_that_field_and_skip_entries_without_it() -> None:
    root = root_of(
        "action: cfep3_copy\nfeedstock_to_package:\n  - package: a\n    feedstock: x\n"
        "  - feedstock: y\n  - package: b\n"
    )
    groups = ListEntries("feedstock_to_package", field="package").groups("cfep3_copy", root)
    assert ids(groups) == [["cfep3_copy:a", "cfep3_copy:b"]]


def test_a_missing_key_or_a_value_of_another_shape_has_no_entries() -> None:
    root = root_of("action: archive\nfeedstocks: foo\nbranches: [a]\n")
    assert ListEntries("feedstocks").groups("archive", root) == []
    assert ListEntries("packages").groups("archive", root) == []
    layout = MappingOfLists("branches", lambda action, key, entry: f"{action}:{key}@{entry}")
    assert layout.groups("archive_branch", root) == []


def test_a_mapping_of_lists_gives_one_removable_group_per_key() -> None:
    root = root_of("action: archive_branch\nfeedstocks:\n  foo: [1.x, 2.x]\n  bar: [main]\n")
    layout = MappingOfLists("feedstocks", lambda action, key, entry: f"{action}:{key}@{entry}")
    groups = layout.groups("archive_branch", root)
    assert ids(groups) == [
        ["archive_branch:foo@1.x", "archive_branch:foo@2.x"],
        ["archive_branch:bar@main"],
    ]
    assert [group.key.value for group in groups] == ["foo", "bar"]
    assert all(group.removable for group in groups)  # a done feedstock's key goes too
