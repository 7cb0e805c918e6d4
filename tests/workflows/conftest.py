from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox.core import Sandbox
from sandbox.workflow import Workspace

from .act import Run, require_act


def start_run(root: Path) -> Iterator[Run]:
    require_act()
    with Sandbox(root / "sandbox") as sandbox:
        workspace = Workspace.create(root / "workspace")
        workspace.serve_through(sandbox.git)  # the job's git goes through GitHub's checks
        yield Run(sandbox, workspace)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """A fresh sandbox and workspace for the test module (process.yml tests)."""
    yield from start_run(tmp_path_factory.mktemp("act"))
