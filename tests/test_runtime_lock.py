"""requirements/runtime.txt is exactly the package's runtime dependencies, hashed.

Every job that holds a credential installs this lock and nothing else, with
``--require-hashes`` (dev.py ``setup --runtime``, actions/setup ``lock: runtime``). So it
must be complete (pip is told ``--no-deps``: a dependency missing here is an
ImportError in production), minimal (anything more runs where the credentials are),
at the development lock's versions (what the tests ran), and hashed.

The dependency closure is walked through the metadata of the packages installed in this
test environment, which requirements/lock.txt pins at the same versions (checked here).
It leaves out the dependencies named in ``UNUSED``: anaconda-client's declared ones
serve its command line, not the ``Binstar`` calls the package makes, and would bring
some 60 more distributions (anaconda-auth, keyring, pydantic, opentelemetry, grpcio...)
to where the credentials are. tests/runtime_guard.py proves the lock runs without them:
it drives every anaconda.org call with nothing importable but what the lock installs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.fakes.anaconda import FakeAnaconda

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ROOT / "requirements" / "runtime.txt"
LOCK = ROOT / "requirements" / "lock.txt"
# The extras of the package that the runtime lock includes: the aws credentials backend.
EXTRAS = ("aws",)
# Installs the package itself (--no-build-isolation); the build backend pyproject names.
BUILD_BACKEND = "setuptools"

# The generator's input (its header says how): the names the lock pins.
RUNTIME_INPUT = ROOT / "requirements" / "runtime.in"
GUARD = ROOT / "tests" / "runtime_guard.py"
# The guarded run's files on the fake anaconda.org: one to label, one to copy in.
FILE = "linux-64/foo-1.0-h0_0.conda"
STAGED = "linux-64/foo-1.0-h1_0.conda"

# Declared dependencies deliberately not installed, by the distribution that declares
# them: the modules that import them are not on the paths the package runs. A name here
# is still locked when something else needs it (python-dateutil: botocore; setuptools: the
# build backend).
# anaconda-client: its command line (typer, click), login (anaconda-auth), package and
# notebook upload and inspection (conda-package-handling, nbformat), telemetry, date
# printing: not on the paths services/anaconda.py and credentials/anaconda_token.py call
# (``Binstar`` construction, authenticate, distribution, add/remove_channel, copy,
# remove_authentication). What they do import (binstar_client/__init__.py, errors,
# mixins, utils, deprecations) is requests, requests-toolbelt, urllib3, defusedxml,
# tqdm, pyyaml, platformdirs and anaconda-cli-base: those stay.
ANACONDA_CLIENT_UNUSED = frozenset(
    {
        "anaconda-auth",
        "anaconda-opentelemetry",
        "click",
        "conda-package-handling",
        "nbformat",
        "python-dateutil",
        "pytz",
        "setuptools",
    }
)
# anaconda-cli-base: binstar_client.deprecations imports it, and its __init__ imports only
# its console (readchar, rich); its CLI and config (typer, click, pydantic, toml) are not.
ANACONDA_CLI_BASE_UNUSED = frozenset(
    {"click", "packaging", "pydantic", "pydantic-settings", "tomli", "tomlkit", "typer"}
)
# rich: anaconda-cli-base's console, live display, table and logging handler render no
# Markdown and highlight no source code (rich.markdown, rich.syntax import these).
RICH_UNUSED = frozenset({"markdown-it-py", "pygments"})
UNUSED: dict[str, frozenset[str]] = {
    "anaconda-client": ANACONDA_CLIENT_UNUSED,
    "anaconda-cli-base": ANACONDA_CLI_BASE_UNUSED,
    "rich": RICH_UNUSED,
}
# Locked, and never imported by a run (tests/runtime_guard.py records what is).
NOT_IMPORTED = {
    BUILD_BACKEND: "builds the package at install time",
    # cffi needs it to parse C declarations; PyNaCl's and cryptography's bindings come
    # compiled, so no run does.
    "pycparser": "declared by cffi, which imports it only to compile a binding",
}

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


def _requires(name: str, extra: str) -> list[Requirement]:
    """What ``name`` (with ``extra``, or none) needs on this platform, per its metadata."""
    return [
        requirement
        for requirement in map(Requirement, metadata.requires(name) or [])
        if requirement.marker is None or requirement.marker.evaluate({"extra": extra})
    ]


def _closure(roots: list[Requirement], unused: dict[str, frozenset[str]] | None = None) -> set[str]:
    """Every distribution the roots need on this platform, following installed metadata.

    Extras count (PyGithub asks for ``pyjwt[crypto]``, which is what brings cryptography).
    A dependency in ``unused[parent]`` is not followed from that parent: it is in the
    closure only when another distribution in it needs it.
    """
    unused = UNUSED if unused is None else unused
    seen: set[tuple[str, str]] = set()
    pending: list[tuple[Requirement, str]] = [
        (requirement, "")
        for requirement in roots
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""})
    ]
    while pending:
        requirement, _ = pending.pop()
        name = canonicalize_name(requirement.name)
        for extra in ("", *sorted(requirement.extras)):
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            for needed in _requires(requirement.name, extra):
                if canonicalize_name(needed.name) not in unused.get(name, ()):
                    pending.append((needed, extra))
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


def test_the_development_lock_holds_much_more_than_the_runtime_lock_as_the_docs_say() -> None:
    # What a privileged job no longer installs: docs/security.md quotes the figures.
    development, runtime = len(_lock_versions()), len(_runtime_entries())
    assert development > 4 * runtime
    everything = len(_closure(_declared(), {}) | {BUILD_BACKEND})  # UNUSED installed too
    text = " ".join((ROOT / "docs" / "security.md").read_text().split())
    for quoted in (
        f"`requirements/lock.txt` ({development} distributions",
        f"`requirements/runtime.txt` ({runtime} distributions",
        f"{everything - runtime} distributions, {everything} with them",
        f"{runtime} distributions, {runtime + 2} packages in its environment with pip and "
        f"the package, against {development + 2} in the development one",
    ):
        assert quoted in text, f"docs/security.md should say {quoted!r}"


def test_every_unused_dependency_is_one_its_distribution_declares() -> None:
    # An entry that no longer names a declared dependency is stale: remove it.
    closure = _closure(_declared())
    for parent, names in UNUSED.items():
        assert parent in closure, f"{parent} is no longer a runtime dependency: drop UNUSED's entry"
        declared = {canonicalize_name(r.name) for r in _requires(parent, "")}
        assert names - declared == set(), f"{parent} does not declare these"


def test_the_generators_input_names_exactly_what_the_lock_pins() -> None:
    names = {
        canonicalize_name(line.split("#")[0].strip())
        for line in RUNTIME_INPUT.read_text().splitlines()
        if line.split("#")[0].strip() and not line.startswith("-")
    }
    assert names == set(_runtime_entries())


def _guarded_run(fake: FakeAnaconda, allowed: set[str]) -> subprocess.CompletedProcess[str]:
    config = {
        "allowed": sorted(allowed),
        "api_url": fake.url,
        "username": "cf-machine",
        "password": "its-password",
        "org": "conda-forge",
        "file": FILE,
        "copy_from": "staging",
        "copy_file": STAGED,
        "copy_label": "cf202003",
    }
    # -P: no tests/ on sys.path (tests/queue would shadow the standard library's queue).
    # LOGLEVEL=DEBUG: anaconda-cli-base then logs through rich's handler, the most of rich
    # any run uses.
    return subprocess.run(
        [sys.executable, "-P", str(GUARD), json.dumps(config)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "LOGLEVEL": "DEBUG"},
    )


@pytest.fixture
def anaconda_org(fake_anaconda: FakeAnaconda) -> FakeAnaconda:
    fake_anaconda.add_account("cf-machine", "its-password", organisations=["conda-forge"])
    fake_anaconda.add_file("conda-forge", FILE)
    fake_anaconda.add_file("staging", STAGED, labels=["cf202003"])
    return fake_anaconda


def test_the_package_runs_with_only_what_the_runtime_lock_installs(
    anaconda_org: FakeAnaconda,
) -> None:
    """Every module imported and every anaconda.org call made, nothing else importable."""
    locked = set(_runtime_entries())
    run = _guarded_run(anaconda_org, locked)
    assert run.returncode == 0, run.stderr[-4000:]
    used = set(json.loads(run.stdout.splitlines()[-1])["used"])
    assert anaconda_org.effects == {
        "mint": 1,
        "add_label": 1,
        "remove_label": 1,
        "copy": 1,
        "remove_token": 1,
    }
    [minted] = anaconda_org.minted()
    assert minted.minted_by == "cf-machine"  # basic auth, as the privileged job mints
    assert minted.removed
    assert anaconda_org.file("conda-forge", FILE).labels == {"broken"}
    assert anaconda_org.file("conda-forge", STAGED).labels == {"main"}
    # Minimal as well: every locked distribution but the named ones is imported.
    assert locked - used == set(NOT_IMPORTED)


@pytest.mark.parametrize("missing", ["requests-toolbelt", "pyyaml", "anaconda-cli-base"])
def test_the_guard_refuses_what_the_lock_would_not_install(
    anaconda_org: FakeAnaconda, missing: str
) -> None:
    # What the test above proves rests on this: one distribution fewer and the run fails.
    run = _guarded_run(anaconda_org, set(_runtime_entries()) - {missing})
    assert run.returncode != 0
    assert f"is from {missing!r}, which requirements/runtime.txt does not install" in run.stderr
