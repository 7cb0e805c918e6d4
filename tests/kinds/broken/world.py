"""What broken's and not_broken's tests start from: two artifacts on the channel (B
already labelled broken) and the repodata-patches feedstock whose rebuild follows."""

from __future__ import annotations

from tests.fakes import FakeAnaconda, FakeGitHub

A = "linux-64/foo-1.0-h0_0.conda"
B = "noarch/bar-2.0-pyh0_0.tar.bz2"
PATCHES = "conda-forge-repodata-patches-feedstock"


def label_github(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_token("gh-admin")
    fake_github.add_repo(PATCHES, workflows=("rebuild.yml",))
    return fake_github


def label_anaconda(fake_anaconda: FakeAnaconda) -> FakeAnaconda:
    fake_anaconda.add_token("ac-admin", scopes=["api:read", "api:write"], owners=["conda-forge"])
    fake_anaconda.add_file("conda-forge", A)
    fake_anaconda.add_file("conda-forge", B, labels=["main", "broken"])
    return fake_anaconda
