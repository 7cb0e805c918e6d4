"""The coverage-guided fuzz target for the request loader (tests/fuzz/fuzz_loader.py),
run for a fixed number of inputs from a fixed seed: bounded by work, reproducible."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "tests" / "fuzz" / "fuzz_loader.py"
RUNS = 1500
SEED = 9

# atheris ships wheels for Linux x86_64 (what CI runs on); requirements/lock.txt pins it
# there. Elsewhere the hypothesis byte fuzzing in test_check_properties.py still runs.
SUPPORTED = platform.system() == "Linux" and platform.machine() == "x86_64"


@pytest.mark.skipif(not SUPPORTED, reason="atheris has wheels for Linux x86_64 only")
def test_the_loader_survives_a_seeded_fuzzing_campaign(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"  # libFuzzer adds the inputs it finds interesting here
    corpus.mkdir()
    result = subprocess.run(
        [
            sys.executable,
            str(TARGET),
            f"-runs={RUNS}",
            f"-seed={SEED}",
            "-max_len=600",
            f"-dict={ROOT / 'tests' / 'fuzz' / 'yaml.dict'}",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
            str(ROOT / "docs" / "examples"),  # seeds: one valid file of each kind
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    log = result.stdout + result.stderr
    crashes = sorted(p.name for p in tmp_path.glob("crash-*"))
    assert result.returncode == 0, f"{crashes}\n{log[-4000:]}"
    assert f"Done {RUNS} runs" in log
    # The inputs reached the parser and the checks: instrumented coverage grew.
    assert any(corpus.iterdir())
