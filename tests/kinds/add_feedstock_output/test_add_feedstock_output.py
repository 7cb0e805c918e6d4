"""add_feedstock_output against FakeGitHub's feedstock-outputs repository."""

from __future__ import annotations

import json

import pytest
from conda_forge_metadata import feedstock_outputs
from hypothesis import given
from hypothesis import strategies as st

from admin_requests.kinds.add_feedstock_output import (
    ALLOWLIST_PATH,
    OutputsConfig,
    add_glob,
    sharded_path,
)
from tests.fakes import FakeGitHub, Fault
from tests.fakes.wiring import services_for
from tests.kinds.helpers import load, run, statuses

OUTPUTS = "feedstock-outputs"
CONFIG = {"outputs_path": "outputs", "shard_level": 3, "shard_fill": "z"}
ALLOWLIST = """\
# Feedstocks allowed to register outputs matching these globs automatically.
arrow:
  - libarrow*   # the C++ libraries
  - pyarrow*
# keep this one last
zlib:
  - libzlib*
"""
REQUEST = """\
action: add_feedstock_output
feedstock_to_output_mapping:
  foo:
    - foo-core
    - py
  arrow:
    - 'libparquet*'
"""


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_token("gh-admin")
    fake_github.add_repo("foo-feedstock")
    fake_github.add_repo("arrow-feedstock")
    fake_github.add_repo(
        OUTPUTS,
        files={
            "config.json": json.dumps(CONFIG),
            ALLOWLIST_PATH: ALLOWLIST,
            "outputs/p/y/z/py.json": json.dumps({"feedstocks": ["python"]}),
        },
    )
    return fake_github


def test_sharded_path_matches_conda_forge_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    # Their function downloads config.json; give it ours, offline.
    monkeypatch.setattr(feedstock_outputs, "feedstock_outputs_config", lambda: CONFIG)
    config = OutputsConfig("outputs", 3, "z")
    for name in ("numpy", "py", "r-base", "_libgcc_mutex", "X", "a.b-c_d"):
        assert sharded_path(name, config) == feedstock_outputs.sharded_path(name)


@given(st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,20}", fullmatch=True))
def test_sharded_path_matches_for_any_name(name: str) -> None:
    config = OutputsConfig("outputs", 3, "z")
    original = feedstock_outputs.feedstock_outputs_config
    feedstock_outputs.feedstock_outputs_config = lambda: CONFIG  # type: ignore[assignment]
    try:
        assert sharded_path(name, config) == feedstock_outputs.sharded_path(name)
    finally:
        feedstock_outputs.feedstock_outputs_config = original  # type: ignore[assignment]


def test_names_and_globs_are_registered_then_rerun_changes_nothing(gh: FakeGitHub) -> None:
    request = load(REQUEST)
    services = services_for(gh, None)
    assert statuses(run(request, services)) == [("done", True)] * 3
    repo = gh.repo(OUTPUTS)
    assert json.loads(repo.files["outputs/f/o/o/foo-core.json"]) == {"feedstocks": ["foo"]}
    assert json.loads(repo.files["outputs/p/y/z/py.json"]) == {"feedstocks": ["python", "foo"]}
    assert repo.file_text(ALLOWLIST_PATH) == ALLOWLIST.replace(
        "  - pyarrow*\n", "  - pyarrow*\n  - libparquet*\n"
    )
    # One commit for the whole request (upstream: one content write per output).
    assert gh.effects == {"create_tree": 1, "create_commit": 1, "update_ref": 1}
    (push,) = repo.pushes
    assert push.message == (
        "[admin-requests] Register 3 outputs and globs for arrow-feedstock, foo-feedstock\n\n"
        "Register output foo-core for foo-feedstock\n"
        "Register output py for foo-feedstock\n"
        "Allow arrow-feedstock to register outputs matching libparquet*\n"
    )
    assert gh.count("GET", "config.json") == 1  # once per run, not per item
    assert statuses(run(request, services_for(gh, None))) == [("done", False)] * 3
    assert len(repo.pushes) == 1


