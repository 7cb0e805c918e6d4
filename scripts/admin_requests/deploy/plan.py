"""Compare the desired state with the live repository, as a list of changes to make.

Reads only; each ``Change`` carries the call that makes it (``apply``), or None when a
person must act (a stored secret: this tool never deletes one, it says which and how).
Settings are compared on the keys the files declare; branch policies, variables,
rulesets' rules and bypass actors are compared as exact sets, because an extra entry
there widens who can do what.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from admin_requests.deploy.spec import EnvironmentSpec, RepositorySpec
from admin_requests.services.http import HttpClient

_MISSING = object()


@dataclass(frozen=True)
class Change:
    resource: str  # "repository settings", "ruleset 'protect main'"...
    summary: str  # what differs, current -> desired
    apply: Callable[[], None] | None  # None: a person must do it (see summary)
    # Not a difference: something GitHub does not show this token, so it was not
    # compared. Said every time, never counted as drift, never "none".
    unseen: bool = False

    def describe(self) -> str:
        if self.unseen:
            return f"{self.resource}: {self.summary} [not visible to this token]"
        how = "" if self.apply else " [by hand]"
        return f"{self.resource}: {self.summary}{how}"


class RepositoryApi:
    """The REST calls for one repository, through the shared HttpClient (timeouts, retries)."""

    def __init__(self, http: HttpClient, repository: str) -> None:
        owner, _, name = repository.partition("/")
        self.repository = repository
        self.prefix = f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"
        self.http = http

    def get(self, suffix: str = "", *, missing_ok: bool = False, listing: bool = False) -> Any:
        # One page of 100 is enough for everything read here (rulesets, variables...).
        params = {"per_page": "100"} if listing else None
        return self.http.json("GET", self.prefix + suffix, params=params, missing_ok=missing_ok)

    def send(self, method: str, suffix: str, body: Any = None) -> None:
        self.http.request(method, self.prefix + suffix, json=body)


def _show(value: Any) -> str:
    if value is _MISSING:
        return "(unset)"
    return json.dumps(value, sort_keys=True)


def differences(desired: Any, actual: Any, path: str = "") -> list[str]:
    """``path: actual -> desired`` for each declared value that differs (mappings: subset)."""
    if isinstance(desired, dict) and isinstance(actual, dict):
        found = []
        for key, value in desired.items():
            found += differences(value, actual.get(key, _MISSING), f"{path}.{key}".lstrip("."))
        return found
    if desired != actual:
        return [f"{path or 'value'}: {_show(actual)} -> {_show(desired)}"]
    return []


def plan_changes(api: RepositoryApi, spec: RepositorySpec) -> list[Change]:
    changes = _settings(api, spec)
    changes += _actions(api, spec)
    changes += _repository_secrets(api)
    for ruleset in spec.rulesets:
        changes += _ruleset(api, ruleset)
    for environment in spec.environments:
        changes += _environment(api, environment)
    for label in spec.labels:
        changes += _label(api, label)
    return changes


def _settings(api: RepositoryApi, spec: RepositorySpec) -> list[Change]:
    if not spec.repository:
        return []
    found = differences(spec.repository, api.get())
    if not found:
        return []
    body = dict(spec.repository)
    return [Change("repository settings", "; ".join(found), lambda: api.send("PATCH", "", body))]


ACTIONS_ENDPOINTS = {
    # (the file's key, the endpoint, the method that sets it), in the order they apply:
    # selected actions can only be set once allowed_actions is 'selected'.
    "permissions": ("/actions/permissions", "PUT"),
    "selected_actions": ("/actions/permissions/selected-actions", "PUT"),
    "workflow_permissions": ("/actions/permissions/workflow", "PUT"),
    "oidc_subject": ("/actions/oidc/customization/sub", "PUT"),
}


def _actions(api: RepositoryApi, spec: RepositorySpec) -> list[Change]:
    changes = []
    for key, (suffix, method) in ACTIONS_ENDPOINTS.items():
        desired = spec.actions.get(key)
        if desired is None:
            continue
        current = api.get(suffix)
        if key == "oidc_subject" and desired.get("use_default") and current.get("use_default"):
            continue  # include_claim_keys means nothing while the default is used
        found = differences(desired, current)
        if found:
            body = dict(desired)
            changes.append(
                Change(
                    f"actions {key.replace('_', ' ')}",
                    "; ".join(found),
                    functools.partial(api.send, method, suffix, body),
                )
            )
    return changes


def _repository_secrets(api: RepositoryApi) -> list[Change]:
    listed = api.get("/actions/secrets", listing=True)
    return [
        Change(
            "repository secrets",
            f"{secret['name']!r} is stored, but this repository holds no secrets: move what "
            f"it is for into the vault, then `gh secret delete {secret['name']} --repo "
            f"{api.repository}`",
            None,
        )
        for secret in listed.get("secrets", [])
    ]


def _rules_by_type(rules: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(rule["type"]): dict(rule.get("parameters") or {}) for rule in rules}


def _ruleset(api: RepositoryApi, desired: dict[str, Any]) -> list[Change]:
    name = desired["name"]
    resource = f"ruleset {name!r}"
    listed = api.get("/rulesets", listing=True)
    match = next((r for r in listed if r.get("name") == name), None)
    body = {"target": "branch", "conditions": {}, "rules": [], "bypass_actors": [], **desired}
    if match is None:
        return [Change(resource, "create", lambda: api.send("POST", "/rulesets", body))]
    current = api.get(f"/rulesets/{match['id']}")
    found = differences(
        {k: body[k] for k in ("target", "enforcement", "conditions") if k in body}, current
    )
    want, have = _rules_by_type(body["rules"]), _rules_by_type(current.get("rules", []))
    if set(want) != set(have):
        found.append(f"rules: {_show(sorted(have))} -> {_show(sorted(want))}")
    for rule, parameters in want.items():
        if rule in have:
            found += differences(parameters, have[rule], f"rules.{rule}")
    unseen = []
    if "bypass_actors" not in current:
        # GitHub leaves bypass_actors out for callers who cannot write the ruleset
        # (a read-only token): unknown, which is not the same as none.
        unseen.append(
            Change(
                resource,
                "bypass_actors not compared: GitHub shows them only to a token that can "
                "write the ruleset (administration: write); check them with such a token",
                None,
                unseen=True,
            )
        )
    else:
        actors = current["bypass_actors"]
        if _actor_set(actors) != _actor_set(body["bypass_actors"]):
            found.append(f"bypass_actors: {_show(actors)} -> {_show(body['bypass_actors'])}")
    if not found:
        return unseen
    number = match["id"]
    return [
        Change(resource, "; ".join(found), lambda: api.send("PUT", f"/rulesets/{number}", body)),
        *unseen,
    ]


def _actor_set(actors: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {
        (str(a.get("actor_type")), str(a.get("actor_id")), str(a.get("bypass_mode", "always")))
        for a in actors
    }


def _environment_settings(current: dict[str, Any]) -> dict[str, Any]:
    """GitHub's environment answer in the shape of the file's settings."""
    rules = {rule.get("type"): rule for rule in current.get("protection_rules", [])}
    reviewers = rules.get("required_reviewers", {})
    return {
        "wait_timer": rules.get("wait_timer", {}).get("wait_timer", 0),
        "prevent_self_review": reviewers.get("prevent_self_review", False),
        "reviewers": [
            {"type": r.get("type"), "id": (r.get("reviewer") or {}).get("id")}
            for r in reviewers.get("reviewers", [])
        ],
        "deployment_branch_policy": current.get("deployment_branch_policy"),
    }


def _environment(api: RepositoryApi, env: EnvironmentSpec) -> list[Change]:
    base = f"/environments/{quote(env.name, safe='')}"
    resource = f"environment {env.name!r}"
    changes = []
    current = api.get(base, missing_ok=True)
    found = (
        ["create"] if current is None else differences(env.settings, _environment_settings(current))
    )
    if found:
        body = dict(env.settings)
        changes.append(Change(resource, "; ".join(found), lambda: api.send("PUT", base, body)))
    changes += _branch_policies(api, env, base, resource, exists=current is not None)
    changes += _variables(api, env, base, resource, exists=current is not None)
    if current is not None:
        secrets = api.get(f"{base}/secrets", listing=True).get("secrets", [])
        changes += [
            Change(
                resource,
                f"secret {s['name']!r} is stored, but the environment holds no secrets: move "
                f"it into the vault, then `gh secret delete {s['name']} --env {env.name} "
                f"--repo {api.repository}`",
                None,
            )
            for s in secrets
        ]
    return changes


def _branch_policies(
    api: RepositoryApi, env: EnvironmentSpec, base: str, resource: str, *, exists: bool
) -> list[Change]:
    suffix = f"{base}/deployment-branch-policies"
    listed = api.get(suffix, missing_ok=True, listing=True) if exists else None
    current = {
        (p["name"], p.get("type", "branch")): p["id"]
        for p in (listed or {}).get("branch_policies", [])
    }
    wanted = {(p["name"], p["type"]) for p in env.branch_policies}
    changes = [
        Change(
            resource,
            f"deployment branch policy {name!r} ({kind}): create",
            functools.partial(api.send, "POST", suffix, {"name": name, "type": kind}),
        )
        for name, kind in sorted(wanted - set(current))
    ]
    changes += [
        Change(
            resource,
            f"deployment branch policy {name!r} ({kind}) is not declared: delete",
            functools.partial(api.send, "DELETE", f"{suffix}/{number}"),
        )
        for (name, kind), number in sorted(current.items())
        if (name, kind) not in wanted
    ]
    return changes


def _variables(
    api: RepositoryApi, env: EnvironmentSpec, base: str, resource: str, *, exists: bool
) -> list[Change]:
    suffix = f"{base}/variables"
    listed = api.get(suffix, missing_ok=True, listing=True) if exists else None
    current = {v["name"]: v["value"] for v in (listed or {}).get("variables", [])}
    changes = []
    for name, value in sorted(env.variables.items()):
        if name not in current:
            changes.append(
                Change(
                    resource,
                    f"variable {name}: create = {value!r}",
                    functools.partial(api.send, "POST", suffix, {"name": name, "value": value}),
                )
            )
        elif current[name] != value:
            changes.append(
                Change(
                    resource,
                    f"variable {name}: {current[name]!r} -> {value!r}",
                    functools.partial(
                        api.send,
                        "PATCH",
                        f"{suffix}/{quote(name, safe='')}",
                        {"name": name, "value": value},
                    ),
                )
            )
    changes += [
        Change(
            resource,
            f"variable {name} is not declared: delete",
            functools.partial(api.send, "DELETE", f"{suffix}/{quote(name, safe='')}"),
        )
        for name in sorted(set(current) - set(env.variables))
    ]
    return changes


def _label(api: RepositoryApi, label: dict[str, str]) -> list[Change]:
    name = label["name"]
    resource = f"label {name!r}"
    current = api.get(f"/labels/{quote(name, safe='')}", missing_ok=True)
    if current is None:
        return [Change(resource, "create", lambda: api.send("POST", "/labels", label))]
    body: dict[str, str] = {k: v for k, v in label.items() if k != "name"}
    found = differences(body, current)
    # GitHub finds labels by name whatever the case; one spelled otherwise is renamed,
    # and a rename is `new_name` (a `name` in the body is not a field of this call).
    live_name = str(current.get("name", name))
    if live_name != name:
        found.insert(0, f"name: {_show(live_name)} -> {_show(name)}")
        body["new_name"] = name
    if not found:
        return []
    return [
        Change(
            resource,
            "; ".join(found),
            lambda: api.send("PATCH", f"/labels/{quote(live_name, safe='')}", body),
        )
    ]
