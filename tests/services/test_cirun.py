"""Cirun's API client (services/cirun.py) against FakeCirun: the calls cirun-py makes, with
the bodies conda-smithy's ``cirun_utils`` gives them, and the access control it reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from admin_requests.config import Settings
from admin_requests.errors import AccessDeniedError
from admin_requests.services.cirun import CirunAccess, CirunClient, policy_id
from tests.fakes import FakeCirun, Fault
from tests.fakes.clock import FakeClock
from tests.fakes.server import Request, Response
from tests.fakes.wiring import retrier_for

REAL = (Path(__file__).parents[1] / "data" / "cirun" / "access.yml").read_text()


def client(fake: FakeCirun, key: str = "cirun-key") -> CirunClient:
    settings = Settings(cirun_api_url=fake.api_url, http_timeout_seconds=2)
    return CirunClient(settings, key)


@pytest.fixture
def cirun(fake_cirun: FakeCirun) -> FakeCirun:
    fake_cirun.add_key("cirun-key")
    fake_cirun.seed_access(REAL)
    return fake_cirun


class Recorder(FakeCirun):
    """FakeCirun that keeps each request's headers and body, to compare with cirun-py's."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str, dict[str, str], object]] = []

    def dispatch(self, request: Request) -> Response:
        body = json.loads(request.body) if request.body else None
        self.seen.append((request.method, request.path, dict(request.headers), body))
        return super().dispatch(request)


def test_the_calls_are_cirun_py_s_with_conda_smithy_s_arguments() -> None:
    with Recorder() as fake:
        fake.add_key("cirun-key")
        api = client(fake)
        api.set_repo("conda-forge/foo-feedstock")
        api.access_control("conda-forge")
        api.add_repo_to_resources(
            "conda-forge",
            "foo-feedstock",
            ["cirun-openstack-gpu-large"],
            pull_request=True,
            roles=["admin", "maintain", "write"],
            users_from_json="https://example.org/users.json",
        )
        api.remove_repo_from_resources(
            "conda-forge", "foo-feedstock", ["cirun-openstack-gpu-large"]
        )
        api.repositories()
    calls = [(method, path, body) for method, path, _, body in fake.seen]
    assert calls == [
        ("POST", "/api/v1/repo", {"repository": "conda-forge/foo-feedstock", "active": True}),
        ("GET", "/api/v1/access-control", {"org": "conda-forge"}),
        (
            "PUT",
            "/api/v1/access-control",
            {
                "org": "conda-forge",
                "repository_resource_access": [
                    {
                        "repository": "foo-feedstock",
                        "resources": ["cirun-openstack-gpu-large"],
                        "action": "add",
                        "policy_args": {"pull_request": True},
                        "teams": None,
                        "users": None,
                        "roles": ["admin", "maintain", "write"],
                        "users_from_json": "https://example.org/users.json",
                    }
                ],
            },
        ),
        (
            "PUT",
            "/api/v1/access-control",
            {
                "org": "conda-forge",
                "repository_resource_access": [
                    {
                        "repository": "foo-feedstock",
                        "resources": ["cirun-openstack-gpu-large"],
                        "action": "remove",
                        "policy_args": None,
                        "teams": None,
                        "users": None,
                        "roles": None,
                        "users_from_json": None,
                    }
                ],
            },
        ),
        ("GET", "/api/v1/repo", None),
    ]
    for _, _, headers, body in fake.seen:
        assert headers["authorization"] == "Bearer cirun-key"
        if body is not None:
            assert headers["content-type"] == "application/json"


def test_the_real_access_control_reads_as_policies_per_repository(cirun: FakeCirun) -> None:
    access = client(cirun).access_control("conda-forge")
    assert policy_id("libmagma-feedstock") == "libmagma-feedstock-policy"
    assert [p.id for p in access.policies_of("libmagma-feedstock")] == [
        "libmagma-feedstock-policy",
        "libmagma-feedstock-windows-policy",
    ]
    assert access.resources_of("libmagma-feedstock-policy") == ["cirun-openstack-gpu-large"]
    assert access.resources_for_repo("libmagma-feedstock") == {
        "cirun-openstack-gpu-large": ["libmagma-feedstock-policy"],
        "cirun-azure-windows-2xlarge": ["libmagma-feedstock-windows-policy"],
        "cirun-azure-windows-4xlarge": ["libmagma-feedstock-windows-policy"],
    }
    assert access.resources_for_repo(
        "libmagma-feedstock",
        without=[
            ("libmagma-feedstock-windows-policy", r)
            for r in (
                "cirun-azure-windows-2xlarge",
                "cirun-azure-windows-4xlarge",
            )
        ],
    ) == {"cirun-openstack-gpu-large": ["libmagma-feedstock-policy"]}
    # pytorch-cpu has no '<repo>-policy' (renamed by hand): nothing is the API's.
    assert access.policy(policy_id("pytorch-cpu-feedstock")) is None
    assert len(access.policies_of("pytorch-cpu-feedstock")) == 2


def test_a_resource_listed_twice_joins_its_policies() -> None:
    """conda-forge's file once listed cirun-macos-m4-large twice (commit 01b1539)."""
    access = CirunAccess.from_api(
        {
            "access_yml": {
                "policies": [{"id": "a-policy", "repo": "a"}, {"id": "b-policy", "repo": "b"}],
                "access_control": [
                    {"resource": "cirun-macos-m4-large", "policies": ["a-policy"]},
                    {"resource": "cirun-macos-m4-large", "policies": ["b-policy"]},
                ],
            }
        }
    )
    assert access.resources_of("b-policy") == ["cirun-macos-m4-large"]
    assert CirunAccess.from_api(None) == CirunAccess()


def test_an_organisation_without_access_control_reads_as_nobody_granted(
    fake_cirun: FakeCirun,
) -> None:
    fake_cirun.add_key("cirun-key")
    assert client(fake_cirun).access_control("conda-forge") == CirunAccess()


def test_an_unknown_key_is_refused_and_never_shown(cirun: FakeCirun) -> None:
    api = client(cirun, key="cirun-stale-key")
    with pytest.raises(AccessDeniedError, match="This API Key is expired or non-existent"):
        api.repositories()
    assert "cirun-stale-key" not in repr(api)


def test_repositories_say_whether_cirun_is_on(cirun: FakeCirun) -> None:
    cirun.add_repo("conda-forge/old-feedstock", active=False)
    api = client(cirun)
    api.set_repo("conda-forge/foo-feedstock")
    assert api.repositories() == {
        "conda-forge/foo-feedstock": True,
        "conda-forge/old-feedstock": False,
    }


def test_a_change_is_retried_through_a_server_error(cirun: FakeCirun) -> None:
    cirun.faults.on_call(1, fault=Fault.server_error(502), method="PUT")
    settings = Settings(cirun_api_url=cirun.api_url, http_timeout_seconds=2)
    api = CirunClient(settings, "cirun-key", retrier=retrier_for(FakeClock()))
    api.add_repo_to_resources("conda-forge", "foo-feedstock", ["x"], pull_request=False)
    assert cirun.resources_of("foo-feedstock-policy") == ["x"]
    assert cirun.count("PUT") == 2
