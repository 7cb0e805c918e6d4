"""The project against GitHub's published REST description (tests/data/openapi/).

What this module checks once, statically:

- the subset holds exactly the operations of ``github-operations.txt``, with every
  component they reference and no other, from the pinned ``@octokit/openapi``;
- every route the fake GitHub serves is one of those operations, with that method;
- every GitHub App permission, and level, that the project asks for (the request kinds'
  ``access()``, the credential broker, the fake App's defaults and the permissions the
  fake checks) is one GitHub's access-token request accepts.

What every test checks as it runs: each call any client makes to a FakeGitHub, and
each answer the fake gives, is checked against the description (tests/fakes/openapi.py;
a difference fails the test that made the call). The session's figures are printed at
the end of the run (``GitHub contract: ...``).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

from admin_requests.access import Access
from admin_requests.config import Settings
from admin_requests.credentials.github_app import IMPLICIT_PERMISSIONS
from admin_requests.kinds import REGISTRY
from admin_requests.kinds.reference import EXAMPLES_DIR, _follow_up_access, _settings_only
from admin_requests.validation.checker import check_file
from tests.contract import regenerate_openapi_subset as regenerate
from tests.fakes import openapi
from tests.fakes.github import DEFAULT_APP_PERMISSIONS, FakeGitHub

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "scripts" / "admin_requests"
FAKE = ROOT / "tests" / "fakes" / "github.py"
LEVEL_WORDS = ("read", "write", "admin")


@pytest.fixture(scope="module")
def subset() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(openapi.SUBSET.read_text())
    return data


def _subset_operations(subset: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (method.upper(), template)
        for template, item in subset["paths"].items()
        for method in item
        if method in openapi.METHODS
    ]


def test_the_subset_holds_the_listed_operations_from_the_pinned_release(
    subset: dict[str, Any],
) -> None:
    listed = openapi.operation_list()
    assert listed == regenerate.read_operations()
    assert len(set(listed)) == len(listed), "an operation is listed twice"
    assert listed == sorted(listed, key=lambda o: (o[1], o[0])), (
        "keep github-operations.txt sorted by path, then method"
    )
    assert sorted(_subset_operations(subset)) == sorted(listed), (
        "github-subset.json does not match github-operations.txt: run "
        ".venv/bin/python tests/contract/regenerate_openapi_subset.py"
    )
    assert subset["info"]["version"] == regenerate.VERSION
    assert (
        f"@octokit/openapi@{regenerate.VERSION} {regenerate.INTEGRITY}"
        in (subset["info"]["x-source"])
    )


def test_the_subset_has_every_component_it_references_and_no_other(
    subset: dict[str, Any],
) -> None:
    """Built again from itself, the subset is unchanged: nothing dangles, nothing extra."""
    rebuilt = regenerate.build_subset(subset, regenerate.read_operations(), "itself")
    assert rebuilt["paths"] == subset["paths"]
    assert rebuilt["components"] == subset["components"]


def _sample_path(pattern: str) -> str:
    """A concrete path for a fake route's regex (``{ref:path}`` spans segments)."""
    path = re.sub(r"\(\?P<(\w+)>\.\+\)", r"heads/\1", pattern.strip("^$"))
    return re.sub(r"\(\?P<(\w+)>\[\^/\]\+\)", r"\1", path)


def _shape(path: str) -> str:
    return re.sub(r"\{\w+\}", "{}", path)


def test_every_route_the_fake_serves_is_a_listed_operation_with_that_method() -> None:
    description = openapi.Description.load()
    fake = FakeGitHub()  # routes are registered at construction; no server needed
    routes = [(method, regex.pattern) for method, regex, _ in fake._routes]
    missing = []
    served = set()
    for method, pattern in routes:
        operation = description.match(method, _sample_path(pattern))
        if operation is None:
            missing.append(f"{method} {pattern}")
            continue
        served.add(operation.key)
        shape = re.sub(r"\(\?P<\w+>[^)]*\)", "{}", pattern.strip("^$"))
        assert _shape(operation.template) == shape, (method, pattern, operation.template)
    assert not missing, (
        "FakeGitHub serves routes GitHub's description does not have (or that are not in "
        "github-operations.txt): " + ", ".join(missing)
    )
    listed = len(openapi.operation_list())
    print(
        f"\nGitHub contract: {len(routes)} fake routes, all in the description "
        f"({len(served)} distinct operations); {listed} operations listed, "
        f"{len(description.operations)} in the subset"
    )


