"""GitHub's published REST description, as the fake GitHub checks every call against it.

``tests/data/openapi/github-subset.json`` holds the operations admin-requests uses
(listed in ``github-operations.txt`` beside it; regenerated from ``@octokit/openapi``
by ``tests/contract/regenerate_openapi_subset.py``). ``FakeGitHub`` asks this module,
for every call it serves:

- is ``METHOD path`` one of those operations, and are the query parameters its own?
- does the JSON body validate against the operation's request schema?
- does the fake's answer validate against the response schema for its status?

A miss is a *violation*, kept in ``CONTRACT`` (every fake in the process) and in the
fake's ``contract_violations``; ``tests/conftest.py`` fails the test that caused one,
so no call any test makes can drift from the description unnoticed.

How strictly: object schemas that list ``properties`` take no other keys (GitHub's
description rarely says ``additionalProperties: false``, but a field it does not
document is a field the real API does not take or send); requests must have every
``required`` field; responses need not (a fake answers the fields the project reads,
a subset of GitHub's objects), but each field they have must be documented and of the
documented type. An error a route does not document is checked against GitHub's
generic error shapes (``basic-error``, ``validation-error`` for 422); a success status
a route does not document is a violation.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import referencing
import referencing.jsonschema
from openapi_schema_validator import OAS30Validator

DATA = Path(__file__).resolve().parents[1] / "data" / "openapi"
SUBSET = DATA / "github-subset.json"
OPERATIONS = DATA / "github-operations.txt"
METHODS = ("get", "put", "post", "patch", "delete")
# Path parameters that span several segments when they end the template.
MULTI_SEGMENT = ("path", "ref")
REQUEST_URI = "urn:github-subset:request"
RESPONSE_URI = "urn:github-subset:response"


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    data: dict[str, Any]
    regex: re.Pattern[str]
    literal: int  # characters outside parameters: the most literal template wins

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"

    def pointer(self, *parts: str) -> str:
        """A JSON pointer into this operation (``~`` and ``/`` escaped)."""
        escaped = [p.replace("~", "~0").replace("/", "~1") for p in (self.template, *parts)]
        return "#/paths/" + "/".join(escaped)


def _template_regex(template: str) -> tuple[re.Pattern[str], int]:
    parts = re.split(r"(\{\w+\})", template)
    regex = ""
    literal = 0
    for index, part in enumerate(parts):
        name = part[1:-1] if part.startswith("{") else None
        if name is None:
            regex += re.escape(part)
            literal += len(part)
        elif name in MULTI_SEGMENT and index == len(parts) - 2 and parts[-1] == "":
            regex += r"[^?#]+"
        else:
            regex += r"[^/?#]+"
    return re.compile(f"^{regex}$"), literal


def _strict(value: Any, *, in_all_of: bool = False, names: bool = False) -> Any:
    """Objects that list ``properties`` take no other keys (unless they say otherwise)."""
    if isinstance(value, list):
        return [_strict(item, in_all_of=in_all_of) for item in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, item in value.items():
        if names:
            out[key] = _strict(item)
        elif key == "allOf":
            out[key] = [_strict(member, in_all_of=True) for member in item]
        else:
            out[key] = _strict(item, names=key in ("properties", "patternProperties"))
    if (
        not names
        and not in_all_of
        and isinstance(out.get("properties"), dict)
        and "additionalProperties" not in out
    ):
        out["additionalProperties"] = False
    return out


def _nullable_enums(value: Any, *, names: bool = False) -> Any:
    """``nullable`` admits null into an ``enum`` too, as GitHub answers (``state_reason``)."""
    if isinstance(value, list):
        return [_nullable_enums(item) for item in value]
    if not isinstance(value, dict):
        return value
    out = {
        key: _nullable_enums(item, names=key in ("properties", "patternProperties"))
        for key, item in value.items()
    }
    if not names and out.get("nullable") is True and isinstance(out.get("enum"), list):
        out["enum"] = [*out["enum"], *([] if None in out["enum"] else [None])]
    return out


def _without_required(value: Any, *, names: bool = False) -> Any:
    """Answers need not have every field; ``oneOf`` becomes ``anyOf``, since without
    ``required`` its members can no longer be told apart."""
    if isinstance(value, list):
        return [_without_required(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        ("anyOf" if key == "oneOf" and not names else key): _without_required(
            item, names=key in ("properties", "patternProperties")
        )
        for key, item in value.items()
        if names or not (key == "required" and isinstance(item, list))
        # GitHub's contents answer discriminates on "type", which a folder's listing (an
        # array) does not have: the validator would refuse every listing. anyOf decides.
        if names or key != "discriminator"
    }


class Description:
    """The subset, ready to match paths and validate bodies."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.operations: dict[tuple[str, str], Operation] = {}
        for template, item in document["paths"].items():
            regex, literal = _template_regex(template)
            for method in METHODS:
                if method in item:
                    self.operations[(method.upper(), template)] = Operation(
                        method.upper(), template, item[method], regex, literal
                    )
        self._by_specificity = sorted(self.operations.values(), key=lambda o: -o.literal)
        strict = _nullable_enums(_strict(document))
        spec = referencing.jsonschema.DRAFT4
        self._registry: referencing.Registry[Any] = referencing.Registry().with_resources(
            [
                (
                    REQUEST_URI,
                    referencing.Resource.from_contents(strict, default_specification=spec),
                ),
                (
                    RESPONSE_URI,
                    referencing.Resource.from_contents(
                        _without_required(strict), default_specification=spec
                    ),
                ),
            ]
        )
        self._lock = threading.Lock()

    @classmethod
    @functools.cache
    def load(cls) -> Description:
        return cls(json.loads(SUBSET.read_text()))

    def match(self, method: str, path: str) -> Operation | None:
        for operation in self._by_specificity:
            if operation.method == method and operation.regex.match(path):
                return operation
        return None

    def knows_path(self, path: str) -> bool:
        return any(operation.regex.match(path) for operation in self._by_specificity)

    @functools.cache  # noqa: B019 (one Description per process, kept for the session)
    def _validator(self, uri: str, pointer: str) -> Any:
        return OAS30Validator({"$ref": f"{uri}{pointer}"}, registry=self._registry)

    def _errors(self, uri: str, pointer: str, value: Any) -> list[str]:
        with self._lock:  # the fake serves calls on several threads
            validator = self._validator(uri, pointer)
            found = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        return [
            f"{'/'.join(str(p) for p in error.absolute_path) or '(body)'}: {error.message[:200]}"
            for error in found[:5]
        ]

    def query_problems(self, operation: Operation, query: dict[str, str]) -> list[str]:
        declared = {
            parameter["name"]: parameter
            for parameter in (self._resolve(p) for p in operation.data.get("parameters", []))
            if parameter.get("in") == "query"
        }
        problems = []
        for name, value in sorted(query.items()):
            parameter = declared.get(name)
            if parameter is None:
                problems.append(f"query parameter {name!r} is not documented")
                continue
            enum = parameter.get("schema", {}).get("enum")
            if enum is not None and value not in [str(v) for v in enum]:
                problems.append(f"query parameter {name}={value!r} is not one of {enum}")
        return problems

    def request_problems(self, operation: Operation, body: bytes) -> tuple[bool, list[str]]:
        """(whether a schema was checked, what is wrong with the body)."""
        request_body = self._resolve(operation.data.get("requestBody"))
        if not request_body:
            return False, []
        if not body:
            return False, ["the body is required"] if request_body.get("required") else []
        if "application/json" not in request_body.get("content", {}):
            return False, []
        try:
            value = json.loads(body)
        except ValueError:
            return False, ["the body is not JSON"]
        pointer = operation.pointer(
            operation.method.lower(), "requestBody", "content", "application/json", "schema"
        )
        if "$ref" in operation.data["requestBody"]:
            pointer = operation.data["requestBody"]["$ref"] + "/content/application~1json/schema"
        return True, self._errors(REQUEST_URI, pointer, value)

    def response_problems(
        self, operation: Operation, status: int, body: Any
    ) -> tuple[bool, list[str]]:
        """(whether a schema was checked, what is wrong with the answer)."""
        responses = operation.data.get("responses", {})
        documented = responses.get(str(status))
        if documented is None:
            if status < 400:
                return False, [f"status {status} is not documented for {operation.key}"]
            name = "validation-error" if status == 422 else "basic-error"
            if body is None:
                return False, []
            return True, self._errors(RESPONSE_URI, f"#/components/schemas/{name}", body)
        pointer = operation.pointer(operation.method.lower(), "responses", str(status))
        if "$ref" in documented:
            pointer = documented["$ref"]
        documented = self._resolve(documented)
        content = documented.get("content", {})
        schema_type = "application/json" if "application/json" in content else None
        if schema_type is None or "schema" not in content[schema_type]:
            if status >= 400 and body is not None:  # documented in words only
                return self.response_problems(_UNDOCUMENTED, status, body)
            if body not in (None, b""):
                return False, [f"status {status} of {operation.key} is documented without a body"]
            return False, []
        escaped = schema_type.replace("~", "~0").replace("/", "~1")
        return True, self._errors(RESPONSE_URI, f"{pointer}/content/{escaped}/schema", body)

    def _resolve(self, value: Any) -> Any:
        while isinstance(value, dict) and "$ref" in value:
            node: Any = self.document
            for part in value["$ref"].lstrip("#/").split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
            value = node
        return value


