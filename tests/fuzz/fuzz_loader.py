#!/usr/bin/env python3
"""Coverage-guided fuzz target (atheris / libFuzzer) for the request file loader.

Each input is a file's bytes; it goes the runner's way (``read_text``, then ``check``,
plan and write-back) and must satisfy tests/fuzz/properties.py: no internal error, and
what ``check`` accepts, the runner accepts too. A failed property is a crash: libFuzzer
prints the input and writes it to ``crash-<sha1>``.

The test suite runs it for a fixed number of inputs from a fixed seed
(tests/fuzz/test_fuzz_loader.py); a longer campaign, from the repository root:

    .venv/bin/python tests/fuzz/fuzz_loader.py -dict=tests/fuzz/yaml.dict \\
        -max_len=4096 -len_control=0 -runs=1000000 /tmp/fuzz-corpus docs/examples
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests.fuzz, from anywhere

# Heavy dependencies the loader does not use for parsing: imported uninstrumented.
import github  # noqa: F401
import jinja2  # noqa: F401
import requests  # noqa: F401

with atheris.instrument_imports(include=["admin_requests", "ruamel"]):
    from tests.fuzz.properties import assert_bytes_are_handled


def one_input(data: bytes) -> None:
    assert_bytes_are_handled(data)


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
