"""A stateful fake of Cirun's API, for the calls cirun-py makes (PyPI ``cirun`` 0.31,
``cirun/client.py``), as conda-smithy's ``cirun_utils.py`` uses them::

    with FakeCirun() as cirun:
        cirun.add_key("cirun-key")
        cirun.seed_access(REAL_EXCERPT)          # an .access.yml text (tests/data/cirun/)
        ...
        assert cirun.resources_of("foo-feedstock-policy") == ["cirun-openstack-gpu-large"]

Routes, under ``/api/v1`` (cirun-py's ``API_ENDPOINT``; ``fake.api_url`` is the base to
configure), each with ``Authorization: Bearer <key>``; an unknown key gets 401
``{"message": "This API Key is expired or non-existent."}`` (cirun-py's integration
test quotes it):

- ``GET /repo``: ``{"repos": [{"repository": "org/name", "active", "private"}]}``;
- ``POST /repo`` ``{"repository", "active"}``: ``{"name", "active"}`` (cirun-py's README);
- ``GET /access-control`` with the JSON body ``{"org"}``: ``{"access_yml": {...}}``, the
  organisation's ``.access.yml`` parsed (404 when it has none);
- ``PUT /access-control`` ``{"org", "repository_resource_access": [{"repository",
  "resources", "action": "add"|"remove", "policy_args", "teams", "users", "roles",
  "users_from_json"}]}``.

What a change does, as conda-forge's real file shows the API's work (tests/data/cirun/):
``add`` writes the policy ``<repository>-policy`` (keys in the file's order: ``id``,
``repo``, ``teams``, ``roles``, ``users``, ``pull_request``, ``users_from_json``, each
given one only) or updates the one there, and lists it under each resource (a new
resource gets an entry at the end); ``remove`` takes ``<repository>-policy`` from the
resources (``"*"``: all of them) and drops its definition once no resource lists it.
Policies with other ids (written by hand, ``<repo>-windows-policy``) are never touched.
Which id the real service removes is not published: the fake assumes its own.

The real service does not change the file itself: its bot opens a pull request on
``<org>/.cirun`` that core merges. By default the fake applies each change at once (the
state after that merge); with ``review=True`` changes wait in ``pending`` until
``merge()``, and ``GET /access-control`` shows the merged state only.

Effects (``fake.effects``), counted only when state changes: ``set_repo``,
``access_add``, ``access_remove``; ``propose`` for each change waiting for review.
"""

from __future__ import annotations

import copy
from typing import Any

from ruamel.yaml import YAML

from .server import FakeServer, HttpError, Request, Response

API = "/api/v1"
UNKNOWN_KEY = "This API Key is expired or non-existent."
POLICY_KEYS = ("id", "repo", "teams", "roles", "users", "pull_request", "users_from_json")
CONSTRAINTS = ("teams", "roles", "users", "users_from_json")


