"""GitHubClient against FakeGitHub: plain values out, named errors, retries, scopes."""

from __future__ import annotations

import json

import pytest

from admin_requests.errors import (
    AccessDeniedError,
    ConflictError,
    NotFoundError,
    PermanentError,
    TransientError,
)
from admin_requests.services.github import GitHubClient
from tests.fakes import FakeGitHub, Fault, blob_sha, sha
from tests.fakes.clock import FakeClock
from tests.fakes.github import CONTENTS_API_LIMIT
from tests.fakes.wiring import services_for


def _client(
    gh: FakeGitHub, token: str = "gh-admin", clock: FakeClock | None = None
) -> GitHubClient:
    return services_for(gh, None, github_token=token, anaconda_token=None, clock=clock).github


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_token("gh-admin")
    fake_github.add_repo(
        "foo-feedstock",
        branches={"main": sha("m"), "1.x": sha("1")},
        files={"config.json": '{"a": 1}'},
    )
    return fake_github


def test_repository_state_and_archiving(gh: FakeGitHub) -> None:
    client = _client(gh)
    assert client.repository("foo-feedstock").archived is False
    client.set_archived("foo-feedstock", True)
    assert client.repository("conda-forge/foo-feedstock").archived is True
    with pytest.raises(NotFoundError):
        client.repository("nope-feedstock")


def test_refs(gh: FakeGitHub) -> None:
    client = _client(gh)
    assert client.get_ref("foo-feedstock", "heads/1.x") == sha("1")
    assert client.get_ref("foo-feedstock", "tags/1.x_archived") is None
    client.create_ref("foo-feedstock", "tags/1.x_archived", sha("1"))
    with pytest.raises(ConflictError):
        client.create_ref("foo-feedstock", "tags/1.x_archived", sha("1"))
    assert client.delete_ref("foo-feedstock", "heads/1.x") is True
    assert client.delete_ref("foo-feedstock", "heads/1.x") is False
    assert gh.repo("foo-feedstock").refs["refs/tags/1.x_archived"] == sha("1")


def test_files_with_sha_and_conflicts(gh: FakeGitHub) -> None:
    client = _client(gh)
    current = client.get_file("foo-feedstock", "config.json")
    assert current is not None
    assert json.loads(current.text) == {"a": 1}
    assert client.get_file("foo-feedstock", "missing.json") is None
    client.put_file("foo-feedstock", "config.json", b'{"a": 2}', "edit", current.sha)
    with pytest.raises(ConflictError):
        client.put_file("foo-feedstock", "config.json", b'{"a": 3}', "edit", current.sha)
    with pytest.raises(ConflictError):
        client.put_file("foo-feedstock", "config.json", b'{"a": 3}', "edit", None)
    client.put_file("foo-feedstock", "new/file.json", b"{}", "add", None)
    assert gh.repo("foo-feedstock").file_text("new/file.json") == "{}"


def test_update_file_rereads_when_someone_else_wrote_first(gh: FakeGitHub) -> None:
    client = _client(gh)
    seen: list[bytes | None] = []

    def add_b(content: bytes | None) -> bytes:
        seen.append(content)
        if len(seen) == 1:  # a concurrent writer sneaks in between our read and write
            gh.repo("foo-feedstock").files["config.json"] = b'{"a": 1, "other": true}'
        data = json.loads(content or b"{}")
        data["b"] = 1
        return json.dumps(data).encode()

    assert client.update_file("foo-feedstock", "config.json", add_b, "add b") is True
    assert json.loads(gh.repo("foo-feedstock").files["config.json"]) == {
        "a": 1,
        "other": True,
        "b": 1,
    }
    assert len(seen) == 2
    assert gh.effects["put_file"] == 1
    assert client.update_file("foo-feedstock", "config.json", lambda c: c, "noop") is False


