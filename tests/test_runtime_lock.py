"""requirements/runtime.txt is exactly the package's runtime dependencies, hashed.

Every job that holds a credential installs this lock and nothing else, with
``--require-hashes`` (dev.py ``setup --runtime``, actions/setup ``lock: runtime``). So it
must be complete (pip is told ``--no-deps``: a dependency missing here is an
ImportError in production), minimal (anything more runs where the credentials are),
at the development lock's versions (what the tests ran), and hashed.

The dependency closure is walked through the metadata of the packages installed in this
test environment, which requirements/lock.txt pins at the same versions (checked here).
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ROOT / "requirements" / "runtime.txt"
LOCK = ROOT / "requirements" / "lock.txt"
# The extras of the package that the runtime lock includes: the aws credentials backend.
EXTRAS = ("aws",)
# Installs the package itself (--no-build-isolation); the build backend pyproject names.
BUILD_BACKEND = "setuptools"

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def _runtime_entries() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes), from pip-compile's format (continued lines)."""
    entries: dict[str, tuple[str, list[str]]] = {}
    text = RUNTIME.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _PIN.match(line)
        assert match, f"not a pinned requirement: {line!r}"
        hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})\b", line)
        entries[canonicalize_name(match.group(1))] = (match.group(2), hashes)
    return entries


def _lock_versions() -> dict[str, str]:
    versions: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        match = _PIN.match(line)
        if match:
            versions[canonicalize_name(match.group(1))] = match.group(2)
    return versions


def _declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(text) for text in project["dependencies"]]
    for extra in EXTRAS:
        wanted += [Requirement(text) for text in project["optional-dependencies"][extra]]
    return wanted


def _closure(roots: list[Requirement]) -> set[str]:
    """Every distribution the roots need on this platform, following installed metadata.

    Extras count (PyGithub asks for ``pyjwt[crypto]``, which is what brings cryptography).
    """
    seen: set[tuple[str, str]] = set()
    pending: list[tuple[Requirement, str]] = [(requirement, "") for requirement in roots]
    while pending:
        requirement, for_extra = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": for_extra}):
            continue
        name = canonicalize_name(requirement.name)
        for extra in ("", *sorted(requirement.extras)):
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            for text in metadata.requires(requirement.name) or []:
                pending.append((Requirement(text), extra))
    return {name for name, _ in seen}


def test_the_runtime_lock_is_exactly_the_runtime_dependency_closure() -> None:
    expected = _closure(_declared()) | {BUILD_BACKEND}
    locked = set(_runtime_entries())
    assert locked - expected == set(), "in the runtime lock but not needed at runtime"
    assert expected - locked == set(), "needed at runtime but missing from the runtime lock"


def test_every_runtime_entry_is_hashed_and_at_the_development_locks_version() -> None:
    lock = _lock_versions()
    for name, (version, hashes) in _runtime_entries().items():
        assert hashes, f"{name} has no --hash: --require-hashes would refuse the lock"
        assert lock.get(name) == version, (
            f"{name}=={version} in requirements/runtime.txt but {lock.get(name)!r} in "
            "requirements/lock.txt: regenerate the runtime lock (its header says how)"
        )


def test_the_runtime_lock_satisfies_pyprojects_version_ranges() -> None:
    entries = _runtime_entries()
    for requirement in _declared():
        version, _ = entries[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(version, prereleases=True), (requirement, version)


def test_the_development_lock_holds_much_more_than_the_runtime_lock() -> None:
    # The figure docs/security.md quotes: what a privileged job no longer installs.
    assert len(_lock_versions()) > 4 * len(_runtime_entries())