class FakeCirun(FakeServer):
    def __init__(self, *, org: str = "conda-forge", review: bool = False, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.org = org
        self.review = review
        self.keys: set[str] = set()
        self.repos: dict[str, bool] = {}  # "org/name" -> active
        # org -> the parsed .access.yml ({"version", "policies", "access_control"})
        self.access: dict[str, dict[str, Any]] = {}
        # Changes waiting for core's merge (review=True): (org, one repository_resource_access).
        self.pending: list[tuple[str, dict[str, Any]]] = []
        self.route("GET", f"{API}/repo", self._get_repos)
        self.route("POST", f"{API}/repo", self._set_repo)
        self.route("GET", f"{API}/access-control", self._get_access)
        self.route("PUT", f"{API}/access-control", self._put_access)

    @property
    def api_url(self) -> str:
        return self.url + API

    # -- seeding and reading ----------------------------------------------------------

    def add_key(self, key: str) -> str:
        with self.lock:
            self.keys.add(key)
        return key

    def revoke_key(self, key: str) -> None:
        with self.lock:
            self.keys.discard(key)

    def seed_access(self, text: str, *, org: str | None = None) -> None:
        """The organisation's ``.access.yml``, from its text."""
        data = YAML(typ="safe", pure=True).load(text) or {}
        data.setdefault("version", 1)
        data["policies"] = list(data.get("policies") or [])
        data["access_control"] = list(data.get("access_control") or [])
        with self.lock:
            self.access[org or self.org] = data

    def add_repo(self, full_name: str, *, active: bool = True) -> None:
        with self.lock:
            self.repos[full_name] = active

    def access_yml(self, org: str | None = None) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.access.get(org or self.org, {}))

    def policy(self, id_: str, org: str | None = None) -> dict[str, Any] | None:
        policies = self.access_yml(org).get("policies", [])
        return next((p for p in policies if p.get("id") == id_), None)

    def policy_ids(self, org: str | None = None) -> list[str]:
        return [str(p["id"]) for p in self.access_yml(org).get("policies", [])]

    def resources_of(self, id_: str, org: str | None = None) -> list[str]:
        rules = self.access_yml(org).get("access_control", [])
        return [str(r["resource"]) for r in rules if id_ in (r.get("policies") or [])]

    def merge(self) -> None:
        """Core merges the pull requests Cirun's bot opened (review=True)."""
        with self.lock:
            for org, change in self.pending:
                self._apply(org, change)
            self.pending.clear()

    # -- the API ----------------------------------------------------------------------

    def _authorise(self, request: Request) -> None:
        scheme, _, key = (request.header("authorization") or "").partition(" ")
        if scheme != "Bearer" or key not in self.keys:
            raise HttpError(401, UNKNOWN_KEY)

    def _get_repos(self, request: Request) -> Response:
        self._authorise(request)
        repos = [
            {"repository": name, "active": active, "private": False}
            for name, active in sorted(self.repos.items())
        ]
        return Response(200, {"repos": repos})

    def _set_repo(self, request: Request) -> Response:
        self._authorise(request)
        body = request.json()
        name, active = body.get("repository"), body.get("active", True)
        if not isinstance(name, str) or name.count("/") != 1 or not isinstance(active, bool):
            raise HttpError(400, "'repository' must be 'owner/name' and 'active' a boolean")
        if self.repos.get(name) != active:
            self.repos[name] = active
            self.effects["set_repo"] += 1
        return Response(200, {"name": name, "active": active})

    def _get_access(self, request: Request) -> Response:
        self._authorise(request)
        org = request.json().get("org")
        if org not in self.access:
            raise HttpError(404, f"No access control found for {org!r}")
        return Response(200, {"access_yml": copy.deepcopy(self.access[org])})

    def _put_access(self, request: Request) -> Response:
        self._authorise(request)
        body = request.json()
        org, changes = body.get("org"), body.get("repository_resource_access")
        if not isinstance(org, str) or not isinstance(changes, list):
            raise HttpError(400, "'org' and a 'repository_resource_access' list are required")
        for change in changes:
            _check_change(change)
        for change in changes:
            if self.review:
                self.pending.append((org, copy.deepcopy(change)))
                self.effects["propose"] += 1
            else:
                self._apply(org, change)
        return Response(200, {"message": "Access control update requested"})

    # -- what a change does -----------------------------------------------------------

    def _apply(self, org: str, change: dict[str, Any]) -> None:
        access = self.access.setdefault(org, {"version": 1, "policies": [], "access_control": []})
        before = copy.deepcopy(access)
        if change["action"] == "add":
            _add(access, change)
            effect = "access_add"
        else:
            _remove(access, change)
            effect = "access_remove"
        if access != before:
            self.effects[effect] += 1


def _check_change(change: Any) -> None:
    if not isinstance(change, dict):
        raise HttpError(400, "each repository_resource_access entry must be an object")
    resources = change.get("resources")
    if not isinstance(change.get("repository"), str) or "/" in change["repository"]:
        raise HttpError(400, "'repository' must be the repository's name, without its owner")
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        raise HttpError(400, "'resources' must be a list of resource names")
    if change.get("action") not in ("add", "remove"):
        raise HttpError(400, "'action' must be 'add' or 'remove'")
    args = change.get("policy_args")
    if args is not None and not (isinstance(args, dict) and set(args) <= {"pull_request"}):
        raise HttpError(400, "'policy_args' supports only 'pull_request'")


def _add(access: dict[str, Any], change: dict[str, Any]) -> None:
    repo = change["repository"]
    id_ = f"{repo}-policy"
    policies = access["policies"]
    policy = next((p for p in policies if p.get("id") == id_), None)
    args = change.get("policy_args") or {}
    given = {k: change[k] for k in CONSTRAINTS if change.get(k) is not None}
    if policy is None:
        fields: dict[str, Any] = {"id": id_, "repo": repo, **given}
        fields["pull_request"] = bool(args.get("pull_request", False))
        policies.append({k: fields[k] for k in POLICY_KEYS if k in fields})
    else:
        merged = {**policy, **given}
        if "pull_request" in args:
            merged["pull_request"] = bool(args["pull_request"])
        ordered = [k for k in POLICY_KEYS if k in merged] + [
            k for k in merged if k not in POLICY_KEYS
        ]
        policy.clear()
        policy.update({k: merged[k] for k in ordered})
    for resource in change["resources"]:
        rules = [r for r in access["access_control"] if r.get("resource") == resource]
        if not rules:
            access["access_control"].append({"resource": resource, "policies": [id_]})
        elif not any(id_ in (r.get("policies") or []) for r in rules):
            rules[0]["policies"] = [*(rules[0].get("policies") or []), id_]


def _remove(access: dict[str, Any], change: dict[str, Any]) -> None:
    id_ = f"{change['repository']}-policy"
    every = "*" in change["resources"]
    for rule in access["access_control"]:
        if every or rule.get("resource") in change["resources"]:
            rule["policies"] = [p for p in rule.get("policies") or [] if p != id_]
    if not any(id_ in (r.get("policies") or []) for r in access["access_control"]):
        access["policies"] = [p for p in access["policies"] if p.get("id") != id_]
