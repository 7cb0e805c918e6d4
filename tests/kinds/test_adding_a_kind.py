"""Adding a kind takes what docs/getting-started.md says, and nothing more.

In a copy of the repository, a minimal kind (``ping``) is added exactly as the guide's
"Add a request kind" steps say: one product folder, one test folder, one registry line,
then ``python3 dev.py generate``. The completeness tests (every kind has its folder, its
files, its hooks, its mirrored tests, its reference entry; the generated copies match)
then pass in the copy. They fail before the last two steps, so they do notice.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

KIND_MODULE = '''"""``ping``: confirm feedstock repositories exist (the guide's minimal kind)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from ruamel.yaml.nodes import Node

from admin_requests.access import Access
from admin_requests.kinds.contract import (
    Item,
    Outcome,
    RequestKind,
    RequestModel,
    check_each,
    feedstock_list,
)
from admin_requests.kinds.execution import feedstocks_exist, guarded
from admin_requests.kinds.layout import EntryLayout, ListEntries
from admin_requests.validation.fields import Decoder, Text
from admin_requests.validation.names import check_feedstock_name
from admin_requests.validation.problems import Problem

if TYPE_CHECKING:
    from admin_requests.services import Services

ENTRIES = ListEntries("feedstocks")


@dataclass(frozen=True)
class PingRequest(RequestModel):
    feedstocks: tuple[Text, ...]


@dataclass(frozen=True)
class PingParams:
    repository: str


class PingKind(RequestKind[PingRequest, PingParams]):
    model_type: ClassVar[type[RequestModel]] = PingRequest
    required_keys: ClassVar[tuple[str, ...]] = ("feedstocks",)
    item_entries: ClassVar[EntryLayout | None] = ENTRIES

    def build(self, fields: dict[str, Node], decoder: Decoder) -> PingRequest | None:
        if "feedstocks" not in fields:
            return None
        feedstocks = feedstock_list(decoder, fields["feedstocks"])
        if feedstocks is None:
            return None
        return PingRequest(decoder.path, self.action, tuple(feedstocks))

    def validate(self, model: PingRequest) -> list[Problem]:
        return check_each(model.path, model.feedstocks, check_feedstock_name, "bad-feedstock-name")

    def plan(self, model: PingRequest) -> list[Item[PingParams]]:
        return [
            Item(
                ENTRIES.item_id(self.action, name),
                self.action,
                f"{name}-feedstock",
                f"confirm {name}-feedstock exists",
                PingParams(f"{name}-feedstock"),
            )
            for name in model.feedstocks
        ]

    def access(self, model: PingRequest, services: Services) -> Access:
        return Access(
            github_repositories=tuple(dict.fromkeys(f"{n}-feedstock" for n in model.feedstocks)),
            github_permissions={"metadata": "read"},
        )

    def preflight(self, model: PingRequest, services: Services) -> list[Problem]:
        return feedstocks_exist(model.path, model.feedstocks, services)

    def execute(self, item: Item[PingParams], services: Services) -> Outcome:
        repository = item.params.repository
        return guarded(
            item.description,
            lambda: self._ping(repository, services),
            not_found=f"there is no repository {repository!r}; check the feedstock name.",
        )

    def _ping(self, repository: str, services: Services) -> Outcome:
        services.github.repository(repository)
        return Outcome.done(f"{repository} exists", changed=False)


KIND = PingKind("ping", "Confirm that feedstock repositories exist.")
'''

EXAMPLE = "# Confirm that feedstocks exist.\naction: ping\nfeedstocks:\n  - python-wget\n"

PR_TEMPLATE = "- [ ] Each feedstock named exists.\n"

REFERENCE = """when: >-
  You want to know whether admin-requests can see a feedstock.
fields:
  feedstocks: {shared: feedstocks}
steps:
  - >-
    Reads the repository `<name>-feedstock` in the organisation.
failures:
  - >-
    There is no such repository. Parked at once; the issue says which name.
invalid_example: |
  action: ping
  feedstock:
    - python-wget
"""

HOOKS = '''"""What the shared tests know of ``ping`` (see tests/kinds/kind_hooks.py)."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import strategies as st

from admin_requests.kinds.contract import Item
from admin_requests.kinds.ping import PingParams
from tests.fuzz.strategies import list_file
from tests.soak.world import World, WorldRequest, block_list

EXAMPLE_REQUEST = "action: ping\\nfeedstocks:\\n  - python-wget\\n"
EXAMPLE_PARAMS = PingParams("python-wget-feedstock")


def check_item(item: Item[Any]) -> None:
    assert item.params.repository == item.target


def request_files() -> st.SearchStrategy[str]:
    return list_file("ping")


def soak_request(world: World, rng: random.Random, n: int) -> WorldRequest:
    name = f"soak-p{n}"
    world.gh.add_repo(f"{name}-feedstock")
    world.checks[f"ping:{name}"] = lambda: True
    text = "action: ping\\n" + block_list("feedstocks", [name])
    return WorldRequest(f"requests/ping-{n}.yml", text)
'''

KIND_TEST = '''"""ping against FakeGitHub."""

from __future__ import annotations

from tests.fakes import FakeGitHub
from tests.fakes.wiring import services_for
from tests.kinds.helpers import load, run, statuses


def test_ping_reads_the_repository(fake_github: FakeGitHub) -> None:
    fake_github.add_token("gh-admin")
    fake_github.add_repo("foo-feedstock")
    request = load("action: ping\\nfeedstocks: [foo, nope]\\n")
    assert statuses(run(request, services_for(fake_github, None))) == [
        ("done", False),
        ("failed", False),
    ]
'''


# The test module of kinds/folders.py: the generated copies must match the folders.
DRIFT_TEST = "tests/kinds/test_folders.py"


COMPLETENESS_TESTS = [
    "tests/test_layout.py",
    DRIFT_TEST,
    "tests/kinds/test_reference.py",
    "tests/kinds/test_kind_hooks.py",
    "tests/kinds/test_contract.py",
    "tests/kinds/test_kinds.py",
    "tests/validation/test_properties.py",
]


def _copy_repository(dest: Path) -> Path:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        path = Path(os.fsdecode(raw))
        if not (ROOT / path).is_file():
            continue  # deleted in the working tree
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, dest / path)
    # Borrow this checkout's environment (dev.py leaves a symlinked .venv alone); the
    # copy's own package comes first on the path.
    (dest / ".venv").symlink_to(Path(sys.prefix))
    return dest


def _run(copy: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(copy / "scripts"), str(copy)]),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    # Not this run's worker or coverage: the copy's files are not this checkout's.
    for name in [n for n in env if n.startswith(("PYTEST_XDIST", "COV_CORE", "COVERAGE"))]:
        del env[name]
    return subprocess.run(
        list(argv), cwd=copy, env=env, capture_output=True, text=True, check=False
    )


def _pytest(copy: Path, *paths: str) -> subprocess.CompletedProcess[str]:
    return _run(
        copy,
        sys.executable,
        "-m",
        "pytest",
        "-v",
        "-p",
        "no:cacheprovider",
        "-m",
        "not act and not soak",
        *paths,
    )


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs the git checkout to copy its files")
def test_a_kind_added_as_the_guide_says_passes_the_completeness_tests(tmp_path: Path) -> None:
    guide = (ROOT / "docs" / "getting-started.md").read_text(encoding="utf-8")
    for step in (
        "scripts/admin_requests/kinds/NAME/",
        "`example.yml`",
        "`pr_template.md`",
        "`reference.yml`",
        "tests/kinds/NAME/",
        "`hooks.py`",
        "`test_NAME.py`",
        "One registry line",
        "KIND_FOLDERS",
        "python3 dev.py generate",
    ):
        assert step in guide, f"the guide no longer says {step!r}; update this test with it"

    copy = _copy_repository(tmp_path / "repo")
    product = copy / "scripts" / "admin_requests" / "kinds" / "ping"
    product.mkdir()
    (product / "__init__.py").write_text(KIND_MODULE)
    (product / "example.yml").write_text(EXAMPLE)
    (product / "pr_template.md").write_text(PR_TEMPLATE)
    (product / "reference.yml").write_text(REFERENCE)
    tests = copy / "tests" / "kinds" / "ping"
    tests.mkdir()
    (tests / "__init__.py").write_text("")
    (tests / "hooks.py").write_text(HOOKS)
    (tests / "test_ping.py").write_text(KIND_TEST)

    # The two folders alone are not enough: the kind is not registered.
    unregistered = _pytest(copy, DRIFT_TEST)
    assert unregistered.returncode != 0, unregistered.stdout
    assert "ping" in unregistered.stdout

    registry = copy / "scripts" / "admin_requests" / "kinds" / "__init__.py"
    text = registry.read_text()
    assert '    "cirrus_runners",\n)' in text, "KIND_FOLDERS changed shape; update this test"
    registry.write_text(
        text.replace('    "cirrus_runners",\n)', '    "cirrus_runners",\n    "ping",\n)')
    )

    # Registered but not generated: the drift test says to run the generator.
    stale = _pytest(copy, DRIFT_TEST)
    assert stale.returncode != 0, stale.stdout
    assert "python3 dev.py generate" in stale.stdout

    generated = _run(copy, sys.executable, "dev.py", "generate")
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert (copy / "docs" / "examples" / "ping.yml").read_text() == EXAMPLE
    assert (copy / ".github" / "PULL_REQUEST_TEMPLATE" / "ping.md").is_file()

    complete = _pytest(copy, *COMPLETENESS_TESTS, "tests/kinds/ping")
    assert complete.returncode == 0, complete.stdout[-4000:] + complete.stderr[-2000:]
    assert "[ping]" in complete.stdout  # the shared tests ran over the new kind too
    assert "test_ping_reads_the_repository PASSED" in complete.stdout
    checked = _run(copy, sys.executable, "-m", "admin_requests", "check", "docs/examples/ping.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
