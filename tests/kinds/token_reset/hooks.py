"""What the shared tests know of ``token_reset`` (see tests/kinds/kind_hooks.py).

``token_reset`` issues a new token each time an item runs (by design: a token cannot be
read back), so its soak side effects are counted as "at least once" (``World.at_least``);
its end state is exact: the stored secret is accepted and is the only entry.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

from hypothesis import strategies as st

from admin_requests.kinds.contract import Item
from admin_requests.kinds.token_reset import TokenResetParams
from admin_requests.kinds.token_reset.registry import registry_path
from admin_requests.validation.names import CI_PROVIDERS, check_feedstock_name
from tests.fakes import FakeGitHub
from tests.fuzz.strategies import list_file, names, yaml_list
from tests.kinds.token_reset.test_token_reset import accepts, old_entry
from tests.soak.world import TOKENS, World, WorldRequest, block_list

EXAMPLE_REQUEST = (
    "action: token_reset\n"
    "feedstocks:\n"
    "  - foo\n"
    "skip_providers:\n"
    "  - travis\n"
    "existing_tokens_time_to_expiration: 0\n"
)
EXAMPLE_PARAMS = TokenResetParams(
    "foo", tuple(p for p in CI_PROVIDERS if p != "travis"), expiration=0
)

OLD_FEEDSTOCK_TOKEN = "0123456789abcdef" * 4
SECRET = "FEEDSTOCK_TOKEN"
GHA_ONLY = (
    "provider:\n  linux_64: github_actions\n  osx_64: github_actions\n  win_64: github_actions\n"
)


def check_item(item: Item[Any]) -> None:
    params = item.params
    assert item.target == f"{params.feedstock}-feedstock"
    assert check_feedstock_name(params.feedstock) is None
    assert set(params.providers) <= set(CI_PROVIDERS)
    assert params.expiration is None or isinstance(params.expiration, int)


@st.composite
def _options(draw: st.DrawFn) -> str:
    """The optional keys, some of them wrong."""
    out = ""
    if draw(st.booleans()):
        providers = draw(
            st.lists(st.sampled_from(["azure", "github_actions", "travis", "x"]), max_size=3)
        )
        out += "skip_providers:" + (draw(yaml_list(providers, "  ")) if providers else " []\n")
    if draw(st.booleans()):
        expiration = draw(st.one_of(st.integers(-5, 10**6), names))
        out += f"existing_tokens_time_to_expiration: {expiration}\n"
    return out


def request_files() -> st.SearchStrategy[str]:
    return st.tuples(list_file("token_reset"), _options()).map("".join)


def _token_registered(gh: FakeGitHub, repo: str) -> bool:
    """The feedstock's CI holds a new token, accepted, the only entry, not provisional."""
    if SECRET not in gh.repo(repo).secrets:
        return False
    token = gh.actions_secret(repo, SECRET)
    data = gh.repo(TOKENS).files[registry_path(repo.removesuffix("-feedstock"))]
    entries = json.loads(data)["tokens"]
    now = time.time()
    return (
        token != OLD_FEEDSTOCK_TOKEN
        and [e.get("provider") for e in entries] == ["github_actions"]
        and all("expires_at" not in e for e in entries)
        and accepts(data, token, "github_actions", now)
        and not accepts(data, OLD_FEEDSTOCK_TOKEN, "github_actions", now)
    )


def soak_request(world: World, rng: random.Random, n: int) -> WorldRequest:
    gh = world.gh
    feedstocks = [f"soak-r{n}x{k}" for k in range(rng.randint(1, 2))]
    for name in feedstocks:
        repo = f"{name}-feedstock"
        gh.add_repo(repo, files={"conda-forge.yml": GHA_ONLY})
        gh.repo(TOKENS).files[registry_path(name)] = json.dumps(
            {"tokens": [old_entry(None, OLD_FEEDSTOCK_TOKEN)]}
        ).encode()
        world.checks[f"token_reset:{name}"] = lambda r=repo: _token_registered(gh, r)
    world.at_least["put_secret"] += len(feedstocks)
    return WorldRequest(
        f"requests/token-reset-{n}.yml",
        "action: token_reset\n" + block_list("feedstocks", feedstocks),
    )
