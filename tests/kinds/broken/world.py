"""What broken's and not_broken's tests start from: two artifacts on the channel (B
already labelled broken) and the repodata-patches feedstock, whose build a push to main
starts (that push is the rebuild)."""

from __future__ import annotations

from tests.fakes import FakeAnaconda, FakeGitHub
from tests.fakes.github import REPODATA_PATCHES_FILES, REPODATA_PATCHES_WORKFLOW, FakePush

A = "linux-64/foo-1.0-h0_0.conda"
B = "noarch/bar-2.0-pyh0_0.tar.bz2"
PATCHES = "conda-forge-repodata-patches-feedstock"


def label_github(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_token("gh-admin")
    # The real layout: no workflow to start by hand, conda-build.yml runs on push to main.
    fake_github.add_repo(PATCHES, files=REPODATA_PATCHES_FILES)
    return fake_github


def rebuilds(gh: FakeGitHub) -> list[FakePush]:
    """The pushes to the repodata-patches feedstock that started its build."""
    return gh.repo(PATCHES).pushes_starting(REPODATA_PATCHES_WORKFLOW)


def label_anaconda(fake_anaconda: FakeAnaconda) -> FakeAnaconda:
    fake_anaconda.add_token("ac-admin", scopes=["api:read", "api:write"], owners=["conda-forge"])
    fake_anaconda.add_file("conda-forge", A)
    fake_anaconda.add_file("conda-forge", B, labels=["main", "broken"])
    return fake_anaconda
