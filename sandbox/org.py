"""The small organisation the sandbox starts with: a few of everything requests act on.

Names follow conda-forge (the model for this project), so the sample requests read like
real ones: ``<name>-feedstock`` repositories with maintenance branches, packages with
labels on the ``conda-forge`` channel, a staging channel for CFEP-3 copies, the
feedstock-outputs repository with its ``config.json``, the repodata-patches repository
whose rebuild workflow ``broken`` starts, and this admin-requests repository itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tests.fakes.anaconda import FakeAnaconda
from tests.fakes.cirun import FakeCirun
from tests.fakes.github import (
    REPODATA_PATCHES_FILES,
    REPODATA_PATCHES_WORKFLOW,
    FakeGitHub,
    sha,
)

ORG = "conda-forge"
HOME = "admin-requests"
REPOSITORY = f"{ORG}/{HOME}"
CHANNEL = "conda-forge"
# The anaconda.org machine account (a member of CHANNEL) whose password mints tokens.
ANACONDA_ACCOUNT = "sandbox-machine-account"
STAGING = "cf-staging"
OUTPUTS = "feedstock-outputs"
PATCHES = "conda-forge-repodata-patches-feedstock"
REBUILD_WORKFLOW = REPODATA_PATCHES_WORKFLOW  # conda-build.yml, started by a push to main
OUTPUTS_CONFIG = {"outputs_path": "outputs", "shard_level": 3, "shard_fill": "z"}

# name -> branches besides main
FEEDSTOCKS: dict[str, tuple[str, ...]] = {
    "numpy": ("1.26.x", "2.0.x"),
    "libfoo": ("1.x", "2.x"),
    "old-thing": (),
    "retired-tool": (),
    "pytest": (),
}
# On the conda-forge channel, label main: (subdir/filename, extra labels)
PACKAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("linux-64/numpy-2.0.0-py312h1103770_0.conda", ()),
    ("osx-arm64/numpy-2.0.0-py312hb544834_0.conda", ()),
    ("linux-64/libfoo-2.1.0-h4ab18f5_0.conda", ()),
    ("noarch/pytest-8.3.0-pyhd8ed1ab_0.conda", ("broken",)),
)
# Built outside the organisation, waiting for a CFEP-3 copy.
STAGED: tuple[str, ...] = ("osx-arm64/conda-standalone-24.11.0-hce30654_0.conda",)


@dataclass(frozen=True)
class AppIdentity:
    app_id: int = 4242
    installation_id: int = 77


def feedstock(name: str) -> str:
    return f"{name}-feedstock"


def seed_github(gh: FakeGitHub) -> None:
    gh.add_repo(HOME)
    for name, branches in FEEDSTOCKS.items():
        refs = {"main": sha(f"{name}@main")}
        refs.update({branch: sha(f"{name}@{branch}") for branch in branches})
        gh.add_repo(feedstock(name), branches=refs, files={"recipe/meta.yaml": f"# {name}\n"})
    gh.add_repo(
        OUTPUTS,
        files={
            "config.json": json.dumps(OUTPUTS_CONFIG, indent=2) + "\n",
            # One line, no newline: as conda-forge/feedstock-outputs has them.
            "outputs/n/u/m/numpy.json": json.dumps({"feedstocks": ["numpy"]}),
            "outputs/l/i/b/libfoo.json": json.dumps({"feedstocks": ["libfoo"]}),
        },
    )
    gh.add_repo(PATCHES, files=REPODATA_PATCHES_FILES)


def seed_anaconda(ac: FakeAnaconda) -> None:
    for basename, labels in PACKAGES:
        ac.add_file(CHANNEL, basename, labels=["main", *labels])
    for basename in STAGED:
        ac.add_file(STAGING, basename, labels=["main"], content=b"staged " + basename.encode())


def staged_sha256(ac: FakeAnaconda, basename: str) -> str:
    return ac.file(STAGING, basename).sha256


def seed_cirun(cirun: FakeCirun) -> None:
    """Cirun knows the organisation, whose access control gives nobody a runner yet."""
    cirun.seed_access("version: 1\npolicies: []\naccess_control: []\n")
