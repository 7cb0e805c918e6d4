"""Every kind has its test hooks, and its items' params are typed frozen dataclasses."""

from __future__ import annotations

import dataclasses
import sys
import typing
from types import ModuleType, NoneType, UnionType

import pytest

from admin_requests.kinds import REGISTRY
from admin_requests.validation.checker import check_text
from tests.kinds.kind_hooks import MissingHooksError, hooks_of, params_type


@pytest.mark.parametrize("action", sorted(REGISTRY))
def test_the_example_request_plans_the_example_params(action: str) -> None:
    hooks = hooks_of(action)
    report = check_text(hooks.example_request, f"requests/{action}.yml")
    assert report.ok, [p.format_text() for p in report.problems]
    assert report.action == action
    assert report.items[0].params == hooks.example_params
    for item in report.items:
        assert type(item.params) is params_type(REGISTRY[action])
        hooks.check_item(item)


def _value_fits(value: object, annotation: object) -> bool:
    """Whether ``value`` is of the field type ``annotation`` (the types params may use)."""
    if annotation in (str, int):
        return type(value) is annotation  # a bool is no int here, "true" no bool
    if annotation is bool:
        return type(value) is bool
    if annotation is NoneType:
        return value is None
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, UnionType):
        return any(_value_fits(value, a) for a in args)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return type(value) is tuple and all(_value_fits(v, args[0]) for v in value)
    raise AssertionError(f"params fields are str, int, bool, None or tuples, not {annotation!r}")


@pytest.mark.parametrize("action", sorted(REGISTRY))
def test_params_are_frozen_dataclasses_of_plain_typed_values(action: str) -> None:
    declared = params_type(REGISTRY[action])
    assert dataclasses.is_dataclass(declared)
    assert declared.__dataclass_params__.frozen, f"{declared.__name__} must be frozen"  # type: ignore[attr-defined]
    example = hooks_of(action).example_params
    assert type(example) is declared
    hints = typing.get_type_hints(declared)
    for field in dataclasses.fields(declared):
        value = getattr(example, field.name)
        assert _value_fits(value, hints[field.name]), (field.name, value, hints[field.name])
    hash(example)  # lists or dicts inside would make it unhashable


def test_a_kind_without_hooks_fails_naming_the_file() -> None:
    with pytest.raises(MissingHooksError, match=r"add tests/kinds/no_such_kind/hooks\.py"):
        hooks_of("no_such_kind")


def test_hooks_without_every_name_fail_naming_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = ModuleType("tests.kinds.half_done.hooks")
    module.EXAMPLE_REQUEST = "action: half_done\n"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    with pytest.raises(MissingHooksError) as caught:
        hooks_of("half_done")
    assert str(caught.value).startswith(
        "tests/kinds/half_done/hooks.py does not define EXAMPLE_PARAMS, check_item, "
        "request_files, soak_request"
    )
