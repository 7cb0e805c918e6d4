"""What the resync tests share: the patches feedstock's name, diffs in show_diff.py's
format, and a stand-in show_diff.py that probes for credentials.

The real ``show_diff.py`` needs conda-build and downloads every subdir's repodata, so a
stand-in takes its place: what it prints is made up here (in the format upstream's
script parses), how it is run and what is done with its output is real.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes import FakeGitHub

PATCHES = "conda-forge-repodata-patches-feedstock"
DIFF = """\
Downloading https://conda.anaconda.org/conda-forge/linux-64/repodata_from_packages.json
================================================================================
linux-64
linux-64::libfoo-1.0-h123_0.conda
-    "depends": ["libbar >=1"]
+    "depends": ["libbar >=1,<2"]
================================================================================
noarch
"""
EMPTY = """\
Downloading https://conda.anaconda.org/conda-forge/noarch/repodata_from_packages.json
================================================================================
noarch
================================================================================
linux-64
"""
# What a hostile or compromised show_diff.py would try: read every credential the
# privileged job holds, and write what it found where the test can read it.
STAND_IN = """\
import json, os, sys
from pathlib import Path
Path(os.environ.get("RESYNC_PROBE", "probe.json")).write_text(json.dumps({
    "environ": dict(os.environ),
    "home": sorted(p.name for p in Path.home().iterdir()),
}))
sys.stdout.write(Path("expected.txt").read_text())
"""


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_token("gh-admin")
    fake_github.add_repo(PATCHES, files={".github/workflows/conda-build.yml": "on: [push]\n"})
    return fake_github


def checkout_with(tmp_path: Path, output: str) -> Path:
    recipe = tmp_path / "patches" / "recipe"
    recipe.mkdir(parents=True)
    (recipe / "show_diff.py").write_text(STAND_IN)
    (recipe / "expected.txt").write_text(output)
    return tmp_path / "patches"
