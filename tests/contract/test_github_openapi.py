"""The project against GitHub's published REST description (tests/data/openapi/).

What this module checks once, statically:

- the subset holds exactly the operations of ``github-operations.txt``, with every
  component they reference and no other, from the pinned ``@octokit/openapi``;
- every route the fake GitHub serves is one of those operations, with that method;
- every call GitHubClient makes, read from services/github.py's source (so a call
  no test reaches is checked too), is one of those operations, with that method;
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


CLIENT = PACKAGE / "services" / "github.py"


def _template_text(node: ast.expr) -> str | None:
    """A URL piece as a sample path: literals kept, each interpolation one segment 'x'
    (the API root, ``self.settings.github_api_url``, dropped); None when not a literal."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        text = ""
        for value in node.values:
            if isinstance(value, ast.Constant):
                text += str(value.value)
            elif "github_api_url" not in ast.unparse(value):
                text += "x"
        return text
    return None


def _client_path(node: ast.expr, names: dict[str, ast.expr]) -> str | None:
    """``self._url(repo, suffix)`` is the repository's URL plus the suffix."""
    node = names.get(node.id, node) if isinstance(node, ast.Name) else node
    if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "_url":
        suffix = node.args[1] if len(node.args) > 1 else ast.Constant("")
        suffix = names.get(suffix.id, suffix) if isinstance(suffix, ast.Name) else suffix
        text = _template_text(suffix)
        return None if text is None else "/repos/owner/repo" + text
    return _template_text(node)


def _alternatives(function: ast.AST) -> list[dict[str, ast.expr]]:
    """Each way ``verb, suffix = (...) if ... else (...)`` in the function binds its names."""
    ways: list[dict[str, ast.expr]] = [{}]
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Tuple)
            and isinstance(node.value, ast.IfExp)
        ):
            names = [t.id for t in node.targets[0].elts if isinstance(t, ast.Name)]
            ways = [
                {**way, **dict(zip(names, branch.elts, strict=True))}
                for way in ways
                for branch in (node.value.body, node.value.orelse)
                if isinstance(branch, ast.Tuple)
            ]
    return ways


def client_calls(source: str) -> tuple[list[tuple[int, str, str]], list[str]]:
    """Every (line, method, sample path) GitHubClient sends, read from its source, and
    the calls whose method or path could not be read (to be made readable)."""
    calls, unread = [], []
    tree = ast.parse(source)
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef) or function.name in {"_raw", "_pages"}:
            continue
        for node in ast.walk(function):
            kind = getattr(getattr(node, "func", None), "attr", "")
            if not isinstance(node, ast.Call) or kind not in {"_raw", "_pages"}:
                continue
            for names in _alternatives(function):
                verb: ast.expr = ast.Constant("GET") if kind == "_pages" else node.args[0]
                verb = names.get(verb.id, verb) if isinstance(verb, ast.Name) else verb
                path = _client_path(node.args[1], names)
                if isinstance(verb, ast.Constant) and path is not None:
                    calls.append((node.lineno, str(verb.value), path))
                else:
                    unread.append(f"line {node.lineno}: {ast.unparse(node)}")
    return sorted(set(calls)), sorted(set(unread))


def test_the_call_scan_reads_literals_interpolations_and_alternatives() -> None:
    source = (
        "def f(self, repo, n):\n"
        "    self._raw('GET', self._url(repo, f'/issues/{n}'))\n"
        "    verb, suffix = ('POST', '/rulesets') if n is None else ('PUT', f'/rulesets/{n}')\n"
        "    self._raw(verb, self._url(repo, suffix))\n"
        "    self._pages('list', f'{self.settings.github_api_url}/orgs/{n}/repos', {})\n"
        "    self._raw(method, url)\n"
    )
    calls, unread = client_calls(source)
    assert {(m, p) for _, m, p in calls} == {
        ("GET", "/repos/owner/repo/issues/x"),
        ("POST", "/repos/owner/repo/rulesets"),
        ("PUT", "/repos/owner/repo/rulesets/x"),
        ("GET", "/orgs/x/repos"),
    }
    assert unread == ["line 6: self._raw(method, url)"]


def test_every_call_the_github_client_makes_is_an_operation_with_that_method() -> None:
    """Read from services/github.py itself, so a call no test reaches is checked too."""
    description = openapi.Description.load()
    calls, unread = client_calls(CLIENT.read_text())
    assert not unread, (
        "services/github.py makes calls whose method or path this test cannot read; "
        "write the method and the path as literals (or teach client_calls): " + "; ".join(unread)
    )
    missing = [
        f"line {line}: {method} {path}"
        for line, method, path in calls
        if description.match(method, path) is None
    ]
    assert not missing, (
        "services/github.py calls what GitHub's description (or github-operations.txt) "
        "does not have: " + ", ".join(missing)
    )
    operations = {description.match(m, p).key for _, m, p in calls}  # type: ignore[union-attr]
    print(
        f"\nGitHub contract: {len(calls)} calls in the client, "
        f"{len(operations)} distinct operations, all in the description"
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
