"""Regenerate tests/data/openapi/github-subset.json from GitHub's published description.

The contract tests (tests/contract/test_github_openapi.py, and the check every FakeGitHub
makes on each call it serves) read a small subset of GitHub's REST API description: the
operations listed in tests/data/openapi/github-operations.txt, with every component
they reference. This script builds that subset from a pinned ``@octokit/openapi``
release (its ``generated/api.github.com.json``)::

    .venv/bin/python tests/contract/regenerate_openapi_subset.py
    .venv/bin/python tests/contract/regenerate_openapi_subset.py --from path/to/api.github.com.json

Without ``--from`` it runs ``npm pack @octokit/openapi@VERSION`` in a temporary folder
and checks the tarball against ``INTEGRITY`` (npm's sha512). To move to a newer release,
change both constants (a mismatch prints the integrity it found) and regenerate.
Examples are left out (they are large and never validated); everything else of the
chosen operations is kept as published.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

VERSION = "23.0.2"
INTEGRITY = (  # npm's dist.integrity of that release
    "sha512-pV8M7L9GY23AybNvTmo2nyjmpmnt6+2sRE/"
    "tqr0ZLQcPS4lnw7u5eZGNmwRNkBC3D7gZXbFx5AHzLUVRBXGDhg=="
)
MEMBER = "package/generated/api.github.com.json"

DATA = Path(__file__).resolve().parents[1] / "data" / "openapi"
OPERATIONS = DATA / "github-operations.txt"
SUBSET = DATA / "github-subset.json"

METHODS = ("get", "put", "post", "patch", "delete")
_REF = re.compile(r"^#/components/(\w+)/(.+)$")


def read_operations(path: Path = OPERATIONS) -> list[tuple[str, str]]:
    """The (METHOD, path template) pairs of the list, in file order."""
    found = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        method, _, template = line.partition(" ")
        if method.lower() not in METHODS or not template.startswith("/"):
            raise SystemExit(f"{path}:{number}: write 'METHOD /path/{{template}}', not {line!r}")
        found.append((method.upper(), template.strip()))
    return found


def _without_examples(value: Any, *, names: bool = False) -> Any:
    """``value`` without ``example``/``examples`` keys (but a property may be so named)."""
    if isinstance(value, dict):
        return {
            key: _without_examples(item, names=key in ("properties", "patternProperties"))
            for key, item in value.items()
            if names or key not in ("example", "examples")
        }
    if isinstance(value, list):
        return [_without_examples(item) for item in value]
    return value


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["$ref"]] if isinstance(value.get("$ref"), str) else []
        for item in value.values():
            found += _refs(item)
        return found
    if isinstance(value, list):
        return [ref for item in value for ref in _refs(item)]
    return []


def build_subset(
    description: dict[str, Any], operations: list[tuple[str, str]], source: str
) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    missing = []
    for method, template in operations:
        item = description["paths"].get(template, {})
        operation = item.get(method.lower())
        if operation is None:
            missing.append(f"{method} {template}")
            continue
        paths.setdefault(template, {})[method.lower()] = _without_examples(operation)
    if missing:
        raise SystemExit(
            "not in GitHub's description (check the spelling of the template):\n  "
            + "\n  ".join(missing)
        )
    components: dict[str, dict[str, Any]] = {}
    pending = _refs(paths)
    while pending:
        ref = pending.pop()
        match = _REF.match(ref)
        if match is None:
            raise SystemExit(f"a $ref outside #/components: {ref!r}")
        kind, name = match.groups()
        if name in components.get(kind, {}):
            continue
        component = _without_examples(description["components"][kind][name])
        components.setdefault(kind, {})[name] = component
        pending += _refs(component)
    return {
        "openapi": description["openapi"],
        "info": {
            "title": "The part of GitHub's REST API description admin-requests uses",
            "version": description["info"]["version"],
            "x-source": source,
            "x-regenerate": "python tests/contract/regenerate_openapi_subset.py",
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            kind: dict(sorted(found.items())) for kind, found in sorted(components.items())
        },
    }


def _npm_description(version: str, integrity: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            ["npm", "pack", f"@octokit/openapi@{version}", "--pack-destination", folder],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        (tarball,) = Path(folder).glob("*.tgz")
        digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if f"sha512-{digest}" != integrity:
            raise SystemExit(
                f"@octokit/openapi@{version} has integrity sha512-{digest}, not {integrity}: "
                "update INTEGRITY in this script together with VERSION"
            )
        with tarfile.open(tarball) as archive:
            member = archive.extractfile(MEMBER)
            if member is None:
                raise SystemExit(f"{tarball.name} has no {MEMBER}")
            data: dict[str, Any] = json.load(member)
            return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        help="an api.github.com.json already on disk (default: npm pack the pinned version)",
    )
    parser.add_argument("--output", type=Path, default=SUBSET)
    args = parser.parse_args(argv)
    if args.source is not None:
        description = json.loads(args.source.read_text())
    else:
        description = _npm_description(VERSION, INTEGRITY)
    if description["info"]["version"] != VERSION:
        raise SystemExit(
            f"the description is version {description['info']['version']}, not {VERSION}: "
            "change VERSION and INTEGRITY together"
        )
    subset = build_subset(
        description, read_operations(), f"npm @octokit/openapi@{VERSION} {INTEGRITY} {MEMBER}"
    )
    args.output.write_text(json.dumps(subset, indent=1, ensure_ascii=False) + "\n")
    count = sum(len(item) for item in subset["paths"].values())
    size = args.output.stat().st_size
    print(f"wrote {args.output} ({count} operations, {size // 1024} KiB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
