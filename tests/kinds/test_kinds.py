"""The registry of request kinds (kinds/__init__.py): one kind per folder, named after its
action; a folder whose module is not such a kind is refused; the closest action."""

from __future__ import annotations

import pkgutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import admin_requests.kinds
from admin_requests.errors import KindRegistryError
from admin_requests.kinds import KIND_FOLDERS, REGISTRY, closest_action, load_kind
from admin_requests.kinds.archive import KIND as ARCHIVE

KINDS_DIR = Path(admin_requests.kinds.__file__).parent


def test_the_registry_has_one_kind_per_folder_named_after_its_action() -> None:
    folders = sorted(m.name for m in pkgutil.iter_modules([str(KINDS_DIR)]) if m.ispkg)
    assert sorted(KIND_FOLDERS) == folders
    assert len(set(KIND_FOLDERS)) == len(KIND_FOLDERS)
    assert list(REGISTRY) == list(KIND_FOLDERS)
    assert all(kind.action == action for action, kind in REGISTRY.items())
    assert closest_action("archiv") == "archive"


def _fake_module(monkeypatch: pytest.MonkeyPatch, name: str, **attributes: Any) -> None:
    module = ModuleType(name)
    module.__file__ = f"/fake/{name.replace('.', '/')}/__init__.py"
    for key, value in attributes.items():
        setattr(module, key, value)
    monkeypatch.setitem(sys.modules, name, module)


def test_a_folder_whose_kind_has_another_action_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_module(monkeypatch, "fake_kinds.archived", KIND=ARCHIVE)
    with pytest.raises(KindRegistryError, match=r"action 'archive', not 'archived'.*rename"):
        load_kind("fake_kinds", "archived")


def test_a_folder_without_a_kind_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_module(monkeypatch, "fake_kinds.empty", ARCHIVE=ARCHIVE)
    with pytest.raises(KindRegistryError, match=r"defines no KIND.*KIND = SomeKind\('empty'"):
        load_kind("fake_kinds", "empty")


def test_the_closest_action_is_offered_only_when_it_is_close() -> None:
    assert closest_action("unarchve") == "unarchive"
    assert closest_action("token-reset") == "token_reset"
    assert closest_action("completely-different") is None
