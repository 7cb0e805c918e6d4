"""Git operations of the queue: commits, who added a file, pushing with rebase."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from admin_requests.errors import GitError, PushRejectedError
from admin_requests.queue.gitops import Git
from tests.queue.support import BOT, Repo, bare_of, clone_of, things


@pytest.fixture
def remote(repo: Repo, tmp_path: Path) -> Path:
    return bare_of(repo, tmp_path)


def conflicting_checkouts(remote: Path, tmp_path: Path) -> tuple[Repo, Git, Repo]:
    """Ours has an unpushed commit to the same file that theirs has already pushed."""
    ours = clone_of(remote, tmp_path / "ours")
    theirs = clone_of(remote, tmp_path / "theirs")
    theirs.add_request("README.md", "theirs\n")
    theirs.git("push", "--quiet", "origin", "main")
    (ours.root / "requests" / "README.md").write_text("ours\n")
    git = Git(ours.root, BOT)
    git.commit(["requests/README.md"], "ours")
    return ours, git, theirs


def test_commit_stages_only_the_given_paths_and_skips_no_change(repo: Repo) -> None:
    git = Git(repo.root, BOT)
    (repo.root / "requests" / "a.yml").write_text("x\n")
    (repo.root / "unrelated.txt").write_text("y\n")
    assert git.commit(["requests/a.yml", "queue-state/a.yml.json"], "msg")
    assert repo.git("show", "--name-only", "--format=", "HEAD").split() == ["requests/a.yml"]
    assert not git.commit(["requests/a.yml", "queue-state/a.yml.json"], "again")
    (repo.root / "requests" / "a.yml").unlink()
    assert git.commit(["requests/a.yml"], "remove")
    assert repo.git("log", "-1", "--format=%an").strip() == BOT.name


def test_commit_that_added_a_file_and_its_author(repo: Repo) -> None:
    first = repo.add_request("a.yml", "one\n", author="Alice <alice@example.invalid>")
    (repo.root / "requests" / "a.yml").write_text("two\n")
    repo.commit("edit", author="Bob <bob@example.invalid>")
    git = Git(repo.root, BOT)
    assert git.commit_that_added("requests/a.yml") == first
    author = git.author_of(first)
    assert author is not None
    assert author.name == "Alice"
    assert git.commit_that_added("requests/never.yml") is None


def test_push_rebases_onto_commits_that_landed_meanwhile(
    repo: Repo, remote: Path, tmp_path: Path
) -> None:
    ours = clone_of(remote, tmp_path / "ours")
    theirs = clone_of(remote, tmp_path / "theirs")
    theirs.add_request("merged-meanwhile.yml", "x\n")
    theirs.git("push", "--quiet", "origin", "main")
    (ours.root / "queue-state").mkdir()
    (ours.root / "queue-state" / "a.json").write_text("{}\n")
    git = Git(ours.root, BOT)
    assert git.commit(["queue-state/a.json"], "state")

    git.push_with_rebase("origin", "main", attempts=3)

    log = subprocess.run(
        ["git", "--git-dir", str(remote), "log", "--format=%s", "main"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    assert log[:2] == ["state", "Add merged-meanwhile.yml"]


def test_push_gives_up_on_a_conflict_without_pushing(
    repo: Repo, remote: Path, tmp_path: Path
) -> None:
    ours, git, theirs = conflicting_checkouts(remote, tmp_path)
    remote_head = theirs.head()

    with pytest.raises(PushRejectedError, match="conflict"):
        git.push_with_rebase("origin", "main", attempts=3)
    pushed = subprocess.run(
        ["git", "--git-dir", str(remote), "rev-parse", "main"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert pushed == remote_head
    assert ours.status() == ""  # the rebase was aborted cleanly


def test_sync_refuses_a_conflict_and_leaves_the_checkout_as_it_was(
    repo: Repo, remote: Path, tmp_path: Path
) -> None:
    ours, git, _ = conflicting_checkouts(remote, tmp_path)
    our_head = ours.head()

    with pytest.raises(GitError, match="cannot bring this checkout up to origin/main"):
        git.sync("origin", "main")
    assert ours.head() == our_head  # the rebase was aborted: our commit is still HEAD
    assert ours.status() == ""


def test_credentials_in_remote_urls_never_reach_error_messages(repo: Repo) -> None:
    git = Git(repo.root, BOT)
    url = "https://x-access-token:ghs_SECRET@127.0.0.1:9/example/admin-requests.git"
    with pytest.raises(GitError) as caught:
        git.run("push", url, "HEAD:refs/heads/main")
    assert "ghs_SECRET" not in str(caught.value)
    assert "***@127.0.0.1" in str(caught.value)


def test_sync_rebases_local_commits_onto_the_remote(repo: Repo, tmp_path: Path) -> None:
    remote = bare_of(repo, tmp_path)
    ours, theirs = clone_of(remote, tmp_path / "ours"), clone_of(remote, tmp_path / "theirs")
    theirs.add_request("new.yml", things("n"))
    theirs.git("push", "--quiet", "origin", "main")
    ours.add_request("mine.yml", things("m"))  # a killed run's commit, never pushed

    git = Git(ours.root, BOT)
    tip = git.sync("origin", "main")

    assert tip == theirs.head()
    assert git.commits_since(tip) == 1
    assert ours.exists("requests/new.yml")
    assert ours.exists("requests/mine.yml")


def test_a_token_authenticates_each_command_and_never_lands_in_git_config(repo: Repo) -> None:
    git = Git(repo.root, BOT, token="job-token-s3cret")
    sent = git.run("config", "--get", "http.extraheader").stdout.strip()
    assert sent.startswith("AUTHORIZATION: basic ")
    assert "job-token-s3cret" not in sent  # encoded, as git sends it
    git.commit(["requests/README.md"], "nothing to commit")  # any command works as before
    config = (repo.root / ".git" / "config").read_text()
    assert "s3cret" not in config
    assert "extraheader" not in config
    assert "http.extraheader" not in git.run("remote", "-v").stdout
