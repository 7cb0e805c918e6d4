"""The desired state of the repository, read from deploy/github/*.yml.

``repository.yml`` holds what every deployment shares; ``backend-<name>.yml`` what
depends on the credentials backend (the OIDC subject template, the environment's
variables). The backend file is merged over the base (mappings merged key by key,
lists replaced), then ``${name}`` placeholders are filled from ``--set name=value``.

An environment's ``variables`` must all have a value. Its ``optional_variables`` are
the ones a workflow reads but most deployments leave unset (``VAULT_NAMESPACE``): a
placeholder with no ``--set`` is empty there, and an empty one is not set at all (the
environment's variables are the exact set, so ``apply`` removes it, and ``check``
reports it, when it is there).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from admin_requests.errors import DeployConfigError

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parents[3] / "deploy" / "github"
BASE_FILE = "repository.yml"
BACKENDS = ("vault", "aws")
TOP_LEVEL = frozenset({"repository", "actions", "rulesets", "environments", "labels"})
ACTIONS_KEYS = frozenset(
    {"permissions", "selected_actions", "workflow_permissions", "oidc_subject"}
)
ENVIRONMENT_KEYS = frozenset(
    {
        "wait_timer",
        "reviewers",
        "prevent_self_review",
        "deployment_branch_policy",
        "branch_policies",
        "variables",
        "optional_variables",
    }
)


@dataclass(frozen=True)
class EnvironmentSpec:
    name: str
    settings: dict[str, Any]  # wait_timer, reviewers, prevent_self_review, branch policy
    branch_policies: list[dict[str, str]]
    variables: dict[str, str]


@dataclass(frozen=True)
class RepositorySpec:
    """What the repository must look like; each part is checked, then applied if needed."""

    repository: dict[str, Any] = field(default_factory=dict)
    actions: dict[str, dict[str, Any]] = field(default_factory=dict)
    rulesets: list[dict[str, Any]] = field(default_factory=list)
    environments: list[EnvironmentSpec] = field(default_factory=list)
    labels: list[dict[str, str]] = field(default_factory=list)


def merge(base: Any, overlay: Any) -> Any:
    """``overlay`` over ``base``: mappings merged key by key, anything else replaced."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        merged = dict(base)
        for key, value in overlay.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    return overlay


def _fill(value: Any, values: Mapping[str, str], missing: set[str]) -> Any:
    if isinstance(value, str):
        template = Template(value)
        missing.update(name for name in template.get_identifiers() if name not in values)
        return template.safe_substitute(values)
    if isinstance(value, list):
        return [_fill(v, values, missing) for v in value]
    if isinstance(value, dict):
        return {str(k): _fill(v, values, missing) for k, v in value.items()}
    return value


