"""Request lives from the first-parent git history."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from admin_requests.queue.gitops import Git
from admin_requests.status.history import is_request_path, read_history
from tests.status.scenario import DatedRepo

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def repo(tmp_path: Path) -> DatedRepo:
    return DatedRepo(tmp_path / "repo", T0)


def _complete(repo: DatedRepo, name: str, when: datetime) -> str:
    repo.now = when
    (repo.root / "requests" / name).unlink()
    return repo.commit(
        f"Complete requests/{name}: archive, 1 item(s) done (1 changed, 0 already done)\n\n- x",
        "github-actions[bot] <bot@example.invalid>",
    )


def test_added_completed_withdrawn_and_reused_names(repo: DatedRepo) -> None:
    repo.now = T0 + timedelta(hours=1)
    added = repo.merge_request("a.yml", "action: archive\n", "Ann <a@x>", merge_commit=False)
    repo.now = T0 + timedelta(hours=2)
    repo.merge_request("b c.yaml", "action: archive\n", "Bo <b@x>", merge_commit=False)
    done = _complete(repo, "a.yml", T0 + timedelta(hours=3))
    repo.now = T0 + timedelta(hours=4)
    repo.withdraw("b c.yaml", "Bo <b@x>")
    # A retry commit touches the file without removing it: not a new life.
    repo.now = T0 + timedelta(hours=5)
    (repo.root / "requests" / "a.yml").write_text("action: archive\nfeedstocks: [x]\n")
    repo.commit("Add requests/a.yml again", "Cy <c@x>")
    (repo.root / "requests" / "a.yml").write_text("action: archive\nfeedstocks: [y]\n")
    repo.now = T0 + timedelta(hours=6)
    repo.commit("Retry requests/a.yml later: 1 of 1 item(s) left", "bot <bot@x>")

    history = read_history(Git(repo.root))

    assert [(life.path, life.added.at.hour) for life in history.lifetimes] == [
        ("requests/a.yml", 13),
        ("requests/b c.yaml", 14),
        ("requests/a.yml", 17),
    ]
    first, withdrawn, again = history.lifetimes
    assert first.added.sha == added
    assert first.completed
    assert first.removed is not None
    assert first.removed.sha == done
    assert first.removed.at - first.added.at == timedelta(hours=2)
    assert first.kind == "archive"
    assert withdrawn.removed is not None
    assert not withdrawn.completed
    assert withdrawn.kind is None
    assert again.removed is None
    assert history.current() == {"requests/a.yml": again}
    assert history.completed() == [first]
    assert history.commits == 7  # every commit that touched requests/ (with the README)
    assert not history.shallow


def test_a_merge_commit_dates_the_request_by_its_merge(repo: DatedRepo) -> None:
    repo.now = T0
    repo.git("checkout", "--quiet", "-b", "pr")
    (repo.root / "requests" / "m.yml").write_text("action: archive\n")
    repo.commit("Add requests/m.yml", "Author On Branch <a@x>")
    repo.git("checkout", "--quiet", "main")
    repo.now = T0 + timedelta(days=2)  # reviewed for two days
    repo.git("merge", "--quiet", "--no-ff", "pr", "-m", "Merge pull request #5")
    merge = repo.git("rev-parse", "HEAD").strip()

    [life] = read_history(Git(repo.root)).lifetimes

    assert life.added.sha == merge
    assert life.added.is_merge
    assert life.added.at == T0 + timedelta(days=2)


def test_only_request_files_in_the_queue_folder_count(repo: DatedRepo) -> None:
    (repo.root / "requests" / "notes.txt").write_text("x")
    (repo.root / "requests" / "nested").mkdir()
    (repo.root / "requests" / "nested" / "x.yml").write_text("x")
    (repo.root / "queue-state" / "x.yml.json").write_text("{}")
    repo.commit("Other files", "Ann <a@x>")
    assert read_history(Git(repo.root)).lifetimes == []
    assert is_request_path("requests/x.yaml", "requests")
    assert not is_request_path("requests/README.md", "requests")
    assert not is_request_path("requests/nested/x.yml", "requests")
    assert not is_request_path("other/x.yml", "requests")


def test_a_shallow_clone_is_reported(repo: DatedRepo, tmp_path: Path) -> None:
    for hour in (1, 2, 3):
        repo.now = T0 + timedelta(hours=hour)
        repo.merge_request(f"r{hour}.yml", "action: archive\n", "Ann <a@x>", merge_commit=False)
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "--quiet", "--depth=1", repo.root.as_uri(), str(clone)], check=True
    )
    history = read_history(Git(clone))
    assert history.shallow
    # Everything looks added by the one commit the clone has: only the newest is right.
    assert {life.path for life in history.lifetimes} == {f"requests/r{h}.yml" for h in (1, 2, 3)}
