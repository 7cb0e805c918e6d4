"""Run the privileged job's code with only requirements/runtime.txt's distributions importable.

Run as a script, in a fresh interpreter, by tests/test_runtime_lock.py::
    python -P tests/runtime_guard.py '{"allowed": [...], "api_url": ..., ...}'

(the keys: ``allowed``, ``api_url``, ``username``, ``password``, ``org``, ``file``,
``copy_from``, ``copy_file``, ``copy_label``; see ``_exercise_anaconda_org``).

It installs an import guard first (a ``sys.meta_path`` finder): any module that is not
the standard library's or admin_requests' own, and whose file does not belong to one of
the ``allowed`` distributions (the names requirements/runtime.txt pins), raises
ModuleNotFoundError, as it would in the runtime .venv, where pip installed nothing
else. Then it imports every admin_requests module and drives every anaconda.org call the
package makes (``Binstar.authenticate``, ``distribution``, ``add_channel``,
``remove_channel``, ``copy``, ``remove_authentication``) against the FakeAnaconda the
test started at ``api_url``. It prints one JSON line: the distributions the run imported.

Until the guard is in place it imports the standard library only, so nothing a run
needs is already loaded when the guard starts looking; for the same reason it imports
nothing from tests/ (the test process runs the fake).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import io
import json
import os
import pkgutil
import re
import sys
from importlib import metadata
from types import ModuleType


def _canonical(name: str) -> str:
    # packaging.utils.canonicalize_name (PEP 503), which is not ours to import here.
    return re.sub(r"[-_.]+", "-", name).lower()


def _owners() -> dict[str, str]:
    """Every installed file (absolute, normalised) -> the distribution that installed it."""
    owners: dict[str, str] = {}
    for dist in metadata.distributions():
        name = _canonical(dist.metadata["Name"])
        for file in dist.files or []:
            owners[os.path.normcase(os.path.abspath(str(dist.locate_file(file))))] = name
    return owners


class ImportGuard(importlib.abc.MetaPathFinder):
    """Refuses what the runtime .venv would not have; records which distributions were used."""

    def __init__(self, allowed: set[str]) -> None:
        self.allowed = allowed
        self.owners = _owners()
        self.used: set[str] = set()
        self.refused: list[str] = []

    def find_spec(
        self,
        fullname: str,
        path: object = None,
        target: ModuleType | None = None,
    ) -> None:
        top = fullname.partition(".")[0]
        if top in sys.stdlib_module_names or top == "admin_requests":
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)  # type: ignore[arg-type]
        if spec is None:
            return None  # not installed here either: the import fails as it would there
        if not spec.has_location:
            return None  # a namespace package (backports...): no code; its modules are checked
        owner = self.owners.get(os.path.normcase(os.path.abspath(str(spec.origin))))
        if owner in self.allowed:
            self.used.add(owner)
            return None  # let the usual finders load it
        self.refused.append(f"{fullname} ({owner or 'no distribution'})")
        raise ModuleNotFoundError(
            f"import guard: {fullname!r} is from {owner or 'no distribution'!r}, which "
            "requirements/runtime.txt does not install",
            name=fullname,
        )


def _exercise_anaconda_org(config: dict[str, str]) -> None:
    """Every anaconda.org call the package makes, as the privileged job makes them."""
    from admin_requests.config import Settings
    from admin_requests.credentials.anaconda_token import AnacondaTokens
    from admin_requests.credentials.ledger import CredentialLedger
    from admin_requests.credentials.redact import Masker, Secret
    from admin_requests.errors import ConflictError
    from admin_requests.services.anaconda import AnacondaClient

    org, basename = config["org"], config["file"]
    tokens = AnacondaTokens(
        api_url=config["api_url"],
        organisation=org,
        masker=Masker(in_actions=False),
        ledger=CredentialLedger(),
        max_age_seconds=900,
        timeout=10,
    )
    minted = tokens.mint(  # POST /authentications with basic auth
        Secret(config["username"]), Secret(config["password"]), ("api:write",), "guard.yml"
    )
    with minted:  # leaving it: DELETE /authentications (remove_authentication)
        client = AnacondaClient(
            Settings(anaconda_api_url=config["api_url"]), minted.secret.reveal()
        )
        dist = client.distribution(org, "foo", "1.0", basename)
        assert dist is not None, "the fake's file is missing"
        assert client.distribution(org, "foo", "9.9", basename) is None  # 404 -> None
        client.add_label(org, "broken", "foo", "1.0", basename)
        client.remove_label(org, "main", "foo", "1.0", basename)
        staged, staging, label = config["copy_file"], config["copy_from"], config["copy_label"]
        copy = {"to_owner": org, "from_label": label}
        client.copy(staging, "foo", "1.0", staged, **copy)
        try:
            client.copy(staging, "foo", "1.0", staged, **copy)  # it is there now: 409
        except ConflictError:
            pass  # binstar_client's Conflict, translated: the error path runs too
        else:
            raise AssertionError("copying onto itself was not a conflict")


def main() -> int:
    if os.path.dirname(os.path.abspath(__file__)) in map(os.path.abspath, sys.path):
        # tests/ on sys.path: tests/queue would shadow the standard library's queue.
        sys.exit("run this with python -P (no script directory on sys.path)")
    config = json.loads(sys.argv[1])
    guard = ImportGuard({_canonical(name) for name in config["allowed"]})
    sys.meta_path.insert(0, guard)
    # Every module of the package: the privileged jobs run cli (run, status, check),
    # queue, services, credentials, kinds, and what those import.
    import admin_requests

    for module in pkgutil.walk_packages(admin_requests.__path__, "admin_requests."):
        if not module.name.endswith(".__main__"):  # it would run the CLI on our argv
            importlib.import_module(module.name)
    _exercise_anaconda_org(config)
    from admin_requests.cli import main as cli_main

    shown = io.StringIO()
    try:
        with contextlib.redirect_stdout(shown):
            cli_main(["--help"])  # argparse, as the jobs' first call parses its command
    except SystemExit as done:
        if done.code != 0:
            raise AssertionError(f"admin-requests --help exited with {done.code!r}") from None
    assert shown.getvalue().startswith("usage: admin-requests"), shown.getvalue()
    print(json.dumps({"used": sorted(guard.used), "refused": guard.refused}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
