"""What the shared tests know of ``cfep3_copy`` (see tests/kinds/kind_hooks.py)."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import strategies as st

from admin_requests.kinds.cfep3_copy import CopyParams, parse_copy_source
from admin_requests.kinds.contract import Item
from admin_requests.validation.names import check_sha256
from tests.fuzz.strategies import (
    head,
    mostly_plausible,
    mostly_plausible_files,
    scalar_text,
)
from tests.soak.world import CHANNEL, STAGING, World, WorldRequest, package_file

DIGEST = "a" * 64
EXAMPLE_REQUEST = (
    "action: cfep3_copy\n"
    "anaconda_org_packages:\n"
    "  - package: cf-staging/label/rc/linux-64/foo-1.0-h0_0.conda\n"
    f"    sha256: {DIGEST.upper()}\n"
    "to_anaconda_org_label: testing\n"
)
EXAMPLE_PARAMS = CopyParams(
    channel="cf-staging",
    label="rc",
    name="foo",
    version="1.0",
    basename="linux-64/foo-1.0-h0_0.conda",
    sha256=DIGEST,
    to_label="testing",
)

hex_digests = st.one_of(
    st.text("0123456789abcdef", min_size=64, max_size=64),
    st.text("0123456789abcdefABCDEFg", min_size=60, max_size=66),
)
copy_specs = st.builds(
    lambda channel, label, file: f"{channel}{label}/{file}",
    mostly_plausible,
    st.sampled_from(["", "/label/main", "/label/rc", "/label/", "/label/a b"]),
    mostly_plausible_files,
)


def check_item(item: Item[Any]) -> None:
    source, _ = parse_copy_source(item.target)
    assert source is not None
    params = item.params
    assert (params.channel, params.label) == (source.channel, source.label)
    assert params.basename == f"{source.subdir}/{source.filename}"
    assert check_sha256(params.sha256) is None
    assert params.sha256 == params.sha256.lower()


@st.composite
def _request_files(draw: st.DrawFn) -> str:
    body = "anaconda_org_packages:\n"
    for _ in range(draw(st.integers(1, 4))):
        spec = draw(scalar_text(draw(copy_specs)))
        body += f"  - package: {spec}\n    sha256: {draw(hex_digests)}\n"
    if draw(st.booleans()):
        body += f"to_anaconda_org_label: {draw(mostly_plausible)}\n"
    return draw(head("cfep3_copy")) + body


def request_files() -> st.SearchStrategy[str]:
    return _request_files()


def soak_request(world: World, rng: random.Random, n: int) -> WorldRequest:
    assert world.ac is not None
    ac = world.ac
    entries = []
    for k in range(rng.randint(1, 3)):
        package = package_file(rng, "soak-cp", n, k)
        source = ac.add_file(STAGING, package, content=f"artifact {n}/{k}".encode())
        spec = f"{STAGING}/{package}"
        entries.append(f"  - package: {spec}\n    sha256: {source.sha256}\n")
        world.effects["copy"] += 1
        world.checks[f"cfep3_copy:{spec}"] = lambda p=package, digest=source.sha256: (
            ac.has_file(CHANNEL, p)
            and ac.file(CHANNEL, p).sha256 == digest
            and "main" in ac.file(CHANNEL, p).labels
        )
    return WorldRequest(
        f"requests/copy-{n}.yml", "action: cfep3_copy\nanaconda_org_packages:\n" + "".join(entries)
    )