def test_a_request_of_many_outputs_is_one_commit(gh: FakeGitHub) -> None:
    outputs = [f"foo-lib{n}" for n in range(200)] + ["foo-*", "foo-extra-*"]
    request = load(
        "action: add_feedstock_output\nfeedstock_to_output_mapping:\n  foo:\n"
        + "".join(f"    - '{o}'\n" for o in outputs)
    )
    assert statuses(run(request, services_for(gh, None))) == [("done", True)] * 202
    repo = gh.repo(OUTPUTS)
    (push,) = repo.pushes
    assert gh.effects == {"create_tree": 1, "create_commit": 1, "update_ref": 1}
    assert push.message.startswith("[admin-requests] Register 202 outputs and globs for foo")
    assert push.message.endswith("\n... and 102 more\n")  # 100 listed, the rest counted
    assert json.loads(repo.files["outputs/f/o/o/foo-lib199.json"]) == {"feedstocks": ["foo"]}
    assert repo.file_text(ALLOWLIST_PATH).endswith("foo:\n  - foo-*\n  - foo-extra-*\n")
    # Reads: the git trees above the files, then a blob per file that exists (the
    # allowlist, once for both globs), not a read per output (202 before).
    reads = [c.path for c in gh.calls if c.method == "GET" and f"/{OUTPUTS}/" in c.path]
    assert not [r for r in reads if "/contents/outputs/" in r or r.endswith(ALLOWLIST_PATH)]
    assert sum("/git/blobs/" in r for r in reads) == 1
    assert len(reads) <= 12, reads


def test_one_broken_file_fails_its_output_only(gh: FakeGitHub) -> None:
    gh.repo(OUTPUTS).files["outputs/p/y/z/py.json"] = b"not json"
    outcomes = run(load(REQUEST), services_for(gh, None))
    assert statuses(outcomes) == [("done", True), ("failed", False), ("done", True)]
    assert "not a JSON object with a 'feedstocks' list" in outcomes[1].detail
    (push,) = gh.repo(OUTPUTS).pushes
    assert "Register 2 outputs" in push.message  # it names what it wrote, only that
    assert "output py " not in push.message


def test_entries_are_written_compactly_as_the_real_files_are(gh: FakeGitHub) -> None:
    # Byte for byte as conda-forge/feedstock-outputs has them (json.dumps defaults, no
    # newline): outputs/p/y/a/pyarrow-tests.json and outputs/l/i/b/libarrow.json.
    gh.repo(OUTPUTS).files["outputs/p/y/a/pyarrow-tests.json"] = b'{"feedstocks": ["pyarrow"]}'
    request = load(
        "action: add_feedstock_output\nfeedstock_to_output_mapping:\n"
        "  arrow-cpp: [pyarrow-tests, libarrow]\n"
    )
    gh.add_repo("arrow-cpp-feedstock")
    assert statuses(run(request, services_for(gh, None))) == [("done", True)] * 2
    files = gh.repo(OUTPUTS).files
    assert files["outputs/p/y/a/pyarrow-tests.json"] == b'{"feedstocks": ["pyarrow", "arrow-cpp"]}'
    assert files["outputs/l/i/b/libarrow.json"] == b'{"feedstocks": ["arrow-cpp"]}'


def test_a_glob_for_a_new_feedstock_keeps_the_file_as_it_was() -> None:
    new = add_glob(ALLOWLIST.encode(), feedstock="abc", glob="abc-*")
    assert new is not None
    assert new.decode() == ALLOWLIST + "abc:\n  - abc-*\n"
    assert add_glob(new, feedstock="abc", glob="abc-*") is None


