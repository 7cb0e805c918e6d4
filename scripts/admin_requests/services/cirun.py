"""Cirun's API, called the way conda-smithy's ``register-ci --with-cirun`` calls it.

conda-smithy (``conda_smithy/cirun_utils.py``) goes through cirun-py (PyPI ``cirun``,
0.30/0.31, ``cirun/client.py``), which makes these calls, each with
``Authorization: Bearer <CIRUN_API_KEY>`` and ``Content-Type: application/json``, on
``https://api.cirun.io/api/v1`` (cirun-py reads another base from ``CIRUN_API_ENDPOINT``;
so does ``Settings.cirun_api_url``):

- ``GET /repo``: the repositories Cirun knows, ``{"repos": [{"repository": "org/name",
  "active": true, "private": false}]}`` (``get_repos``);
- ``POST /repo`` ``{"repository": "org/name", "active": true}``: turn Cirun on for a
  repository (``set_repo``; conda-smithy's ``enable_cirun_for_project``). cirun-py then
  also adds the repository to the Cirun App's installation with a user token; here that
  is the installations client's job (services/installations.py), as for the other
  CI providers' Apps;
- ``GET /access-control`` with the body ``{"org": org}``: the organisation's parsed
  ``.cirun/.access.yml`` as ``{"access_yml": {"policies": [...], "access_control":
  [...]}}`` (``get_access_control``; ``get_repo_resources`` reads it so);
- ``PUT /access-control`` ``{"org": org, "repository_resource_access": [{"repository":
  name, "resources": [...], "action": "add" | "remove", "policy_args":
  {"pull_request": bool} | null, "teams", "users", "roles", "users_from_json"}]}``
  (``add_repo_to_resources`` / ``remove_repo_from_resources``). Cirun's bot then opens a
  pull request on the organisation's ``.cirun`` repository that changes ``.access.yml``
  (cirun-py 0.31's docstrings), in the format conda-forge's file shows: one policy
  ``<repo>-policy`` per repository (tests/data/cirun/access.yml).

Every write is looked up first (``access_control`` / ``repositories``) and sent only
when something is missing, so doing a grant twice is doing it once. The key is read
from the vault for one request and never logged (``repr`` leaves it out).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from admin_requests.config import Settings
from admin_requests.services.http import HttpClient, Retrier

log = logging.getLogger(__name__)


def policy_id(repo: str) -> str:
    """The id Cirun's API gives the policy it writes for ``repo`` (``<repo>-policy``)."""
    return f"{repo}-policy"


@dataclass(frozen=True)
class CirunPolicy:
    id: str
    repo: str
    pull_request: bool


@dataclass(frozen=True)
class CirunAccess:
    """Who may use which runner: the organisation's ``.access.yml`` as Cirun reports it."""

    policies: tuple[CirunPolicy, ...] = ()
    # resource -> the ids of the policies that may use it (a resource may be listed
    # twice in a hand-edited file; its lists are joined).
    resources: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def from_api(cls, data: Any) -> CirunAccess:
        """Parse ``{"access_yml": {...}}``; anything missing reads as nobody granted."""
        access = data.get("access_yml") if isinstance(data, dict) else None
        access = access if isinstance(access, dict) else {}
        policies = tuple(
            CirunPolicy(str(p["id"]), str(p.get("repo") or ""), bool(p.get("pull_request")))
            for p in access.get("policies") or []
            if isinstance(p, dict) and p.get("id")
        )
        joined: dict[str, list[str]] = {}
        for rule in access.get("access_control") or []:
            if isinstance(rule, dict) and rule.get("resource"):
                ids = joined.setdefault(str(rule["resource"]), [])
                ids += [str(p) for p in rule.get("policies") or [] if str(p) not in ids]
        return cls(policies, tuple((r, tuple(ids)) for r, ids in joined.items()))

    def policy(self, id_: str) -> CirunPolicy | None:
        return next((p for p in self.policies if p.id == id_), None)

    def policies_of(self, repo: str) -> tuple[CirunPolicy, ...]:
        """Every policy naming ``repo``: the API's ``<repo>-policy`` and any written by hand."""
        return tuple(p for p in self.policies if p.repo == repo)

    def resources_of(self, id_: str) -> list[str]:
        return [resource for resource, ids in self.resources if id_ in ids]

    def resources_for_repo(
        self, repo: str, *, without: Iterable[tuple[str, str]] = ()
    ) -> dict[str, list[str]]:
        """resource -> the policies of ``repo`` that may use it, leaving out ``without``
        ((policy id, resource) pairs about to be taken away)."""
        gone = set(without)
        ids = {p.id for p in self.policies_of(repo)}
        found: dict[str, list[str]] = {}
        for resource, listed in self.resources:
            for id_ in listed:
                if id_ in ids and (id_, resource) not in gone:
                    found.setdefault(resource, []).append(id_)
        return found


