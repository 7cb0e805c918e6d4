"""Recovery paths the soak and crash tests found: one follow-up per group, an interrupted
checkout, and ``run --push`` under the lease. (The issue that could not be closed is in
test_record.py, items in a pool in test_execute.py, checkpoints in test_checkpoints.py.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from admin_requests.cli import main
from admin_requests.config import Settings
from admin_requests.queue.gitops import Git
from admin_requests.queue.report import Disposition
from admin_requests.services import Services
from tests.fakes import FakeAnaconda, FakeGitHub
from tests.fakes.clock import FakeClock
from tests.fakes.github import REPODATA_PATCHES_FILES, REPODATA_PATCHES_WORKFLOW
from tests.queue.support import (
    BOT,
    Repo,
    bare_of,
    clone_of,
    make_runner,
    things,
)

# -- one follow-up per group -------------------------------------------------------------


def test_one_repodata_rebuild_for_broken_and_not_broken_in_one_run(
    fake_github: FakeGitHub, fake_anaconda: FakeAnaconda, repo: Repo, clock: FakeClock
) -> None:
    fake_github.add_token("gh")
    patches = fake_github.add_repo(
        "conda-forge-repodata-patches-feedstock", files=REPODATA_PATCHES_FILES
    )
    fake_anaconda.add_token("ac")
    fake_anaconda.add_file("conda-forge", "noarch/a-1-h0_0.conda")
    fake_anaconda.add_file("conda-forge", "noarch/b-1-h0_0.conda", labels=["main", "broken"])
    repo.add_request("1.yml", "action: broken\npackages:\n  - noarch/a-1-h0_0.conda\n")
    repo.add_request("2.yml", "action: not_broken\npackages:\n  - noarch/b-1-h0_0.conda\n")
    settings = Settings(
        github_api_url=fake_github.url,
        anaconda_api_url=fake_anaconda.url,
        channel_url=fake_anaconda.url,
    )
    services = Services.build(settings, github_token="gh", anaconda_token="ac")

    report = make_runner(repo, clock, None, services=services).run()

    assert report.count(Disposition.COMPLETED) == 2
    # One empty commit on the feedstock's main, naming both packages: one build.
    (rebuild,) = patches.pushes_starting(REPODATA_PATCHES_WORKFLOW)
    assert rebuild.message == (
        "resync repo data for broken/not-broken packages noarch/a-1-h0_0.conda "
        "noarch/b-1-h0_0.conda"
    )
    assert fake_github.effects["create_commit"] == 1


# -- an interrupted checkout ----------------------------------------------------------------


def test_what_an_interrupted_run_left_uncommitted_is_discarded(repo: Repo) -> None:
    repo.add_request("a.yml", things("x"))
    repo.add_request("b.yml", things("y"))
    (repo.root / "queue-state").mkdir()
    (repo.root / "queue-state" / "b.yml.json").write_text("{}\n")  # new, then staged
    repo.git("add", "queue-state/b.yml.json")
    (repo.root / "requests" / "a.yml").unlink()  # removed, not committed
    (repo.root / "requests" / "b.yml").write_text(things("z"))  # shrunk, not committed
    (repo.root / "notes.txt").write_text("not ours\n")

    left = Git(repo.root, BOT).discard_interrupted(["requests", "queue-state"])

    assert sorted(left) == ["queue-state/b.yml.json", "requests/a.yml", "requests/b.yml"]
    assert repo.read("requests/a.yml") == things("x")
    assert repo.read("requests/b.yml") == things("y")
    assert not repo.exists("queue-state/b.yml.json")
    assert repo.status() == "?? notes.txt\n"  # outside the queue: left alone
    assert Git(repo.root, BOT).discard_interrupted(["requests", "queue-state"]) == []


def test_run_push_takes_the_lease_and_pushes_what_an_interrupted_run_committed(
    repo: Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    remote = bare_of(repo, tmp_path)
    ours = clone_of(remote, tmp_path / "ours")
    (ours.root / "requests" / "README.md").write_text("the queue, edited by a killed run\n")
    Git(ours.root, BOT).commit(["requests/README.md"], "a commit that was never pushed")

    assert main(["run", "--root", str(ours.root), "--push"]) == 0

    pushed = subprocess.run(
        ["git", "--git-dir", str(remote), "log", "-1", "--format=%s", "main"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert pushed == "a commit that was never pushed"
    refs = subprocess.run(
        ["git", "--git-dir", str(remote), "for-each-ref", "--format=%(refname)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert refs == ["refs/heads/main"]  # the lease was released


def test_run_push_without_a_reachable_remote_is_an_error_not_a_crash(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.git("remote", "add", "origin", str(repo.root.parent / "nowhere.git"))
    assert main(["run", "--root", str(repo.root), "--push"]) == 1
    assert "run lease" in capsys.readouterr().err
