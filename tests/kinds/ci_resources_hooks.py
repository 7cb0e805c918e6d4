"""Hooks shared by the CI-resource kinds (``travis``, ``cirun``, ``blacksmith``,
``namespace``, ``depot``, ``cirrus_runners``), one model in kinds/ci_resources.py.

Each kind's tests/kinds/<kind>/hooks.py binds these to its action.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import strategies as st
from ruamel.yaml import YAML

from admin_requests.kinds.ci_resources import CIRUN_RESOURCE_PREFIX, CiResourceParams
from admin_requests.kinds.contract import Item
from admin_requests.validation.names import check_feedstock_name
from tests.fakes import FakeGitHub
from tests.fuzz.strategies import booleans_as_written, list_file, names, yaml_list
from tests.kinds.ci_resources_world import INSTALLATIONS as CI_APPS
from tests.soak.world import RECORDS, World, WorldRequest, block_list


def example_request(action: str) -> str:
    return f"action: {action}\nfeedstocks:\n  - foo\n  - bar\n"


def example_params(action: str) -> CiResourceParams:
    return CiResourceParams(
        "foo", revoke=False, resources=(action,), pull_request=False, send_pr=False
    )


def check_item(item: Item[Any]) -> None:
    params = item.params
    assert item.target == f"{params.feedstock}-feedstock"
    assert check_feedstock_name(params.feedstock) is None
    assert params.resources
    if item.action == "cirun":
        assert all(r.startswith(CIRUN_RESOURCE_PREFIX) for r in params.resources)
    else:
        assert params.resources == (item.action,)
        assert not params.send_pr
    assert not (params.send_pr and params.revoke)


@st.composite
def options(draw: st.DrawFn, action: str) -> str:
    """The optional keys; cirun's sometimes on the other kinds (where they are refused)."""
    out = ""
    if action == "cirun" or draw(st.integers(0, 9)) == 0:
        resources = draw(
            st.lists(
                st.one_of(
                    st.just("cirun-openstack-gpu-large"), st.builds("cirun-{}".format, names)
                ),
                min_size=1,
                max_size=3,
            )
        )
        out += "resources:" + draw(yaml_list(resources, "  "))
    keys = ("revoke", "pull_request", "send_pr") if action == "cirun" else ("revoke",)
    for key in keys:
        if draw(st.integers(0, 3)) == 0:
            out += f"{key}: {draw(booleans_as_written)}\n"
    return out


def request_files(action: str) -> st.SearchStrategy[str]:
    return st.tuples(list_file(action), options(action)).map("".join)


def recorded(gh: FakeGitHub, resource: str, repo: str) -> bool:
    data = YAML(typ="safe", pure=True).load(gh.repo(RECORDS).files[".access_control.yml"])
    entries = (data.get("access_control") or {}).get(resource) or []
    return any(entry.get("feedstock") == repo for entry in entries)


def granted(gh: FakeGitHub, action: str, resource: str, repo: str) -> bool:
    return repo in gh.installation_repositories(CI_APPS[action]) and recorded(gh, resource, repo)


def soak_request(action: str, world: World, rng: random.Random, n: int) -> WorldRequest:
    gh = world.gh
    names = [f"soak-{action[:3]}{n}x{k}" for k in range(rng.randint(1, 3))]
    for name in names:
        repo = f"{name}-feedstock"
        gh.add_repo(repo)
        world.checks[f"{action}:{name}"] = lambda r=repo: granted(gh, action, action, r)
    world.effects["installation_add"] += len(names)
    world.effects["put_file"] += len(names)  # one record each
    return WorldRequest(
        f"requests/{action}-{n}.yml", f"action: {action}\n" + block_list("feedstocks", names)
    )