class CirunClient:
    def __init__(self, settings: Settings, token: str, *, retrier: Retrier | None = None) -> None:
        self.http = HttpClient(
            settings.cirun_api_url,
            token=token,
            auth_scheme="Bearer",
            timeout=settings.http_timeout_seconds,
            retrier=retrier,
        )

    def __repr__(self) -> str:  # never the key
        return f"CirunClient({self.http.base_url!r})"

    @staticmethod
    def policy_id(repo: str) -> str:
        return policy_id(repo)

    def repositories(self) -> dict[str, bool]:
        """``org/name`` -> whether Cirun is on for it (``get_repos``)."""
        data = self.http.json("GET", "/repo")
        repos = data.get("repos") if isinstance(data, dict) else None
        return {
            str(r["repository"]): bool(r.get("active"))
            for r in repos or []
            if isinstance(r, dict) and r.get("repository")
        }

    def set_repo(self, full_name: str, *, active: bool = True) -> None:
        """Turn Cirun on (or off) for ``org/name`` (``set_repo`` without the App part)."""
        self.http.json("POST", "/repo", json={"repository": full_name, "active": active})

    def access_control(self, org: str) -> CirunAccess:
        """The organisation's access control; empty when Cirun has none for it (404)."""
        data = self.http.json("GET", "/access-control", json={"org": org}, missing_ok=True)
        return CirunAccess.from_api(data)

    def add_repo_to_resources(
        self,
        org: str,
        repo: str,
        resources: Sequence[str],
        *,
        pull_request: bool,
        teams: Sequence[str] | None = None,
        roles: Sequence[str] | None = None,
        users: Sequence[str] | None = None,
        users_from_json: str | None = None,
    ) -> None:
        """Give ``repo``'s policy the ``resources`` (``add_repo_to_resources``).

        ``policy_args`` always carries ``pull_request``, true or false (cirun-py 0.30
        documents both): conda-smithy sends it only when true, which cannot take pull
        requests away again. Repeating the call asks for the same end state.
        """
        self._change(
            org,
            {
                "repository": repo,
                "resources": list(resources),
                "action": "add",
                "policy_args": {"pull_request": pull_request},
                # cirun-py sends None, never an empty list, for what is not asked for.
                "teams": list(teams) if teams else None,
                "users": list(users) if users else None,
                "roles": list(roles) if roles else None,
                "users_from_json": users_from_json,
            },
        )

    def remove_repo_from_resources(self, org: str, repo: str, resources: Sequence[str]) -> None:
        """Take the ``resources`` from ``repo``'s policy (``remove_repo_from_resources``)."""
        self._change(
            org,
            {
                "repository": repo,
                "resources": list(resources),
                "action": "remove",
                "policy_args": None,
                "teams": None,
                "users": None,
                "roles": None,
                "users_from_json": None,
            },
        )

    def _change(self, org: str, access: dict[str, Any]) -> None:
        self.http.json(
            "PUT", "/access-control", json={"org": org, "repository_resource_access": [access]}
        )
        log.info(
            "asked Cirun to %s %s for %s/%s",
            access["action"],
            ", ".join(access["resources"]),
            org,
            access["repository"],
        )