def test_update_file_gives_up_for_this_run_when_it_keeps_changing(gh: FakeGitHub) -> None:
    client = _client(gh)
    counter = iter(range(100))

    def racing(content: bytes | None) -> bytes:
        gh.repo("foo-feedstock").files["config.json"] = str(next(counter)).encode()
        return b"mine"

    with pytest.raises(TransientError, match="kept changing"):
        client.update_file("foo-feedstock", "config.json", racing, "x", attempts=3)


def test_an_empty_commit_goes_on_top_of_the_branch_without_a_clone(gh: FakeGitHub) -> None:
    client = _client(gh)
    head = client.get_commit("foo-feedstock", sha("m"))
    assert (head.sha, head.parents) == (sha("m"), ())  # a seeded commit: a root
    commit = client.commit_to_branch("foo-feedstock", "main", "resync")
    # Read the ref, read its commit, create one, move the ref: nothing else.
    assert [(c.method, c.path.split("/git/")[-1]) for c in gh.calls[-4:]] == [
        ("GET", "ref/heads/main"),
        ("GET", f"commits/{sha('m')}"),
        ("POST", "commits"),
        ("PATCH", "refs/heads/main"),
    ]
    # The same tree on top of the old head, and main moved to it: an empty commit.
    assert (commit.tree, commit.parents, commit.message) == (head.tree, (sha("m"),), "resync")
    assert gh.repo("foo-feedstock").branch("main") == commit.sha
    assert client.get_commit("foo-feedstock", commit.sha) == commit
    assert gh.repo("foo-feedstock").branch("1.x") == sha("1")
    (push,) = gh.repo("foo-feedstock").pushes
    assert (push.ref, push.before, push.after) == ("refs/heads/main", sha("m"), commit.sha)
    with pytest.raises(NotFoundError, match="no branch 'gone'"):
        client.commit_to_branch("foo-feedstock", "gone", "resync")


def test_a_ref_update_that_is_not_a_fast_forward_is_a_conflict(gh: FakeGitHub) -> None:
    client = _client(gh)
    head = client.get_commit("foo-feedstock", sha("m"))
    beside = client.create_commit("foo-feedstock", "beside", head.tree, [sha("1")])
    with pytest.raises(ConflictError, match="not a fast forward"):
        client.update_ref("foo-feedstock", "heads/main", beside.sha)
    assert gh.repo("foo-feedstock").branch("main") == sha("m")  # nobody's work undone
    ours = client.create_commit("foo-feedstock", "ours", head.tree, [sha("m")])
    client.update_ref("foo-feedstock", "heads/main", ours.sha)
    client.update_ref("foo-feedstock", "heads/main", ours.sha)  # again: no change, no error
    assert gh.effects["update_ref"] == 1


def test_many_files_change_in_one_commit_without_a_clone(gh: FakeGitHub) -> None:
    client = _client(gh)
    repo = gh.repo("foo-feedstock")
    repo.files["a/one.json"] = b"1"
    changes = {
        "a/one.json": lambda current: (current or b"") + b"+",
        "b/two.json": lambda current: b"new" if current is None else None,
        "c/same.txt": lambda current: None,
    }
    changed = client.change_files("foo-feedstock", "main", changes, "two files")
    assert changed is not None
    assert changed.paths == ("a/one.json", "b/two.json")
    # One read per file, then one tree, one commit and one ref update, whatever the count.
    writes = [(c.method, c.path.split("/git/")[-1]) for c in gh.calls if c.method != "GET"]
    assert writes == [("POST", "trees"), ("POST", "commits"), ("PATCH", "refs/heads/main")]
    assert (repo.files["a/one.json"], repo.files["b/two.json"]) == (b"1+", b"new")
    assert repo.files["config.json"]  # the files it did not touch are kept
    (push,) = repo.pushes
    assert (push.before, push.after, push.message) == (sha("m"), changed.commit.sha, "two files")
    # Nothing left to change: no commit at all.
    again = {"b/two.json": lambda current: b"new"}
    assert client.change_files("foo-feedstock", "main", again, "x") is None
    assert len(repo.pushes) == 1


