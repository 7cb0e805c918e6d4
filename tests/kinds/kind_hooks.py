"""What the shared tests know of a kind lives in its test folder, found by name.

Every action in the registry has ``tests/kinds/<action>/hooks.py`` defining:

- ``EXAMPLE_REQUEST``: a small valid request file of the kind;
- ``EXAMPLE_PARAMS``: the parameters the first item of ``EXAMPLE_REQUEST`` carries
  (an instance of the kind's params dataclass), the example of what ``execute`` gets;
- ``check_item(item)``: asserts what ``execute`` relies on in any item of an accepted
  file beyond its type (names that pass the checks the engine relies on...);
- ``request_files()``: a hypothesis strategy of request files of the kind as people
  write them, mostly valid (tests/validation/test_properties.py);
- ``soak_request(world, rng, n)``: seeds the soak world's fakes for one request of the
  kind and returns it, with a check of each item's end state and the side effects
  carrying it out must cause (tests/soak/).

The fuzz properties, the property tests and the soak import ``tests.kinds.<action>.hooks``
for every action in REGISTRY, so a new kind is tested everywhere once its folder has
this file, and they fail naming the file until it has.
"""

from __future__ import annotations

import functools
import importlib
import random
import typing
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from admin_requests.kinds.contract import Item, RequestKind

if TYPE_CHECKING:
    from hypothesis import strategies as st

    from tests.soak.world import World, WorldRequest

HOOK_NAMES = ("EXAMPLE_REQUEST", "EXAMPLE_PARAMS", "check_item", "request_files", "soak_request")
TEMPLATE = "tests/kinds/archive/hooks.py"


class MissingHooksError(AssertionError):
    """A registered kind has no tests/kinds/<action>/hooks.py, or it lacks a hook."""


@dataclass(frozen=True)
class KindHooks:
    action: str
    path: str  # tests/kinds/<action>/hooks.py, for messages
    example_request: str
    example_params: object
    check_item: Callable[[Item[Any]], None]
    request_files: Callable[[], st.SearchStrategy[str]]
    soak_request: Callable[[World, random.Random, int], WorldRequest]


def hooks_path(action: str) -> str:
    return f"tests/kinds/{action}/hooks.py"


@functools.cache
def hooks_of(action: str) -> KindHooks:
    """The hooks of ``action``; MissingHooksError says which file or name to add."""
    module = _import_hooks(action)
    missing = [name for name in HOOK_NAMES if not hasattr(module, name)]
    if missing:
        raise MissingHooksError(
            f"{hooks_path(action)} does not define {', '.join(missing)}; every kind's hooks "
            f"define {', '.join(HOOK_NAMES)} (see {TEMPLATE} and tests/kinds/kind_hooks.py)."
        )
    return KindHooks(
        action,
        hooks_path(action),
        module.EXAMPLE_REQUEST,
        module.EXAMPLE_PARAMS,
        module.check_item,
        module.request_files,
        module.soak_request,
    )


def _import_hooks(action: str) -> ModuleType:
    name = f"tests.kinds.{action}.hooks"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name not in (name, f"tests.kinds.{action}"):
            raise  # the hooks exist but import something missing: show that
        raise MissingHooksError(
            f"the kind {action!r} has no test hooks: add {hooks_path(action)} (and "
            f"tests/kinds/{action}/__init__.py) defining {', '.join(HOOK_NAMES)}, as "
            f"{TEMPLATE} does; see tests/kinds/kind_hooks.py for what each one is."
        ) from None


def params_type(kind: RequestKind[Any, Any]) -> type:
    """The params dataclass a kind declares: ``RequestKind[Model, Params]`` in its bases."""
    for cls in type(kind).__mro__:
        for base in getattr(cls, "__orig_bases__", ()):
            if typing.get_origin(base) is RequestKind:
                declared = typing.get_args(base)[1]
                assert isinstance(declared, type), (type(kind).__name__, declared)
                return declared
    raise AssertionError(f"{type(kind).__name__} does not subclass RequestKind[Model, Params]")
