"""Does the repository's OIDC subject match what the vault role binds?

A job logs in to the vault with its OIDC token, and the role (``vault/roles/*.json``)
accepts it only when the token's ``sub`` is exactly the role's ``bound_subject``. The
subject is not in the workflow: the repository's customisation makes it
(``GET /repos/{owner}/{repo}/actions/oidc/customization/sub``), and so does the
organisation, when it opts in to immutable subjects and the repository sets nothing of
its own. A change there locks processing out of the vault without any file here
changing, so ``deploy check`` works out the subject the repository now produces for the
job the role admits and compares it with the role's.

How GitHub builds ``sub`` (its OIDC reference, "Customizing the subject claims"):

- the default template, for a job that names an environment:
  ``<repo part>:environment:<name>``;
- a custom one (``use_default: false``): each of ``include_claim_keys`` as
  ``key:value``, joined with ``:``; the ``repo`` key is the repo part, ``context`` is
  ``environment:<name>`` for such a job (a ``:`` in it written ``%3A``), any other key
  the value of that claim.

The repo part is ``repo:OWNER/NAME``, or with immutable subjects a form that carries
the owner's and the repository's ids. GitHub answers it as ``sub_claim_prefix`` ("the
current sub claim prefix for this repository"); this module takes it from there, for a
custom template's ``repo`` key too (the reading of that field; GitHub documents no
other), and never spells the immutable form itself (GitHub's own texts have written it
two ways). Without ``sub_claim_prefix`` and with
``use_immutable_subject`` true the subject cannot be told, and the check says so.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

from admin_requests.deploy.plan import Change, RepositoryApi
from admin_requests.errors import DeployConfigError

SUFFIX = "/actions/oidc/customization/sub"
RESOURCE = "actions oidc subject"


@dataclass(frozen=True)
class BoundRole:
    """What one vault role admits: its subject and the claims it binds."""

    name: str
    subject: str
    claims: dict[str, tuple[str, ...]]  # claim -> the values it accepts


def bound_roles(trust_dir: Path, repository: str, ids: Mapping[str, str]) -> list[BoundRole]:
    """The roles in ``trust_dir/roles``, their placeholders filled for ``repository``.

    Only what decides the subject is read (``bound_subject``, ``bound_claims``), so the
    audience and mount names the full rendering needs are not asked for here.
    """
    values = {"repository": repository, **ids}
    roles = []
    for path in sorted((trust_dir / "roles").glob("*.json")):
        try:
            role = json.loads(path.read_text(encoding="utf-8"))["role"]
        except (OSError, ValueError, KeyError) as error:
            raise DeployConfigError(
                f"cannot read the vault role {str(path)!r} ({error}); check --trust-dir"
            ) from None
        claims = {
            str(name): tuple(
                Template(str(v)).safe_substitute(values)
                for v in (value if isinstance(value, list) else [value])
            )
            for name, value in (role.get("bound_claims") or {}).items()
        }
        subject = Template(str(role.get("bound_subject", ""))).safe_substitute(values)
        roles.append(BoundRole(path.stem, subject, claims))
    if not roles:
        raise DeployConfigError(
            f"no vault roles in {str(trust_dir / 'roles')!r}; check --trust-dir"
        )
    return roles


def produced_subjects(
    answer: Mapping[str, Any], repository: str, claims: Mapping[str, Sequence[str]]
) -> tuple[list[str], str | None]:
    """The subjects the repository's tokens get for a job with ``claims``.

    Returns them (several when a claim in the template has several admitted values,
    e.g. ``event_name``), or an empty list and why they cannot be told.
    """
    prefix = answer.get("sub_claim_prefix")
    if not isinstance(prefix, str) or not prefix:
        if answer.get("use_immutable_subject"):
            return [], (
                "the repository uses immutable subjects, and GitHub did not answer their "
                "prefix (sub_claim_prefix)"
            )
        prefix = f"repo:{repository}"
    environments = claims.get("environment") or ()
    contexts = [f"environment:{name.replace(':', '%3A')}" for name in environments]
    if answer.get("use_default", True):
        if not contexts:
            return [], "the vault role binds no environment, so the default subject varies"
        return [f"{prefix}:{context}" for context in contexts], None
    keys = answer.get("include_claim_keys") or []
    choices: list[Sequence[str]] = []
    for key in keys:
        if key == "repo":
            choices.append([prefix])
        elif key == "context":
            if not contexts:
                return [], "the template has 'context', and the vault role binds no environment"
            choices.append(contexts)
        elif claims.get(key):
            choices.append([f"{key}:{value}" for value in claims[key]])
        else:
            return [], (
                f"the template has {key!r}, a claim the vault role does not bind, so the "
                "subject changes from job to job"
            )
    if not choices:
        return [], "the template has no claim keys"
    return [":".join(parts) for parts in itertools.product(*choices)], None


def subject_changes(api: RepositoryApi, trust_dir: Path) -> list[Change]:
    """A change (by hand) for each vault role whose subject the repository does not produce."""
    found = api.get()
    ids = {
        "repository_id": str(found["id"]),
        "repository_owner_id": str(found["owner"]["id"]),
    }
    answer = api.get(SUFFIX)
    changes = []
    for role in bound_roles(trust_dir, api.repository, ids):
        subjects, unknown = produced_subjects(answer, api.repository, role.claims)
        how = (
            "see docs/deployment.md, 'The OIDC subject', for what to change (the role's "
            "bound_subject, or the repository's template)"
        )
        if unknown is not None:
            changes.append(
                Change(
                    RESOURCE,
                    f"cannot tell the subject of the jobs vault role {role.name!r} admits "
                    f"({unknown}); it binds {role.subject!r}, so its login may fail: {how}",
                    None,
                )
            )
            continue
        wrong = [subject for subject in subjects if subject != role.subject]
        if wrong:
            changes.append(
                Change(
                    RESOURCE,
                    f"the repository gives its jobs the subject {wrong[0]!r}"
                    + (f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else "")
                    + f", but vault role {role.name!r} binds {role.subject!r}, so every "
                    f"vault login fails: {how}",
                    None,
                )
            )
    return changes