def test_a_push_between_reading_and_committing_files_is_kept(gh: FakeGitHub) -> None:
    client = _client(gh)
    repo = gh.repo("foo-feedstock")
    pushed = []

    def theirs_first(current: bytes | None) -> bytes:
        if not pushed:  # someone else pushes while we build our commit
            pushed.append(gh.push_commit("foo-feedstock", "main", "theirs", {"x.txt": "theirs"}))
        return (current or b"") + b"mine"

    changed = client.change_files("foo-feedstock", "main", {"x.txt": theirs_first}, "ours")
    assert changed is not None
    assert repo.files["x.txt"] == b"theirsmine"  # re-read and applied again on theirs
    assert changed.commit.parents == (pushed[0],)
    assert [p.message for p in repo.pushes] == ["theirs", "ours"]


def test_an_issue_closed_already_is_not_closed_again(gh: FakeGitHub) -> None:
    # A run killed after closing the issue, before recording it, closes it again.
    gh.add_repo("admin-requests")
    number = gh.add_issue("admin-requests", "Request x needs attention", labels=["parked"]).number
    client = _client(gh)
    client.close_issue("admin-requests", number)
    closed_at = gh.issues("admin-requests")[0].closed_at
    client.close_issue("admin-requests", number)
    assert gh.effects["close_issue"] == gh.effects["edit_issue"] == 1
    assert gh.issues("admin-requests")[0].closed_at == closed_at


def test_committing_needs_contents_write_on_that_repository(gh: FakeGitHub) -> None:
    gh.add_token("reader", repositories=["foo-feedstock"], permissions={"contents": "read"})
    with pytest.raises(AccessDeniedError):
        _client(gh, "reader").commit_to_branch("foo-feedstock", "main", "resync")
    assert gh.repo("foo-feedstock").branch("main") == sha("m")


def test_issues_and_pull_requests(gh: FakeGitHub) -> None:
    gh.add_repo("admin-requests")
    for n in range(130):
        gh.add_issue("admin-requests", f"issue {n}", labels=["other"])
    client = _client(gh)
    issue = client.create_issue("admin-requests", "Request x failed", "details", ("parked",))
    assert [i.number for i in client.list_issues("admin-requests", labels=("parked",))] == [
        issue.number
    ]
    assert len(client.list_issues("admin-requests")) == 131  # two pages
    client.comment("admin-requests", issue.number, "still failing")
    client.close_issue("admin-requests", issue.number)
    assert client.list_issues("admin-requests", labels=("parked",)) == []
    closed = client.list_issues("admin-requests", labels=("parked",), state="closed")
    assert [i.title for i in closed] == ["Request x failed"]
    fake_issue = gh.issues("admin-requests", state="closed")[0]
    assert [c["body"] for c in fake_issue.comments] == ["still failing"]
    gh.add_commit_pull("admin-requests", sha("c"), 12, user="alice")
    (pull,) = client.pulls_for_commit("admin-requests", sha("c"))
    assert (pull.number, pull.author) == (12, "alice")


def test_github_rate_limits_are_waited_out(gh: FakeGitHub) -> None:
    clock = FakeClock()
    client = _client(gh, clock=clock)
    gh.faults.on_call(1, fault=Fault.secondary_rate_limit("5"))
    gh.faults.on_call(2, fault=Fault.primary_rate_limit(int(clock.time()) + 9))
    gh.faults.on_call(3, fault=Fault.server_error(502))
    assert client.repository("foo-feedstock").archived is False
    # The reset is 9s after the start and 5s have passed: about 4s more, plus one.
    assert clock.sleeps[:2] == [5.0, pytest.approx(5.0, abs=1.0)]
    assert gh.count() == 4


