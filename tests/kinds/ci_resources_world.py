"""The world of the CI-resource kinds' tests (test_ci_resources.py, cirun/test_cirun.py,
test_ci_config.py): the records repository, one feedstock with a conda-forge.yml, one
provider App installation per kind, and Cirun with conda-forge's real access control."""

from __future__ import annotations

from pathlib import Path

from admin_requests.access import Access
from admin_requests.services import Services
from tests.fakes import FakeCirun, FakeGitHub
from tests.kinds.helpers import Loaded
from tests.kinds.scoped import Minted, scoped_services

RECORDS = "ci-access-control"


ACCESS_CONTROL = """\
# Kept by admin-requests and core; do not edit by hand.
version: 1
access_control:
  travis:
    - feedstock: example   # added by hand in 2023
  cirun-openstack-gpu-large:
    - feedstock: old-feedstock
      pull_request: false
  blacksmith: null
"""


# An excerpt of conda-forge's real .cirun/.access.yml (see tests/data/cirun/README.md).
CIRUN_ACCESS = (Path(__file__).parents[1] / "data" / "cirun" / "access.yml").read_text()


CONDA_FORGE_YML = "# feedstock settings\nbot:\n  automerge: true  # please\n"


CBC = "c_compiler_version:   # [linux]\n  - 13               # [linux]\n"


INSTALLATIONS = {
    "travis": 501,
    "blacksmith": 502,
    "namespace": 503,
    "depot": 504,
    "cirrus_runners": 505,
    "cirun": 506,
}


SETTINGS = {"ci_app_installations": tuple(INSTALLATIONS.items())}


class RecordingRerenderer:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def rerender(self, repository: str, branch: str) -> bool:
        self.calls.append((repository, branch))
        return True


def with_ci_repositories(fake_github: FakeGitHub) -> FakeGitHub:
    """The feedstocks, records and installations every CI-resource test starts from."""
    fake_github.add_repo(
        "foo-feedstock",
        files={"conda-forge.yml": CONDA_FORGE_YML, "recipe/conda_build_config.yaml": CBC},
    )
    fake_github.add_repo("bar-feedstock")
    fake_github.add_repo("old-feedstock")
    fake_github.add_repo(RECORDS, files={".access_control.yml": ACCESS_CONTROL})
    # As on conda-forge: Cirun's bot keeps it; admin-requests never writes it.
    fake_github.add_repo(".cirun", files={".access.yml": CIRUN_ACCESS})
    for action, installation in INSTALLATIONS.items():
        fake_github.add_installation(installation, action, ("old-feedstock",))
    fake_github.add_token("job-token", permissions={"contents": "read"})
    return fake_github


def with_cirun(fake_cirun: FakeCirun) -> FakeCirun:
    """Cirun with conda-forge's real access control (the excerpt) and those feedstocks on."""
    fake_cirun.seed_access(CIRUN_ACCESS)
    for name in ("libmagma", "pytorch-cpu", "onnxruntime"):
        fake_cirun.add_repo(f"conda-forge/{name}-feedstock")
    return fake_cirun


def services(
    gh: FakeGitHub,
    loaded: Loaded,
    minted: Minted | None = None,
    *,
    cirun: FakeCirun | None = None,
    **extra: object,
) -> Services:
    reader = scoped_services(gh, Access(), **SETTINGS)
    access = loaded.kind.access(loaded.model, reader)
    return scoped_services(gh, access, minted=minted, cirun=cirun, **{**SETTINGS, **extra})


def records(gh: FakeGitHub) -> str:
    return gh.repo(RECORDS).file_text(".access_control.yml")
