"""What a feedstock's own files say: which CI providers it builds on, which outputs it
makes, and whether those outputs are registered to it.

Read through the GitHub contents API (no checkout). Both answers are best effort and
say so: recipes are Jinja templates that only conda-build can render completely, so a
name that still contains a template after the simple substitutions below is skipped
rather than guessed.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from admin_requests.kinds.add_feedstock_output import ALLOWLIST_PATH, outputs_config, sharded_path
from admin_requests.validation.names import check_package_name

if TYPE_CHECKING:
    from admin_requests.services import GitHubClient, Services

CONDA_FORGE_YML = "conda-forge.yml"
# conda-smithy's defaults when conda-forge.yml names no provider for a platform: these
# three build on Azure Pipelines, and so does every platform set to 'default' or
# 'emulated'. (Other platforms are built only when a recipe asks for them.)
AZURE_BY_DEFAULT = ("linux_64", "osx_64", "win_64")
AZURE_ALIASES = ("azure", "default", "emulated")


# -- CI providers --------------------------------------------------------------------


def ci_providers(conda_forge_yml: str | None) -> dict[str, str]:
    """Provider -> why we think the feedstock builds there (for messages)."""
    config = _safe_load(conda_forge_yml or "") if conda_forge_yml else {}
    raw = config.get("provider") if isinstance(config, dict) else None
    settings: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
    found: dict[str, str] = {}
    for platform in AZURE_BY_DEFAULT:
        if platform not in settings:
            found.setdefault("azure", f"{platform} builds on Azure unless conda-forge.yml says not")
    for platform, value in settings.items():
        for name in value if isinstance(value, list) else [value]:
            provider = "azure" if str(name) in AZURE_ALIASES else str(name)
            if provider in ("None", "null", "false", "False", ""):
                continue
            found.setdefault(provider, f"conda-forge.yml: provider.{platform}: {name}")
    return found


# -- recipe outputs ------------------------------------------------------------------

_SET = re.compile(r"""{%-?\s*set\s+(\w+)\s*=\s*["']([^"'{}%]*)["']\s*-?%}""")
_V0_VAR = re.compile(r"{{\s*(\w+)\s*(\|\s*(lower|upper)\s*)?}}")
_V1_VAR = re.compile(r"\$\{\{\s*(\w+)\s*(\|\s*(lower|upper)\s*)?}}")
_TOP_KEY = re.compile(r"^(\w+):")
_PACKAGE_NAME = re.compile(r"^\s+name:\s*(.+?)\s*$")
_OUTPUT_NAME = re.compile(r"^\s*-\s+name:\s*(.+?)\s*$")


def recipe_outputs(meta_yaml: str | None, recipe_yaml: str | None) -> list[str]:
    """The package names a recipe builds, where they can be read without conda-build."""
    if recipe_yaml is not None:
        return _v1_outputs(recipe_yaml)
    if meta_yaml is not None:
        return _v0_outputs(meta_yaml)
    return []


def _v0_outputs(text: str) -> list[str]:
    variables = dict(_SET.findall(text))
    names: list[str] = []
    section = ""
    have_package = False
    for line in text.splitlines():
        top = _TOP_KEY.match(line)
        if top:
            section = top.group(1)
            continue
        match = None
        if section == "package" and not have_package:
            match = _PACKAGE_NAME.match(line)
            have_package = match is not None
        elif section == "outputs":
            match = _OUTPUT_NAME.match(line)
        if match:
            names.append(_substitute(_V0_VAR, match.group(1), variables))
    return _valid(names)


def _v1_outputs(text: str) -> list[str]:
    data = _safe_load(text)
    if not isinstance(data, dict):
        return []
    context = data.get("context")
    variables = (
        {str(k): str(v) for k, v in context.items() if isinstance(v, str | int | float)}
        if isinstance(context, dict)
        else {}
    )
    names = []
    package = data.get("package")
    if isinstance(package, dict) and "name" in package:
        names.append(str(package["name"]))
    for output in data.get("outputs") or []:
        if isinstance(output, dict) and isinstance(output.get("package"), dict):
            names.append(str(output["package"].get("name", "")))
    return _valid([_substitute(_V1_VAR, name, variables) for name in names])


def _substitute(pattern: re.Pattern[str], value: str, variables: Mapping[str, str]) -> str:
    value = value.split(" #", 1)[0].strip().strip("'\"")

    def one(match: re.Match[str]) -> str:
        found = variables.get(match.group(1))
        if found is None:
            return match.group(0)
        return found.upper() if match.group(3) == "upper" else found

    return pattern.sub(one, value).lower()


def _valid(names: list[str]) -> list[str]:
    return list(dict.fromkeys(n for n in names if n and check_package_name(n) is None))


# -- registrations -------------------------------------------------------------------


@dataclass(frozen=True)
class Unregistered:
    output: str
    owners: tuple[str, ...]  # the feedstocks it is registered to instead (may be none)


def unregistered_outputs(services: Services, feedstock: str) -> list[Unregistered]:
    """Outputs of the feedstock's recipe that it may not upload (not registered to it).

    An output's feedstocks are, as conda-forge-metadata's ``package_to_feedstock`` (what
    the upload validation consults) makes them: every feedstock whose glob in the
    auto-registration allowlist matches the name, together with those feedstock-outputs
    lists for it. The feedstock may upload it when it is among them, even if another
    feedstock is registered too.
    """
    repo = f"{feedstock}-feedstock"
    github = services.github_for(repo)
    meta = _text(github, repo, "recipe/meta.yaml")
    # A feedstock has one or the other; most still have meta.yaml.
    names = recipe_outputs(meta, None if meta else _text(github, repo, "recipe/recipe.yaml"))
    if not names:
        return []
    outputs_repo = services.settings.feedstock_outputs_repository
    outputs = services.github_for(outputs_repo)
    config = outputs_config(services)
    allowlist = _allowlist(services)
    problems = []
    for name in names:
        by_glob = [
            other
            for other, globs in allowlist.items()
            if any(fnmatch.fnmatchcase(name, glob) for glob in globs)
        ]
        found = outputs.get_file(outputs_repo, sharded_path(name, config))
        owners = list(dict.fromkeys([*_owners(found.content if found else None), *by_glob]))
        if feedstock not in owners:
            problems.append(Unregistered(name, tuple(owners)))
    return problems


def advice(feedstock: str, problems: list[Unregistered]) -> str:
    """Plain words for the requester: which outputs, and the request that fixes it."""
    described = []
    for problem in problems:
        if problem.owners:
            owners = ", ".join(f"{o}-feedstock" for o in problem.owners)
            described.append(f"{problem.output!r} (registered to {owners})")
        else:
            described.append(f"{problem.output!r} (registered to no feedstock)")
    listed = ", ".join(p.output for p in problems)
    return (
        f"{feedstock}-feedstock builds outputs that are not registered to it: "
        f"{', '.join(described)}. Uploads of these fail whatever the token, with 'not "
        "allowed' or 'not registered': a new token does not help. Ask for them with an "
        "add_feedstock_output request (action: add_feedstock_output, "
        f"feedstock_to_output_mapping: {{{feedstock}: [{listed}]}})."
    )


def _allowlist(services: Services) -> dict[str, list[str]]:
    def read() -> dict[str, list[str]]:
        repo = services.settings.feedstock_outputs_repository
        found = services.github_for(repo).get_file(repo, ALLOWLIST_PATH)
        data = _safe_load(found.text) if found else None
        if not isinstance(data, dict):
            return {}
        return {str(k): [str(g) for g in v or []] for k, v in data.items() if isinstance(v, list)}

    return services.memo("feedstock-outputs-allowlist", read)


def _owners(content: bytes | None) -> list[str]:
    if content is None:
        return []
    try:
        data = json.loads(content)
    except ValueError:
        return []
    feedstocks = data.get("feedstocks") if isinstance(data, dict) else None
    return [str(f) for f in feedstocks] if isinstance(feedstocks, list) else []


def _text(github: GitHubClient, repo: str, path: str) -> str | None:
    found = github.get_file(repo, path)
    return found.text if found else None


def _safe_load(text: str) -> Any:
    try:
        return YAML(typ="safe", pure=True).load(text)
    except YAMLError:
        return None