def test_github_client_errors_are_not_retried(gh: FakeGitHub) -> None:
    clock = FakeClock()
    gh.add_token("reader", permissions={"contents": "read"})
    with pytest.raises(AccessDeniedError):
        _client(gh, "reader", clock).set_archived("foo-feedstock", True)
    gh.faults.on_call(1, fault=Fault("status", status=422))
    with pytest.raises(PermanentError):
        _client(gh, clock=clock).repository("foo-feedstock")
    assert clock.sleeps == []


def test_a_token_for_other_repositories_sees_nothing(gh: FakeGitHub) -> None:
    gh.add_repo("bar-feedstock")
    gh.add_token("bar-only", repositories=["bar-feedstock"], permissions={"contents": "write"})
    client = _client(gh, "bar-only")
    with pytest.raises(NotFoundError):
        client.get_ref("foo-feedstock", "heads/main") or client.repository("foo-feedstock")
    assert client.get_ref("bar-feedstock", "heads/main") is not None


@pytest.mark.parametrize(
    "fault",
    [Fault.reset(), Fault.wrong_data(), Fault.wrong_data(b'{"truncated'), Fault.timeout(1.5)],
)
def test_github_transport_trouble_is_retried(gh: FakeGitHub, fault: Fault) -> None:
    clock = FakeClock()
    gh.faults.on_call(1, fault=fault)
    assert _client(gh, clock=clock).repository("foo-feedstock").full_name == (
        "conda-forge/foo-feedstock"
    )
    assert len(clock.sleeps) == 1


# -- GitHub's real answers (issue 15) ----------------------------------------------------


def test_a_pull_request_github_says_already_exists_is_the_one_returned(
    gh: FakeGitHub,
) -> None:
    """GitHub's 422 says "Validation Failed"; "already exists" is in errors[].message."""
    client = _client(gh)
    first = client.create_pull("foo-feedstock", title="t", body="b", head="1.x", base="main")
    again = client.create_pull("foo-feedstock", title="t", body="b", head="1.x", base="main")
    assert again == first
    assert len(gh.pulls("foo-feedstock")) == 1


def test_a_reference_that_exists_is_a_conflict_in_either_shape_of_githubs_answer(
    gh: FakeGitHub,
) -> None:
    client = _client(gh)
    client.create_ref("foo-feedstock", "tags/v1", sha("1"))
    with pytest.raises(ConflictError):  # {"message": "Reference already exists"}
        client.create_ref("foo-feedstock", "tags/v1", sha("1"))
    validation = {
        "message": "Validation Failed",
        "errors": [
            {"resource": "Reference", "code": "custom", "message": "Reference already exists"}
        ],
        "documentation_url": "https://docs.github.com/rest/git/refs#create-a-reference",
    }
    gh.faults.on_call(
        1,
        fault=Fault("status", status=422, body=json.dumps(validation).encode()),
        method="POST",
        path=r"/git/refs$",
    )
    with pytest.raises(ConflictError):
        client.create_ref("foo-feedstock", "tags/v2", sha("1"))


