"""Names in requests: plain feedstock and package names, nothing that reaches elsewhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from admin_requests.validation.names import (
    PackageFile,
    check_branch_name,
    check_feedstock_name,
    check_label,
    check_output_name_or_glob,
    check_package_name,
    check_sha256,
    is_glob,
    parse_package_file,
)
from tests.validation.malformed import Case, assert_exact_problems, cases

# conda-forge/feedstock-outputs' allowlist, unchanged (tests/data/README.md).
REAL_ALLOWLIST = (
    Path(__file__).parents[1]
    / "data"
    / "feedstock-outputs"
    / "feedstock_outputs_autoreg_allowlist.yml"
)

# Feedstock names, as every kind that lists feedstocks checks them.

CASES: list[Case] = [
    (
        "feedstock suffix",
        "action: archive\nfeedstocks: [numpy-feedstock]\n",
        [(2, 14, "bad-feedstock-name")],
        "without the '-feedstock' suffix: 'numpy'",
    ),
    (
        "feedstock with slash",
        "action: archive\nfeedstocks: [conda-forge/numpy]\n",
        [(2, 14, "bad-feedstock-name")],
        "contains '/'",
    ),
    (
        "feedstock path traversal",
        "action: unarchive\nfeedstocks: ['..']\n",
        [(2, 14, "bad-feedstock-name")],
        "contains '..'",
    ),
    (
        "feedstock dotdot inside",
        "action: archive\nfeedstocks: [a..b]\n",
        [(2, 14, "bad-feedstock-name")],
        "contains '..'",
    ),
    (
        "feedstock whitespace",
        "action: archive\nfeedstocks: ['num py']\n",
        [(2, 14, "bad-feedstock-name")],
        "whitespace",
    ),
    (
        "feedstock control char",
        'action: archive\nfeedstocks: ["num\\x1bpy"]\n',
        [(2, 14, "bad-feedstock-name")],
        "control character",
    ),
    (
        "feedstock leading dash",
        "action: archive\nfeedstocks: [-numpy]\n",
        [(2, 14, "bad-feedstock-name")],
        "not valid",
    ),
    (
        "feedstock url",
        "action: travis\nfeedstocks:\n  - https://github.com/x/y\n",
        [(3, 5, "bad-feedstock-name")],
        "contains '/'",
    ),
    (
        "feedstock shell",
        "action: archive\nfeedstocks: ['$(rm -rf ~)']\n",
        [(2, 14, "bad-feedstock-name")],
        "whitespace",
    ),
    (
        "feedstock unicode",
        "action: archive\nfeedstocks: [nümpy]\n",
        [(2, 14, "bad-feedstock-name")],
        "letters, digits",
    ),
]


@pytest.mark.parametrize(("text", "expected", "fragment"), cases(CASES))
def test_a_bad_feedstock_name_gets_exact_problem(
    text: str, expected: list[tuple[int, int, str]], fragment: str
) -> None:
    assert_exact_problems(text, expected, fragment)


@pytest.mark.parametrize(
    "name", ["numpy", "r-base", "_libgcc_mutex", "7za", "PyQt", "gtk2+", "a.b"]
)
def test_the_names_conda_forge_uses_are_accepted(name: str) -> None:
    assert check_feedstock_name(name) is None


def test_a_package_name_with_capitals_is_shown_in_lower_case() -> None:
    assert check_package_name("numpy") is None
    message = check_package_name("NumPy")
    assert message is not None
    assert "(use 'numpy')" in message


@pytest.mark.parametrize(
    ("value", "package"),
    [
        (
            "linux-64/numpy-2.0.0-py312h0_0.conda",
            PackageFile("linux-64", "numpy", "2.0.0", "py312h0_0", ".conda"),
        ),
        (
            "noarch/python-dateutil-2.9.0.post0-pyhd8ed1ab_0.tar.bz2",
            PackageFile("noarch", "python-dateutil", "2.9.0.post0", "pyhd8ed1ab_0", ".tar.bz2"),
        ),
    ],
)
def test_a_package_file_splits_and_joins_back(value: str, package: PackageFile) -> None:
    assert parse_package_file(value) == (package, None)
    assert package.basename == value
    assert package.filename == value.split("/")[1]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("linux-64/numpy-2.0.0.conda", "name-version-build"),
        ("win-128/numpy-2.0.0-0.conda", "unknown subdir 'win-128'"),
        ("linux-64/numpy-2..0-0.conda", "not a valid conda version"),
        ("linux-64/numpy-2.0-py$0.conda", "not a valid conda build string"),
    ],
)
def test_a_package_file_that_is_not_an_artifact_says_why(value: str, fragment: str) -> None:
    package, message = parse_package_file(value)
    assert package is None
    assert message is not None
    assert fragment in message


def test_outputs_are_names_or_globs_anchored_to_a_name() -> None:
    assert (is_glob("libfoo*"), is_glob("libfoo")) == (True, False)
    assert check_output_name_or_glob("libfoo*") is None
    assert check_output_name_or_glob("libfoo") is None
    for value, fragment in [
        ("*", "one character long"),
        ("*-*", "no literal part"),
        ("[a-z]*", "no literal part"),
        ("*e*", "does not start with the name"),
        ("?*a", "does not start with the name"),
        ("l[ib]foo*", "does not start with the name"),
        ("lib[ab", "unbalanced"),
        ("lib foo*", "whitespace"),
        ("LibFoo", "valid conda package name"),
    ]:
        message = check_output_name_or_glob(value)
        assert message is not None
        assert fragment in message, value


@pytest.mark.parametrize("branch", ["1.2.x", "2.10", "v1/maintenance", "rc_1"])
def test_branches_git_allows_are_accepted(branch: str) -> None:
    assert check_branch_name(branch) is None


@pytest.mark.parametrize("branch", ["a..b", "-x", "x.lock", "x/", "a b", "a~1", "a@{1}", "main"])
def test_branches_git_refuses_and_the_default_branch_are_refused(branch: str) -> None:
    assert check_branch_name(branch) is not None


def test_digests_and_labels() -> None:
    assert check_sha256("A" * 64) is None
    message = check_sha256("a" * 63)
    assert message is not None
    assert "(this has 63)" in message
    assert check_label("gcc_rc") is None
    assert check_label("main..x") is not None
    assert check_label("main label") is not None


def test_every_glob_conda_forge_has_granted_passes() -> None:
    allowlist = YAML(typ="safe").load(REAL_ALLOWLIST.read_text())
    globs = [glob for feedstock_globs in allowlist.values() for glob in feedstock_globs]
    assert len(globs) > 100
    assert [glob for glob in globs if check_output_name_or_glob(glob) is not None] == []
