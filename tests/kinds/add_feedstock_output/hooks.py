"""What the shared tests know of ``add_feedstock_output`` (see tests/kinds/kind_hooks.py)."""

from __future__ import annotations

import json
import random
from typing import Any

from hypothesis import strategies as st
from ruamel.yaml import YAML

from admin_requests.kinds.add_feedstock_output import (
    ALLOWLIST_PATH,
    OutputParams,
    OutputsConfig,
    sharded_path,
)
from admin_requests.kinds.contract import Item
from admin_requests.validation.names import (
    check_feedstock_name,
    check_output_name_or_glob,
    is_glob,
)
from tests.fakes import FakeGitHub
from tests.fuzz.strategies import mapping_of_lists_file, plausible_names
from tests.soak.world import OUTPUTS, OUTPUTS_CONFIG, World, WorldRequest

# The '-feedstock' suffix is accepted (with a warning) and stripped.
EXAMPLE_REQUEST = (
    "action: add_feedstock_output\n"
    "feedstock_to_output_mapping:\n"
    "  libfoo-feedstock:\n"
    "    - 'libfoo-*'\n"
    "    - libfoo-devel\n"
)
EXAMPLE_PARAMS = OutputParams("libfoo", "libfoo-*", glob=True)

globs = st.builds(
    lambda name, tail: f"{name}{tail}",
    plausible_names,
    st.sampled_from(["*", "-*", "?", "[ab]", ""]),
)


def check_item(item: Item[Any]) -> None:
    params = item.params
    assert params.output == item.target
    assert check_output_name_or_glob(params.output) is None
    assert check_feedstock_name(params.feedstock) is None
    assert params.glob == is_glob(params.output)
    if not params.glob:
        assert sharded_path(params.output, OutputsConfig("outputs", 3, "z"))


def request_files() -> st.SearchStrategy[str]:
    return mapping_of_lists_file(
        "add_feedstock_output", "feedstock_to_output_mapping", st.one_of(plausible_names, globs)
    )


def _output_registered(gh: FakeGitHub, output: str, feedstock: str) -> bool:
    content = gh.repo(OUTPUTS).files.get(sharded_path(output, OUTPUTS_CONFIG))
    return content is not None and feedstock in json.loads(content)["feedstocks"]


def _glob_allowed(gh: FakeGitHub, glob: str, feedstock: str) -> bool:
    data = YAML(typ="safe", pure=True).load(gh.repo(OUTPUTS).files[ALLOWLIST_PATH]) or {}
    return glob in (data.get(feedstock) or [])


def soak_request(world: World, rng: random.Random, n: int) -> WorldRequest:
    feedstock, gh = f"soak-o{n}", world.gh
    gh.add_repo(f"{feedstock}-feedstock")
    outputs = [f"soak-o{n}-lib{k}" for k in range(rng.randint(1, 3))]
    if rng.random() < 0.5:
        outputs.append(f"soak-o{n}-plugin-*")
    for output in outputs:
        item = f"add_feedstock_output:{feedstock}:{output}"
        if output.endswith("*"):
            world.checks[item] = lambda o=output: _glob_allowed(gh, o, feedstock)
        else:
            world.checks[item] = lambda o=output: _output_registered(gh, o, feedstock)
    # One commit per request on feedstock-outputs; another if an item was left to a
    # later run (a transient fault on its feedstock's check).
    world.at_least["update_ref"] += 1
    text = "action: add_feedstock_output\nfeedstock_to_output_mapping:\n"
    text += f"  {feedstock}:\n" + "".join(f"    - '{o}'\n" for o in outputs)
    return WorldRequest(f"requests/outputs-{n}.yml", text)