def test_end_of_line_comments_stay_on_their_item() -> None:
    text = "a:\n  - x  # own\n  - y  # why\n# about z\nz:\n  - q\n"
    new = add_glob(text.encode(), feedstock="a", glob="w")
    assert new is not None
    assert new.decode() == "a:\n  - x  # own\n  - y  # why\n  - w\n# about z\nz:\n  - q\n"


def test_a_concurrent_edit_is_reread_not_overwritten(gh: FakeGitHub) -> None:
    moved = Fault("status", status=422, body=b'{"message": "Update is not a fast forward"}')
    gh.faults.on_call(1, fault=moved, method="PATCH")
    outcomes = run(load(REQUEST), services_for(gh, None))
    assert statuses(outcomes) == [("done", True)] * 3
    assert gh.effects["create_commit"] == 2  # built again on the new head
    assert len(gh.repo(OUTPUTS).pushes) == 1


def test_missing_config_fails_with_words(gh: FakeGitHub) -> None:
    del gh.repo(OUTPUTS).files["config.json"]
    outcomes = run(load(REQUEST), services_for(gh, None))
    assert [o.status.value for o in outcomes] == ["failed", "failed", "done"]
    assert "'config.json' is missing" in outcomes[0].detail


def test_transient_failures_are_retried_later(gh: FakeGitHub) -> None:
    gh.faults.at_rate(1.0, Fault.server_error(502), method="POST")
    outcomes = run(load(REQUEST), services_for(gh, None))
    assert statuses(outcomes) == [("retry", False)] * 3
    assert gh.effects == {}


def test_preflight_checks_the_feedstocks_exist(gh: FakeGitHub) -> None:
    request = load(
        "action: add_feedstock_output\nfeedstock_to_output_mapping:\n  nope: [nope-core]\n"
    )
    problems = request.kind.preflight(request.model, services_for(gh, None))
    assert [(p.code, p.line) for p in problems] == [("no-such-feedstock", 3)]


def test_outputs_for_a_feedstock_that_does_not_exist_are_never_registered(
    gh: FakeGitHub,
) -> None:
    # Whoever later created nope-feedstock would inherit them.
    request = load(
        "action: add_feedstock_output\nfeedstock_to_output_mapping:\n"
        "  nope: [nope-core, 'nope-*']\n"
    )
    outcomes = run(request, services_for(gh, None))
    assert statuses(outcomes) == [("failed", False)] * 2
    assert all("no repository 'nope-feedstock'" in o.detail for o in outcomes)
    assert gh.effects == {}


def test_preflight_says_when_an_output_or_glob_belongs_to_another_feedstock(
    gh: FakeGitHub,
) -> None:
    request = load(
        "action: add_feedstock_output\nfeedstock_to_output_mapping:\n"
        "  foo: [py, foo-core, 'libarrow*']\n  arrow: ['libarrow*']\n"
    )
    problems = request.kind.preflight(request.model, services_for(gh, None))
    # Errors: two feedstocks able to upload one name is a real conflict (test_owners.py).
    assert [(p.code, p.severity, p.line, p.column) for p in problems] == [
        ("owned-elsewhere", "error", 3, 9),
        ("owned-elsewhere", "error", 3, 23),
    ]
    assert "the output 'py' is already registered to python-feedstock" in problems[0].message
    assert "it overlaps arrow-feedstock's allowed glob 'libarrow*'" in problems[1].message
    assert "agreement of those feedstocks' maintainers" in problems[1].message


def test_a_token_scoped_to_other_repositories_is_refused(gh: FakeGitHub) -> None:
    gh.add_token("other", repositories=["foo-feedstock"], permissions={"contents": "write"})
    request = load(REQUEST)
    outcomes = run(request, services_for(gh, None, github_token="other"))
    assert [o.status.value for o in outcomes] == ["failed"] * 3
    assert gh.effects == {}
    access = request.kind.access(request.model, services_for(gh, None))
    assert access.github_repositories == (OUTPUTS,)
    assert access.github_permissions == {"contents": "write"}
