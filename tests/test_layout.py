"""The tests mirror the package: one folder per package folder, one test module per module.

For every package folder ``scripts/admin_requests/<dir>/`` (``kinds/<kind>/`` included)
there is a test package ``tests/<dir>/``, and for every product module ``<dir>/<name>.py``
there is ``tests/<dir>/test_<name>.py``. A package's ``__init__.py`` with logic in it is
tested by ``tests/<dir>/test_<package>.py`` (``kinds/archive/__init__.py`` ->
``tests/kinds/archive/test_archive.py``).

Exempt by rule, because there is nothing of their own to test:

- ``__main__.py`` (it only calls the CLI's ``main``);
- an ``__init__.py`` that is empty or only re-exports: nothing but a docstring, imports
  and ``__all__``/``__version__`` assignments.

Any other module without its mirrored test module is listed in ``UNMIRRORED`` with the
reason: the test module that covers it today and why it is not split. An entry is
stale, and fails, once its module is gone, exempt by rule, or has its mirrored test
module. Test modules that
mirror no module (``test_corpus.py``, ``test_browser.py``...) are allowed: they test a
behaviour across modules.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "scripts" / "admin_requests"
TESTS = ROOT / "tests"


# Module (relative to scripts/admin_requests/) -> why it has no mirrored test module.
UNMIRRORED: dict[str, str] = {
    # -- queue: a record of the runner's ---------------------------------------------------
    "queue/job.py": (
        "a dataclass the runner keeps per due request while it takes turns (dispatch.py); "
        "tests/queue/test_big_requests.py runs it through the runner, chunk by chunk"
    ),
    # -- cli: the resync's two commands, one test of both -----------------------------------
    "cli/resync_diff.py": (
        "covered by tests/cli/test_resync.py, which runs resync-diff and then resync on its "
        "output, as the workflow's two jobs do; resync/diff.py has its own tests"
    ),
    # -- creation: wiring exercised by every run of the engine ---------------------------
    "creation/credentials.py": (
        "a Protocol and its broker adapter; every test in tests/creation/test_engine.py and "
        "test_recovery.py runs the engine through BrokerCredentials on the real broker"
    ),
    "creation/ci.py": (
        "the Azure registrar: tests/creation/test_engine.py::"
        "test_a_recipe_on_azure_gets_its_pipeline_and_its_token_there runs it against "
        "FakeAzure through the broker's federated token"
    ),
    "creation/plan.py": (
        "the dry run: tests/cli/test_create_feedstocks.py::"
        "test_the_dry_run_shows_each_recipe_and_calls_nothing runs it through the command"
    ),
    # -- credentials: a Protocol --------------------------------------------------------
    "credentials/backend.py": (
        "a Protocol with no behaviour of its own; each backend that implements it is tested: "
        "tests/credentials/test_env.py, tests/credentials/test_vault_backend.py and "
        "tests/credentials/test_aws.py, and tests/credentials/test_factories.py builds each"
    ),
    # -- kinds: the CI-resource family's sibling kinds -----------------------------------
    **{
        f"kinds/{kind}/__init__.py": (
            "covered by tests/kinds/test_ci_resources.py, which runs every CI-resource kind: "
            f"{kind} is one CiResourceKind(...) line naming its provider in the family's "
            "model (kinds/ci_resources.py), so its behaviour is the family's; the grant test "
            "there is parametrized over it"
        )
        for kind in ("blacksmith", "cirrus_runners", "depot", "namespace", "travis")
    },
}

_TEST_MODULE = re.compile(r"\btests/[\w/]+\.py\b")


def _is_only_reexports(source: str) -> bool:
    """A docstring, imports and dunder assignments (``__all__``, ``__version__``) only."""
    for statement in ast.parse(source).body:
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # the docstring
        if isinstance(statement, ast.Import | ast.ImportFrom):
            continue
        if isinstance(statement, ast.Assign) and all(
            isinstance(target, ast.Name) and target.id.startswith("__")
            for target in statement.targets
        ):
            continue
        return False
    return True


def exempt_by_rule(module: Path) -> bool:
    if module.name == "__main__.py":
        return True
    return module.name == "__init__.py" and _is_only_reexports(module.read_text())


def mirrored_test(relative: Path) -> Path:
    """``status/model.py`` -> ``tests/status/test_model.py``; a package's ``__init__.py``
    -> ``tests/<dir>/test_<package>.py``."""
    name = relative.parent.name if relative.name == "__init__.py" else relative.stem
    return TESTS / relative.parent / f"test_{name}.py"


def product_modules(package: Path = PACKAGE) -> list[Path]:
    return sorted(
        p.relative_to(package) for p in package.rglob("*.py") if "__pycache__" not in p.parts
    )


def package_folders(package: Path = PACKAGE) -> list[Path]:
    return sorted({module.parent for module in product_modules(package)})


def test_every_module_has_its_test_module_or_a_reason() -> None:
    missing = []
    for relative in product_modules():
        key = relative.as_posix()
        if exempt_by_rule(PACKAGE / relative) or key in UNMIRRORED:
            continue
        if not mirrored_test(relative).is_file():
            missing.append(
                f"scripts/admin_requests/{key} has no test module: write "
                f"{mirrored_test(relative).relative_to(ROOT)}, or add {key!r} to UNMIRRORED "
                "in tests/test_layout.py with the test module that covers it and why it is "
                "not split"
            )
    assert not missing, "\n".join(missing)


def test_every_package_folder_has_its_test_package() -> None:
    """Test module names repeat across folders (tests/status/test_cli.py and
    tests/deploy/test_cli.py), which pytest allows only inside packages."""
    missing = []
    for folder in package_folders():
        modules = [m for m in product_modules() if m.parent == folder]
        if all(m.as_posix() in UNMIRRORED for m in modules):
            continue  # nothing to hold yet: each module says where it is tested
        if not (TESTS / folder / "__init__.py").is_file():
            target = (TESTS / folder).relative_to(ROOT)
            missing.append(
                f"scripts/admin_requests/{folder.as_posix() or '.'}/ has no test package: "
                f"create {target}/ with an __init__.py, or list each of its modules in "
                "UNMIRRORED in tests/test_layout.py with a reason"
            )
    assert not missing, "\n".join(missing)


def test_no_stale_or_unexplained_exemptions() -> None:
    stale = []
    for key, reason in sorted(UNMIRRORED.items()):
        module = PACKAGE / key
        if not module.is_file():
            stale.append(f"UNMIRRORED[{key!r}]: scripts/admin_requests/{key} no longer exists")
        elif exempt_by_rule(module):
            stale.append(f"UNMIRRORED[{key!r}]: the module is now exempt by rule (re-exports)")
        elif mirrored_test(Path(key)).is_file():
            stale.append(
                f"UNMIRRORED[{key!r}]: {mirrored_test(Path(key)).relative_to(ROOT)} exists now"
            )
        else:
            named = _TEST_MODULE.findall(reason)
            if not named:
                stale.append(f"UNMIRRORED[{key!r}]: the reason names no test module that covers it")
            stale += [
                f"UNMIRRORED[{key!r}]: the reason names {path}, which does not exist"
                for path in named
                if not (ROOT / path).is_file()
            ]
    assert not stale, (
        "\n".join(stale) + "\nRemove or correct these entries in tests/test_layout.py."
    )


# -- the rules themselves, on a package made for the purpose ----------------------------


@pytest.mark.parametrize(
    ("source", "exempt"),
    [
        ("", True),
        ('"""Docs."""\nfrom __future__ import annotations\n', True),
        ("from .a import A\nfrom .b import B\n__all__ = ['A', 'B']\n", True),
        ('__version__ = "0.1.0"\n', True),
        ("from .a import A\nDEFAULT = A()\n", False),
        ("def main() -> None:\n    pass\n", False),
    ],
)
def test_only_empty_or_reexporting_init_files_are_exempt(
    tmp_path: Path, source: str, exempt: bool
) -> None:
    (tmp_path / "__init__.py").write_text(source)
    assert exempt_by_rule(tmp_path / "__init__.py") is exempt
    (tmp_path / "module.py").write_text(source)
    assert not exempt_by_rule(tmp_path / "module.py")


def test_the_mirrored_names() -> None:
    assert mirrored_test(Path("status/model.py")) == TESTS / "status" / "test_model.py"
    assert mirrored_test(Path("kinds/archive/__init__.py")) == (
        TESTS / "kinds" / "archive" / "test_archive.py"
    )
    assert mirrored_test(Path("access.py")) == TESTS / "test_access.py"


def test_folders_are_found_with_their_modules(tmp_path: Path) -> None:
    for path in ("__init__.py", "a.py", "sub/__init__.py", "sub/deeper/b.py"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("")
    (tmp_path / "sub" / "__pycache__").mkdir()
    (tmp_path / "sub" / "__pycache__" / "a.cpython-311.py").write_text("")
    assert [p.as_posix() for p in package_folders(tmp_path)] == [".", "sub", "sub/deeper"]
    assert len(product_modules(tmp_path)) == 4
