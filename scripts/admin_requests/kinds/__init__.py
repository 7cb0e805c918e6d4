"""The registry of request kinds: the only place that lists them.

Adding a kind: write its folder ``kinds/<kind>/`` whose ``__init__`` defines ``KIND``
(a ``RequestKind`` whose ``action`` is the folder's name), and add the name below.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any

from admin_requests.errors import KindRegistryError
from admin_requests.kinds.contract import RequestKind

# One line per kind, in the order the docs list them.
KIND_FOLDERS = (
    "broken",
    "not_broken",
    "token_reset",
    "archive",
    "unarchive",
    "archive_branch",
    "unarchive_branch",
    "add_feedstock_output",
    "cfep3_copy",
    "travis",
    "cirun",
    "blacksmith",
    "namespace",
    "depot",
    "cirrus_runners",
)


def load_kind(package: str, name: str) -> RequestKind[Any, Any]:
    """``<package>.<name>.KIND``, checked to be a kind whose action is ``name``."""
    module = importlib.import_module(f"{package}.{name}")
    kind = getattr(module, "KIND", None)
    where = f"{module.__name__} ({module.__file__})"
    if not isinstance(kind, RequestKind):
        raise KindRegistryError(
            f"{where} defines no KIND (found {kind!r}); end the module with "
            f"'KIND = SomeKind({name!r}, ...)'."
        )
    if kind.action != name:
        raise KindRegistryError(
            f"{where} defines a kind for action {kind.action!r}, not {name!r}; the folder and "
            "the action must have the same name: rename one of them."
        )
    return kind


def load_registry(package: str, names: tuple[str, ...]) -> dict[str, RequestKind[Any, Any]]:
    return {name: load_kind(package, name) for name in names}


# Kinds of different model and params types are mixed here, so each is held as
# RequestKind[Any, Any] (no Protocol): the checker, the queue and the docs only pass a
# kind's own model and items back to it (parse -> validate/plan -> execute). A dict, so
# that `action in REGISTRY` narrows an optional action for mypy.
REGISTRY: dict[str, RequestKind[Any, Any]] = load_registry(__name__, KIND_FOLDERS)


def closest_action(action: str) -> str | None:
    matches = difflib.get_close_matches(action, REGISTRY, n=1, cutoff=0.5)
    return matches[0] if matches else None