def _read(path: Path) -> dict[str, Any]:
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise DeployConfigError(f"cannot read {str(path)!r}: {error.strerror}") from None
    except YAMLError as error:
        raise DeployConfigError(f"{str(path)!r} is not valid YAML: {error}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DeployConfigError(f"{str(path)!r} must be a mapping of sections")
    unknown = sorted(set(data) - TOP_LEVEL)
    if unknown:
        raise DeployConfigError(
            f"{str(path)!r}: unknown sections {unknown}; allowed: {sorted(TOP_LEVEL)}"
        )
    return data


def _mapping(data: Any, where: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DeployConfigError(f"{where} must be a mapping, not {type(data).__name__}")
    return data


def _list(data: Any, where: str) -> list[Any]:
    if data is None:
        return []
    if not isinstance(data, list):
        raise DeployConfigError(f"{where} must be a list, not {type(data).__name__}")
    return data


def _bypass_actor(actor: Any, ruleset: str) -> dict[str, Any]:
    """A bypass actor as GitHub takes it: ``actor_id`` is a number, also when it came
    from a ``--set`` value (``${github_app_id}``)."""
    where = f"ruleset {ruleset!r}: bypass actor {actor!r}"
    found: dict[str, Any] = _mapping(actor, where)
    actor_id = found.get("actor_id")
    if isinstance(actor_id, str):
        if not actor_id.strip().isdigit():
            raise DeployConfigError(
                f"{where}: actor_id must be a number (an App's id is on its settings page, "
                "e.g. --set github_app_id=123456)"
            )
        found = {**found, "actor_id": int(actor_id)}
    return found


def _optional_variables(
    data: dict[str, Any], values: Mapping[str, str]
) -> dict[str, dict[str, str]]:
    """Each environment's ``optional_variables``, taken out of ``data`` and filled with
    "" for a placeholder that has no value; only those that are not empty."""
    found: dict[str, dict[str, str]] = {}
    for name, env in _mapping(data.get("environments"), "environments").items():
        if not isinstance(env, dict) or "optional_variables" not in env:
            continue
        where = f"environments.{name}.optional_variables"
        declared = _mapping(env.pop("optional_variables"), where)
        filled = {}
        for key, value in declared.items():
            template = Template(str(value if value is not None else ""))
            defaults = {n: "" for n in template.get_identifiers()}
            text = template.safe_substitute({**defaults, **values}).strip()
            if text:
                filled[str(key)] = text
        found[str(name)] = filled
    return found


def load_spec(config_dir: Path, backend: str, values: Mapping[str, str]) -> RepositorySpec:
    """Read, merge and fill the files; DeployConfigError says what is wrong and where."""
    if backend not in BACKENDS:
        raise DeployConfigError(f"--backend {backend!r}: use one of {', '.join(BACKENDS)}")
    data = merge(_read(config_dir / BASE_FILE), _read(config_dir / f"backend-{backend}.yml"))
    optional = _optional_variables(data, values)
    missing: set[str] = set()
    data = _fill(data, values, missing)
    if missing:
        flags = " ".join(f"--set {name}=..." for name in sorted(missing))
        raise DeployConfigError(f"the configuration needs values for {sorted(missing)}: {flags}")
    actions = _mapping(data.get("actions"), "actions")
    unknown = sorted(set(actions) - ACTIONS_KEYS)
    if unknown:
        raise DeployConfigError(f"actions: unknown keys {unknown}; allowed {sorted(ACTIONS_KEYS)}")
    rulesets = _list(data.get("rulesets"), "rulesets")
    for number, ruleset in enumerate(rulesets, 1):
        if not isinstance(ruleset, dict) or not ruleset.get("name"):
            raise DeployConfigError(f"rulesets entry {number} needs a 'name'")
        ruleset["bypass_actors"] = [
            _bypass_actor(actor, ruleset["name"])
            for actor in _list(ruleset.get("bypass_actors"), f"rulesets.{ruleset['name']}")
        ]
    environments = []
    for name, env in _mapping(data.get("environments"), "environments").items():
        env = _mapping(env, f"environments.{name}")
        unknown = sorted(set(env) - ENVIRONMENT_KEYS)
        if unknown:
            raise DeployConfigError(
                f"environments.{name}: unknown keys {unknown}; allowed {sorted(ENVIRONMENT_KEYS)}"
            )
        variables = _mapping(env.get("variables"), f"environments.{name}.variables")
        empty = sorted(k for k, v in variables.items() if not str(v or "").strip())
        if empty:
            raise DeployConfigError(
                f"environments.{name}.variables: {empty} must not be empty; give a value "
                "with --set, or move a variable most deployments leave unset to "
                "optional_variables"
            )
        both = sorted(set(variables) & set(optional.get(name, {})))
        if both:
            raise DeployConfigError(
                f"environments.{name}: {both} are in both variables and optional_variables"
            )
        variables = {**variables, **optional.get(name, {})}
        environments.append(
            EnvironmentSpec(
                name=name,
                settings={
                    "wait_timer": int(env.get("wait_timer", 0)),
                    "prevent_self_review": bool(env.get("prevent_self_review", False)),
                    "reviewers": _list(env.get("reviewers"), f"environments.{name}.reviewers"),
                    "deployment_branch_policy": env.get("deployment_branch_policy"),
                },
                branch_policies=[
                    {"name": str(p["name"]), "type": str(p.get("type", "branch"))}
                    for p in _list(
                        env.get("branch_policies"), f"environments.{name}.branch_policies"
                    )
                ],
                variables={str(k).upper(): str(v) for k, v in variables.items()},
            )
        )
    labels = _list(data.get("labels"), "labels")
    for label in labels:
        if not isinstance(label, dict) or not label.get("name"):
            raise DeployConfigError("each entry of 'labels' needs a 'name'")
    return RepositorySpec(
        repository=_mapping(data.get("repository"), "repository"),
        actions={k: _mapping(v, f"actions.{k}") for k, v in actions.items()},
        rulesets=rulesets,
        environments=environments,
        labels=[{k: str(v) for k, v in label.items()} for label in labels],
    )