# -- permissions ------------------------------------------------------------------------


def _literal_permission_maps(source: str) -> list[dict[str, str]]:
    """Every ``{"name": "read"|"write", ...}`` literal and ``x["name"] = "write"``."""
    found: list[dict[str, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Dict) and node.keys:
            pairs = [
                (k.value, v.value)
                for k, v in zip(node.keys, node.values, strict=True)
                if isinstance(k, ast.Constant)
                and isinstance(v, ast.Constant)
                and isinstance(k.value, str)
                and v.value in LEVEL_WORDS
            ]
            if pairs and len(pairs) == len(node.keys):
                found.append(dict(pairs))
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and node.value.value in LEVEL_WORDS
        ):
            for target in node.targets:
                if (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.slice, ast.Constant)
                    and isinstance(target.slice.value, str)
                ):
                    found.append({target.slice.value: str(node.value.value)})
    return found


def _fake_checked_permissions() -> list[dict[str, str]]:
    """The permission each FakeGitHub handler checks (``_authorise(request, "x", "read")``)."""
    found = []
    checkers = {"_authorise", "_admin_repo", "_environment", "_may"}
    for node in ast.walk(ast.parse(FAKE.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in checkers
        ):
            words = [a.value for a in node.args if isinstance(a, ast.Constant)]
            if len(words) >= 2 and words[1] in LEVEL_WORDS:
                found.append({str(words[0]): str(words[1])})
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "_admin_get"
        ):
            words = [a.value for a in node.args if isinstance(a, ast.Constant)]
            found.append({str(words[1]): "read"})
    return found


def _kinds_access() -> list[dict[str, str]]:
    """What each kind's access() (and follow-up) asks for on its example."""
    found: list[dict[str, str]] = []
    for settings in (Settings(),):
        for action, kind in REGISTRY.items():
            report = check_file(ROOT / EXAMPLES_DIR / f"{action}.yml")
            assert report.model is not None, action
            try:
                access = kind.access(report.model, _settings_only(settings))
            except AttributeError:  # needs live services (its notes say what it needs)
                access = Access()
            follow_up = _follow_up_access(kind, report, settings)
            for grant in (access, follow_up):
                found.append(dict(grant.github_permissions))
                found += [dict(extra.permissions) for extra in grant.github_extra]
    return [f for f in found if f]


def test_the_scan_finds_permission_literals_and_single_grants() -> None:
    source = 'a = {"contents": "write", "metadata": "read"}\nb["workflows"] = "write"\nc = {"x": 1}'
    assert sorted(map(str, _literal_permission_maps(source))) == [
        "{'contents': 'write', 'metadata': 'read'}",
        "{'workflows': 'write'}",
    ]


def test_every_permission_asked_for_is_one_an_installation_token_can_have(
    subset: dict[str, Any],
) -> None:
    token_request = subset["paths"]["/app/installations/{installation_id}/access_tokens"]["post"]
    schema = token_request["requestBody"]["content"]["application/json"]["schema"]
    reference = schema["properties"]["permissions"]["$ref"].rsplit("/", 1)[-1]
    documented = {
        name: tuple(spec.get("enum", ()))
        for name, spec in subset["components"]["schemas"][reference]["properties"].items()
    }
    in_code = [
        permissions
        for module in sorted(PACKAGE.rglob("*.py"))
        for permissions in _literal_permission_maps(module.read_text())
    ]
    from_kinds = _kinds_access()
    asked = [
        *in_code,
        *from_kinds,
        dict(IMPLICIT_PERMISSIONS),
        dict(DEFAULT_APP_PERMISSIONS),
        *_fake_checked_permissions(),
    ]
    wrong = sorted(
        {
            f"{name}: {level}"
            for permissions in asked
            for name, level in permissions.items()
            if level not in documented.get(name, ())
        }
    )
    assert not wrong, (
        "not permissions (or levels) of GitHub's installation tokens "
        f"(components/schemas/{reference}): {wrong}"
    )
    # The scan of the code's literals sees every permission the examples ask for.
    scanned = {(n, v) for p in in_code for n, v in p.items()}
    assert {(n, v) for p in from_kinds for n, v in p.items()} <= scanned
    names = {name for permissions in asked for name in permissions}
    print(f"\nGitHub contract: {len(names)} permission names checked: {', '.join(sorted(names))}")