_UNDOCUMENTED = Operation("", "", {"responses": {}}, re.compile("^$"), 0)


@dataclass
class ContractRecord:
    """What the fakes of this process checked, and what did not hold (see the docstring)."""

    calls: int = 0
    bodies: int = 0
    responses: int = 0
    operations: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "calls": self.calls,
                "bodies": self.bodies,
                "responses": self.responses,
                "operations": dict(self.operations),
            }


CONTRACT = ContractRecord()


def check_exchange(
    method: str,
    path: str,
    query: dict[str, str],
    body: bytes,
    status: int,
    answer: Any,
) -> list[str]:
    """Check one call and the fake's answer; record and return the violations."""
    description = Description.load()
    operation = description.match(method, path)
    problems: list[str] = []
    bodies = responses = 0
    if operation is None:
        problems.append("no such operation in GitHub's description (github-operations.txt)")
    else:
        problems += description.query_problems(operation, query)
        checked, found = description.request_problems(operation, body)
        bodies += checked
        problems += [f"request {p}" for p in found]
        checked, found = description.response_problems(operation, status, answer)
        responses += checked
        problems += [f"answer {status}: {p}" for p in found]
    found_violations = [f"{method} {path} -> {status}: {p}" for p in problems]
    with CONTRACT.lock:
        CONTRACT.calls += 1
        CONTRACT.bodies += bodies
        CONTRACT.responses += responses
        if operation is not None:
            CONTRACT.operations[operation.key] += 1
        CONTRACT.violations += found_violations
    return found_violations


def operation_list() -> list[tuple[str, str]]:
    """github-operations.txt as (METHOD, template) pairs."""
    pairs = []
    for line in OPERATIONS.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            method, _, template = line.partition(" ")
            pairs.append((method, template.strip()))
    return pairs
