"""FakeCirun keeps an organisation's access control the way conda-forge's real file shows
Cirun's API keeps it (tests/data/cirun/): one ``<repo>-policy`` per repository, other
policies untouched; it refuses unknown keys and malformed changes like cirun-py expects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from tests.fakes import FakeCirun

REAL = (Path(__file__).parents[1] / "data" / "cirun" / "access.yml").read_text()


def put(fake: FakeCirun, *changes: dict[str, Any], key: str = "k") -> requests.Response:
    return requests.put(
        f"{fake.api_url}/access-control",
        json={"org": "conda-forge", "repository_resource_access": list(changes)},
        headers={"Authorization": f"Bearer {key}"},
        timeout=5,
    )


def change(repo: str, resources: list[str], action: str = "add", **extra: Any) -> dict[str, Any]:
    return {"repository": repo, "resources": resources, "action": action, **extra}


@pytest.fixture
def cirun(fake_cirun: FakeCirun) -> FakeCirun:
    fake_cirun.add_key("k")
    fake_cirun.seed_access(REAL)
    return fake_cirun


def test_an_add_updates_the_repository_s_policy_and_writes_no_second_one(
    cirun: FakeCirun,
) -> None:
    before = cirun.policy("libmagma-feedstock-policy")
    answer = put(
        cirun,
        change("libmagma-feedstock", ["cirun-openstack-cpu-large"], policy_args=None),
    )
    assert answer.status_code == 200
    assert cirun.policy_ids().count("libmagma-feedstock-policy") == 1
    assert cirun.policy("libmagma-feedstock-policy") == before
    assert cirun.resources_of("libmagma-feedstock-policy") == [
        "cirun-openstack-gpu-large",
        "cirun-openstack-cpu-large",
    ]
    assert cirun.effects["access_add"] == 1
    put(cirun, change("libmagma-feedstock", ["cirun-openstack-cpu-large"]))
    assert cirun.effects["access_add"] == 1  # no change the second time


def test_a_new_policy_has_the_real_file_s_keys_in_its_order(cirun: FakeCirun) -> None:
    put(
        cirun,
        change(
            "foo-feedstock",
            ["cirun-new-runner"],
            policy_args={"pull_request": True},
            roles=["admin"],
            users_from_json="https://example.org/u.json",
            teams=None,
        ),
    )
    policy = cirun.policy("foo-feedstock-policy")
    assert policy is not None
    assert list(policy) == ["id", "repo", "roles", "pull_request", "users_from_json"]
    assert cirun.access_yml()["access_control"][-1] == {
        "resource": "cirun-new-runner",
        "policies": ["foo-feedstock-policy"],
    }


def test_a_remove_takes_only_the_repository_s_own_policy(cirun: FakeCirun) -> None:
    put(cirun, change("libmagma-feedstock", ["*"], "remove"))
    assert "libmagma-feedstock-policy" not in cirun.policy_ids()
    assert cirun.resources_of("libmagma-feedstock-windows-policy") == [
        "cirun-azure-windows-2xlarge",
        "cirun-azure-windows-4xlarge",
    ]
    assert cirun.effects["access_remove"] == 1


def test_with_review_a_change_waits_for_the_merge(cirun: FakeCirun) -> None:
    cirun.review = True
    put(cirun, change("foo-feedstock", ["cirun-openstack-gpu-large"]))
    assert cirun.policy("foo-feedstock-policy") is None
    assert cirun.effects["propose"] == 1
    cirun.merge()
    assert cirun.resources_of("foo-feedstock-policy") == ["cirun-openstack-gpu-large"]


@pytest.mark.parametrize(
    "bad",
    [
        change("conda-forge/foo-feedstock", ["x"]),
        change("foo-feedstock", "x"),  # type: ignore[arg-type]
        change("foo-feedstock", ["x"], "replace"),
        change("foo-feedstock", ["x"], policy_args={"draft": True}),
    ],
)
def test_a_malformed_change_is_refused_and_changes_nothing(
    cirun: FakeCirun, bad: dict[str, Any]
) -> None:
    before = cirun.access_yml()
    assert put(cirun, bad).status_code == 400
    assert cirun.access_yml() == before


def test_an_unknown_key_gets_cirun_s_401(cirun: FakeCirun) -> None:
    answer = put(cirun, change("foo-feedstock", ["x"]), key="other")
    assert answer.status_code == 401
    assert answer.json() == {"message": "This API Key is expired or non-existent."}
    listed = requests.get(f"{cirun.api_url}/repo", timeout=5)
    assert listed.status_code == 401
