"""Copies of the kinds' reference notes to break, for the reference and notes tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from admin_requests.errors import DocsReferenceError
from admin_requests.kinds.folders import KINDS_DIR, REFERENCE
from admin_requests.kinds.reference import render_reference
from admin_requests.kinds.reference_notes import SHARED_NOTES

ROOT = Path(__file__).resolve().parents[2]


def notes_copy(tmp_path: Path, change: Any = None) -> Path:
    """The kinds' notes in tmp_path (``<kind>/reference.yml`` and the shared notes).

    ``change(data)`` may change them first: ``data["kinds"][kind]`` is a kind's
    reference.yml, ``data["shared"]`` the shared notes.
    """
    yaml = YAML()
    data = {
        "kinds": {
            p.parent.name: yaml.load(p.read_text()) for p in KINDS_DIR.glob(f"*/{REFERENCE}")
        },
        "shared": yaml.load((KINDS_DIR / SHARED_NOTES).read_text()),
    }
    if change is not None:
        change(data)
    for action, notes in data["kinds"].items():
        (tmp_path / action).mkdir()
        with (tmp_path / action / REFERENCE).open("w") as out:
            yaml.dump(notes, out)
    with (tmp_path / SHARED_NOTES).open("w") as out:
        yaml.dump(data["shared"], out)
    return tmp_path


def problems_of(**kwargs: Any) -> list[str]:
    with pytest.raises(DocsReferenceError) as caught:
        render_reference(ROOT, **kwargs)
    return caught.value.problems
