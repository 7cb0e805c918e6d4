"""The request-kind contract: abstract methods, ids defined once, and kinds that never load
the online services (the registry is in test_kinds.py)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from ruamel.yaml.nodes import Node

from admin_requests.kinds import REGISTRY
from admin_requests.kinds.contract import Item, RequestKind, RequestModel
from admin_requests.validation.fields import Decoder
from admin_requests.validation.problems import Problem
from admin_requests.validation.source import parse_document
from tests.kinds.kind_hooks import hooks_of


def test_execute_and_access_have_no_default() -> None:
    """No kind can leave out execute (or access) and be registered: it cannot be built."""
    assert {"execute", "access"} <= RequestKind.__abstractmethods__

    class Planless(RequestKind[RequestModel, Any]):
        def build(self, fields: dict[str, Node], decoder: Decoder) -> RequestModel | None:
            return None

        def validate(self, model: RequestModel) -> list[Problem]:
            return []

        def plan(self, model: RequestModel) -> list[Item[Any]]:
            return []

        def access(self, model: RequestModel, services: Any) -> Any:
            return None

    with pytest.raises(TypeError, match="execute"):
        Planless("planless", "no execute")  # type: ignore[abstract]


@pytest.mark.parametrize("action", sorted(REGISTRY))
def test_plan_takes_each_id_from_the_entry_layout(action: str) -> None:
    """The queue finds a pending item's entry by the layout's id: plan must agree."""
    kind = REGISTRY[action]
    text = hooks_of(action).example_request
    document, problems = parse_document(text, "requests/x.yml")
    assert document is not None, problems
    model = kind.parse(document.root, Decoder("requests/x.yml"))
    assert model is not None
    assert kind.item_entries is not None
    layout_ids = [
        entry.item_id
        for group in kind.item_entries.groups(action, document.root)
        for entry in group.entries
    ]
    assert [item.id for item in kind.plan(model)] == layout_ids


def test_importing_every_kind_module_imports_no_services() -> None:
    """``admin-requests check`` runs offline: kinds name Services in annotations only."""
    program = (
        "import importlib, pkgutil, sys\n"
        "import admin_requests.kinds as kinds\n"
        "for found in pkgutil.walk_packages(kinds.__path__, 'admin_requests.kinds.'):\n"
        "    importlib.import_module(found.name)\n"
        "print(sorted(m for m in sys.modules if m.startswith('admin_requests.services')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
