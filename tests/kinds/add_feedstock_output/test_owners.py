"""Names and globs that already belong to another feedstock, read from real shards.

The fake GitHub's feedstock-outputs holds conda-forge's own files (tests/data/
feedstock-outputs/: the allowlist and 205 outputs in their real shards), so what the
preflight and ``check --online`` report is what they would report on conda-forge.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from admin_requests.kinds.add_feedstock_output import ALLOWLIST_PATH, OutputsConfig, owners
from admin_requests.validation.problems import Problem
from tests.fakes import FakeGitHub, git_trees
from tests.fakes.wiring import services_for
from tests.kinds.helpers import load

DATA = Path(__file__).resolve().parents[2] / "data" / "feedstock-outputs"
SAMPLE: dict[str, str] = json.loads((DATA / "outputs-sample.json").read_text())["files"]
ALLOWLIST = (DATA / "feedstock_outputs_autoreg_allowlist.yml").read_text()
OUTPUTS = "feedstock-outputs"
FEEDSTOCKS = ("foo", "llvmdev", "arrow-cpp", "m2-binary-packages", "pyarrow")


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_token("gh-admin")
    for name in FEEDSTOCKS:
        fake_github.add_repo(f"{name}-feedstock")
    fake_github.add_repo(OUTPUTS, files={**SAMPLE, ALLOWLIST_PATH: ALLOWLIST})
    return fake_github


def _preflight(gh: FakeGitHub, mapping: str) -> list[Problem]:
    request = load(f"action: add_feedstock_output\nfeedstock_to_output_mapping:\n{mapping}")
    return request.kind.preflight(request.model, services_for(gh, None))


def _found(problems: list[Problem]) -> list[tuple[str, str, int, int]]:
    return [(p.code, p.severity, p.line, p.column) for p in problems]


def test_a_name_registered_to_another_feedstock_is_an_error_that_says_the_fix(
    gh: FakeGitHub,
) -> None:
    problems = _preflight(gh, "  foo:\n    - pyarrow\n    - foo-core\n")
    assert _found(problems) == [("owned-elsewhere", "error", 4, 7)]
    message = problems[0].message
    assert (
        "the output 'pyarrow' is already registered to arrow-cpp-feedstock, pyarrow-feedstock"
    ) in message
    assert "feedstock-outputs: outputs/p/y/a/pyarrow.json" in message
    assert "adding it lets foo-feedstock upload it too" in message
    assert "link the agreement of those feedstocks' maintainers" in message
    assert "Otherwise remove it from the request" in message


def test_a_name_that_another_feedstocks_glob_matches_is_an_error(gh: FakeGitHub) -> None:
    # libllvm99 is registered to nobody, but llvmdev's 'libllvm*' lets llvmdev upload it.
    problems = _preflight(gh, "  foo: [libllvm99]\n")
    assert _found(problems) == [("owned-elsewhere", "error", 3, 9)]
    assert "matches llvmdev-feedstock's allowed glob 'libllvm*'" in problems[0].message
    assert f"feedstock-outputs: {ALLOWLIST_PATH}" in problems[0].message


def test_a_glob_that_matches_outputs_of_other_feedstocks_is_an_error(gh: FakeGitHub) -> None:
    # As conda-forge's own allowlist has it: llvmdev's 'libllvm*' also matches
    # llvm-spirv's libllvmspirv outputs, which llvmdev could then upload.
    problems = _preflight(gh, "  llvmdev: ['libllvm*', 'libllvm2*']\n  foo: ['libparquet-x*']\n")
    assert _found(problems) == [("owned-elsewhere", "error", 3, 13)]
    message = problems[0].message
    assert (
        "the glob 'libllvm*' matches outputs registered to llvm-spirv-feedstock: libllvmspirv, "
        "libllvmspirv14, libllvmspirv15, libllvmspirv16, libllvmspirv17 and 5 more"
    ) in message
    assert "with this glob, llvmdev-feedstock could upload them too" in message
    assert "narrow the glob so it matches none of them" in message
    # 'libllvm2*' matches only llvmdev's own outputs, 'libparquet-x*' nothing: both fine.


def test_a_glob_overlapping_another_feedstocks_glob_is_an_error(gh: FakeGitHub) -> None:
    problems = _preflight(gh, "  foo: ['m2-foo*']\n")
    assert _found(problems) == [("owned-elsewhere", "error", 3, 9)]
    assert "it overlaps m2-binary-packages-feedstock's allowed glob 'm2-*'" in problems[0].message


def test_one_listing_per_shard_and_one_read_per_distinct_file(gh: FakeGitHub) -> None:
    names = "[libarrow, libarrow-acero, libarrow-nope, libparquet, pyarrow-core, pyarrow-x]"
    problems = _preflight(gh, f"  foo: {names}\n")
    assert [p.message.split(";")[0] for p in problems] == [
        "the output 'libarrow' is already registered to arrow-cpp-feedstock "
        "(in feedstock-outputs: outputs/l/i/b/libarrow.json)",
        "the output 'libarrow-acero' is already registered to arrow-cpp-feedstock "
        "(in feedstock-outputs: outputs/l/i/b/libarrow-acero.json)",
        "the output 'libparquet' is already registered to arrow-cpp-feedstock "
        "(in feedstock-outputs: outputs/l/i/b/libparquet.json)",
        "the output 'pyarrow-core' is already registered to pyarrow-feedstock "
        "(in feedstock-outputs: outputs/p/y/a/pyarrow-core.json)",
    ]
    # Two shards (l/i/b, p/y/a): one tree each, their parents listed once each; the
    # three arrow-cpp files are one blob. No request per name.
    assert gh.count("GET", r"/git/trees/") == 2
    assert gh.count("GET", r"/contents/outputs/l/i$") == 1
    assert gh.count("GET", r"/contents/outputs/p/y$") == 1
    assert gh.count("GET", r"/contents/outputs/.*\.json") == 0
    assert gh.count("GET", r"/git/blobs/") == 2
    assert gh.count("GET", ALLOWLIST_PATH) == 1
    assert gh.count("GET", "config.json") == 1


def test_a_short_stem_lists_the_folder_of_shards_below_it(gh: FakeGitHub) -> None:
    # 'm2-*' has two letters or digits before its wildcard, fewer than the three shard
    # levels: its matches are in the 19 shards under outputs/m/2/, one recursive tree.
    problems = _preflight(gh, "  m2-binary-packages: ['m2-*']\n")
    assert _found(problems) == [("owned-elsewhere", "error", 3, 24)]
    assert "matches outputs registered to m2-conda-epoch-feedstock: m2-conda-epoch" in (
        problems[0].message
    )
    assert gh.count("GET", r"/git/trees/") == 1
    assert gh.count("GET", r"/git/blobs/") == 2  # 152 files, two distinct contents


def test_a_truncated_tree_is_read_one_sub_tree_at_a_time(
    gh: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = _preflight(gh, "  m2-binary-packages: ['m2-*']\n")
    calls = gh.count("GET", r"/git/trees/")
    # GitHub's limit is 100,000: below m/2 are 152 files, 48 at most in one shard.
    monkeypatch.setattr(git_trees, "RECURSIVE_MAX_ENTRIES", 50)
    assert _preflight(gh, "  m2-binary-packages: ['m2-*']\n") == whole
    shards = {path.rsplit("/", 1)[0] for path in SAMPLE if path.startswith("outputs/m/2/")}
    assert len(shards) == 19
    # The truncated answer, the folder itself, then each of its shards.
    assert gh.count("GET", r"/git/trees/") - calls == 1 + 1 + len(shards)


def test_shard_folders_follow_the_sharding_of_config_json() -> None:
    config = OutputsConfig("outputs", 3, "z")
    assert owners.shard_folder("py", config) == ("outputs/p/y/z", False)
    assert owners.shard_folder("_libgcc_mutex", config) == ("outputs/l/i/b", False)
    assert owners.shard_folder("libarrow*", config) == ("outputs/l/i/b", False)
    assert owners.shard_folder("m2-*", config) == ("outputs/m/2", True)
    assert owners.shard_folder("r-a[bc]*", config) == ("outputs/r/a", True)
    assert owners.shard_folder("foo!", config) == ("outputs/f/o/o", False)  # '!' is literal


def test_a_glob_wider_than_the_check_reads_is_a_warning(
    gh: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(owners, "MAX_FILES_PER_GLOB", 0)
    problems = _preflight(gh, "  llvmdev: ['libllvm1*']\n")
    assert _found(problems) == [("glob-too-wide", "warning", 3, 13)]
    assert "the owners of 10 of them were not checked" in problems[0].message