def test_a_file_over_1_mb_is_read_through_the_blobs_api_and_updated_whole(
    gh: FakeGitHub,
) -> None:
    big = b"line\n" * (CONTENTS_API_LIMIT // 5 + 1)
    gh.repo("foo-feedstock").files["big.txt"] = big
    client = _client(gh)
    found = client.get_file("foo-feedstock", "big.txt")
    assert found is not None
    assert (found.content, found.sha) == (big, blob_sha(big))
    assert gh.count("GET", r"/git/blobs/") == 1
    assert client.update_file("foo-feedstock", "big.txt", lambda c: (c or b"") + b"end\n", "m")
    assert gh.repo("foo-feedstock").files["big.txt"] == big + b"end\n"


def test_a_file_that_comes_back_short_is_never_written_back(gh: FakeGitHub) -> None:
    """Content that does not match the size GitHub states is never taken as the file."""
    short = {
        "type": "file",
        "encoding": "base64",
        "size": 8,
        "name": "config.json",
        "path": "config.json",
        "content": "",
        "sha": blob_sha(b'{"a": 1}'),
    }
    gh.faults.on_call(
        1,
        fault=Fault("status", status=200, body=json.dumps(short).encode()),
        method="GET",
        path=r"/contents/config\.json$",
    )
    with pytest.raises(TransientError, match="8 bytes"):
        _client(gh).update_file("foo-feedstock", "config.json", lambda c: b"{}", "m")
    assert gh.effects["put_file"] == 0
    assert gh.repo("foo-feedstock").file_text("config.json") == '{"a": 1}'


def test_the_actions_public_key_is_read_once_per_repository(gh: FakeGitHub) -> None:
    from admin_requests.credentials.redact import Secret

    gh.add_repo("bar-feedstock")
    client = _client(gh)
    for repo in ("foo-feedstock", "bar-feedstock", "foo-feedstock", "bar-feedstock"):
        client.set_actions_secret(repo, "FEEDSTOCK_TOKEN", Secret("t" * 64))
    assert gh.count("GET", r"/actions/secrets/public-key$") == 2
    assert gh.effects["put_secret"] == 4
    assert gh.actions_secret("foo-feedstock", "FEEDSTOCK_TOKEN") == "t" * 64


def test_a_rotated_actions_key_is_read_again_once(gh: FakeGitHub) -> None:
    from admin_requests.credentials.redact import Secret

    client = _client(gh)
    client.set_actions_secret("foo-feedstock", "S", Secret("one"))
    gh.rotate_actions_key("foo-feedstock")
    client.set_actions_secret("foo-feedstock", "S", Secret("two"))  # 422, new key, again
    assert gh.actions_secret("foo-feedstock", "S") == "two"
    assert gh.count("GET", r"/actions/secrets/public-key$") == 2
    assert gh.count("PUT", r"/actions/secrets/S$") == 3
    # A 422 that a fresh key does not explain is the caller's to see, not retried.
    gh.faults.on_call(1, fault=Fault.server_error(422), method="PUT", path="/secrets/S")
    with pytest.raises(PermanentError):
        client.set_actions_secret("foo-feedstock", "S", Secret("three"))
    assert gh.count("GET", r"/actions/secrets/public-key$") == 3


def test_a_second_change_after_the_first_reads_no_file(gh: FakeGitHub) -> None:
    client = _client(gh)
    repo = gh.repo("foo-feedstock")
    repo.files["a.json"] = b"1"
    first = client.change_files(
        "foo-feedstock",
        "main",
        {"a.json": lambda c: (c or b"") + b"2", "b.json": lambda c: b"b"},
        "1",
    )
    assert first is not None
    assert first.files == {"a.json": b"12", "b.json": b"b"}
    gh.reset_counters()
    second = client.change_files(
        "foo-feedstock", "main", {"a.json": lambda c: (c or b"") + b"3"}, "2", after=first
    )
    assert second is not None
    assert repo.files["a.json"] == b"123"
    # No ref, no head commit, no file read: a tree, a commit and the ref update.
    assert [(c.method, c.path.split("/git/")[-1]) for c in gh.calls] == [
        ("POST", "trees"),
        ("POST", "commits"),
        ("PATCH", "refs/heads/main"),
    ]
    assert second.commit.parents == (first.commit.sha,)


def test_a_change_after_a_commit_someone_pushed_on_reads_again(gh: FakeGitHub) -> None:
    client = _client(gh)
    repo = gh.repo("foo-feedstock")
    first = client.change_files("foo-feedstock", "main", {"a.json": lambda c: b"1"}, "1")
    assert first is not None
    theirs = gh.push_commit("foo-feedstock", "main", "theirs", {"a.json": "1their"})
    second = client.change_files(
        "foo-feedstock", "main", {"a.json": lambda c: (c or b"") + b"+"}, "2", after=first
    )
    assert second is not None
    assert repo.files["a.json"] == b"1their+"  # applied on theirs, read again
    assert second.commit.parents == (theirs,)
    assert [p.message for p in repo.pushes] == ["1", "theirs", "2"]
