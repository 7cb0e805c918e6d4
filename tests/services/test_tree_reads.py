"""services/tree_reads.py: the files ``change_files`` changes, read from git trees."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from admin_requests.services.github import GitHubClient
from tests.fakes import FakeGitHub
from tests.fakes.wiring import services_for


def _client(gh: FakeGitHub) -> GitHubClient:
    return services_for(gh, None, github_token="gh-admin", anaconda_token=None).github


def _recording(
    seen: dict[str, bytes | None], result: bytes | None
) -> Callable[[str], Callable[[bytes | None], bytes | None]]:
    """A change per path that records the bytes it was given and returns ``result``."""

    def note(path: str) -> Callable[[bytes | None], bytes | None]:
        def change(current: bytes | None) -> bytes | None:
            seen[path] = current
            return result

        return change

    return note


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_token("gh-admin")
    fake_github.add_repo("foo-feedstock", files={"config.json": '{"a": 1}'})
    return fake_github


def test_a_few_files_are_read_one_contents_read_each(gh: FakeGitHub) -> None:
    client = _client(gh)
    gh.repo("foo-feedstock").files["a/one.json"] = b"1"
    seen: dict[str, bytes | None] = {}
    note = _recording(seen, None)

    gh.calls.clear()
    paths = ["a/one.json", "b/two.json"]
    assert client.change_files("foo-feedstock", "main", {p: note(p) for p in paths}, "x") is None
    assert seen == {"a/one.json": b"1", "b/two.json": None}
    reads = [c.path.split("/foo-feedstock/")[-1] for c in gh.calls if c.method == "GET"]
    assert sorted(r for r in reads if r.startswith("contents/")) == [
        "contents/a/one.json",
        "contents/b/two.json",
    ]


def test_many_files_are_read_from_trees_and_only_existing_ones_as_blobs(gh: FakeGitHub) -> None:
    # 200 outputs of feedstock-outputs, 3 of them registered already: the reads are the
    # trees above them and one blob per existing file, not a contents read per file.
    client = _client(gh)
    repo = gh.repo("foo-feedstock")
    existing = {f"outputs/p/k/g/pkg{n}.json": b'{"feedstocks": ["x"]}' for n in range(3)}
    repo.files.update(existing)
    repo.files["outputs/q/q/q/other.json"] = b"{}"
    paths = [f"outputs/p/k/g/pkg{n}.json" for n in range(200)]
    seen: dict[str, bytes | None] = {}
    note = _recording(seen, b"new")

    gh.calls.clear()
    changed = client.change_files("foo-feedstock", "main", {p: note(p) for p in paths}, "200")
    assert changed is not None
    assert len(changed.paths) == 200
    assert seen == {p: existing.get(p) for p in paths}
    reads = [c.path.split("/foo-feedstock/")[-1] for c in gh.calls if c.method == "GET"]
    assert not [r for r in reads if r.startswith("contents/")]
    blobs = [r for r in reads if r.startswith("git/blobs/")]
    assert len(blobs) == 1  # the three files have the same bytes: one blob, read once
    assert len(reads) <= 10, reads
    assert all(repo.files[p] == b"new" for p in paths)
    assert repo.files["outputs/q/q/q/other.json"] == b"{}"


def test_a_truncated_listing_is_read_one_sub_tree_at_a_time(
    gh: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fakes import git_trees

    monkeypatch.setattr(git_trees, "RECURSIVE_MAX_ENTRIES", 5)
    client = _client(gh)
    repo = gh.repo("foo-feedstock")
    for first in "abc":
        for n in range(4):
            repo.files[f"outputs/{first}/{first}{n}.json"] = f"{first}{n}".encode()
    paths = [f"outputs/{first}/{first}{n}.json" for first in "abc" for n in range(6)]
    seen: dict[str, bytes | None] = {}
    note = _recording(seen, None)

    assert client.change_files("foo-feedstock", "main", {p: note(p) for p in paths}, "x") is None
    expected = {p: repo.files.get(p) for p in paths}
    assert seen == expected
    assert sum(v is not None for v in seen.values()) == 12
