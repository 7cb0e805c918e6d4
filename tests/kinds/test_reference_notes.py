"""Each kind's reference.yml and the shared notes: read strictly, each problem by file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from admin_requests.errors import DocsReferenceError
from admin_requests.kinds.folders import REFERENCE, shown
from admin_requests.kinds.reference_notes import SHARED_NOTES, load_notes
from tests.kinds.notes_support import notes_copy, problems_of


def test_an_unknown_shared_note_fails(tmp_path: Path) -> None:
    def misspell(data: Any) -> None:
        data["kinds"]["archive"]["fields"]["feedstocks"] = {"shared": "feedstock"}

    (found,) = problems_of(notes_dir=notes_copy(tmp_path, misspell))
    assert found.startswith(f"{shown(tmp_path / 'archive' / REFERENCE)}: fields.feedstocks uses")
    assert "the shared note 'feedstock', which" in found
    assert "known: ['branches', 'ci-failures'" in found


def test_a_shared_note_no_kind_uses_fails(tmp_path: Path) -> None:
    path = notes_copy(tmp_path, lambda d: d["shared"].update(unused="Nobody reads this."))
    assert problems_of(notes_dir=path) == [
        f"{shown(tmp_path / SHARED_NOTES)}: no kind uses the shared note 'unused'; remove it"
    ]


def test_a_shared_list_where_a_text_belongs_fails(tmp_path: Path) -> None:
    def wrong(data: Any) -> None:
        data["kinds"]["depot"]["fields"]["revoke"] = {"shared": "ci-failures"}

    (found,) = problems_of(notes_dir=notes_copy(tmp_path, wrong))
    assert found == (
        f"{shown(tmp_path / 'depot' / REFERENCE)}: fields.revoke must be a text or "
        "{shared: NAME}, not list"
    )


def test_load_notes_reads_every_kind_folder_and_resolves_shared_texts(tmp_path: Path) -> None:
    notes = load_notes(notes_copy(tmp_path))
    assert notes["not_broken"].fields["packages"] == notes["broken"].fields["packages"]
    assert notes["archive"].source == tmp_path / "archive" / REFERENCE
    assert notes["archive"].steps
    assert notes["archive"].invalid_example


def test_an_unknown_key_in_a_reference_file_fails(tmp_path: Path) -> None:
    def add(data: Any) -> None:
        data["kinds"]["archive"]["whem"] = "typo of when"

    with pytest.raises(DocsReferenceError) as caught:
        load_notes(notes_copy(tmp_path, add))
    (found,) = caught.value.problems
    assert found.startswith(f"{shown(tmp_path / 'archive' / REFERENCE)}: unknown keys ['whem']")
