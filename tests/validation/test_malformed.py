"""Malformed and hostile request files: each gets exactly the expected problem, in place.

Each case is (id, file text, expected problems as (line, column, code), a fragment the
first message must contain). Nothing here may raise: the checker turns every input
into problems.
"""

from __future__ import annotations

import pytest

from admin_requests.validation.checker import check_text

PKG = "linux-64/numpy-2.0.0-py312h0_0.conda"
SHA = "a" * 64

CASES: list[tuple[str, str, list[tuple[int, int, str]], str]] = [
    # --- the document itself -------------------------------------------------------
    ("empty file", "", [(1, 1, "empty-file")], "the file is empty"),
    ("only a comment", "# nothing\n", [(1, 1, "empty-file")], "action: archive"),
    ("top-level list", "- action: archive\n", [(1, 1, "not-a-mapping")], "YAML mapping"),
    ("top-level scalar", "archive numpy\n", [(1, 1, "not-a-mapping")], "'action' key"),
    (
        "two documents",
        "action: archive\n---\naction: broken\n",
        [(2, 1, "multiple-documents")],
        "own file",
    ),
    (
        "tab indentation",
        "action: archive\nfeedstocks:\n\t- numpy\n",
        [(3, 1, "yaml-syntax")],
        "tab characters",
    ),
    ("unclosed quote", 'action: "archive\n', [(2, 1, "yaml-syntax")], "not valid YAML"),
    (
        "bad indentation",
        "action: archive\nfeedstocks:\n  - a\n - b\n",
        [(4, 2, "yaml-syntax")],
        "not valid YAML",
    ),
    (
        "anchor",
        "action: archive\nfeedstocks: &x\n  - numpy\n",
        [(2, 13, "yaml-alias")],
        "anchors and aliases",
    ),
    (
        "alias bomb",
        "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\naction: archive\n",
        [(1, 4, "yaml-alias")],
        "write every value out in full",
    ),
    (
        "merge key alias",
        "base: &b {revoke: false}\naction: depot\n<<: *b\n",
        [(1, 7, "yaml-alias")],
        "anchors",
    ),
    (
        "deep nesting",
        "action: archive\nfeedstocks: " + "[" * 30 + "]" * 30 + "\n",
        [(2, 32, "too-deep")],
        "nested more than 20 levels",
    ),
    ("huge flow nesting", "[" * 100_000, [(1, 21, "too-deep")], "Flatten the file"),
    (
        "control character",
        "action: archive\nfeedstocks: [\x07numpy]\n",
        [(2, 14, "yaml-syntax")],
        "not valid YAML",
    ),
    # --- action ----------------------------------------------------------------------
    ("no action", "feedstocks: [numpy]\n", [(1, 1, "missing-action")], "one of: add_feedstock"),
    (
        "action typo",
        "action: archve\nfeedstocks: [numpy]\n",
        [(1, 9, "unknown-action")],
        "did you mean 'archive'",
    ),
    ("action unknown", "action: delete_everything\n", [(1, 9, "unknown-action")], "Known actions"),
    ("action is a list", "action: [archive]\n", [(1, 9, "bad-action")], "not a list"),
    ("action empty", "action:\nfeedstocks: [numpy]\n", [(1, 8, "bad-action")], "one of"),
    (
        "action old name",
        "action: mark_broken\npackages: [x]\n",
        [(1, 9, "unknown-action")],
        "Known actions",
    ),
    # --- keys ------------------------------------------------------------------------
    (
        "unknown key",
        "action: archive\nfeedstocks: [numpy]\nreason: old\n",
        [(3, 1, "unknown-key")],
        "Allowed keys: action, feedstocks",
    ),
    (
        "key typo",
        "action: archive\nfeedstock: [numpy]\n",
        [(1, 1, "missing-key"), (2, 1, "unknown-key")],
        "Did you mean 'feedstocks'",
    ),
    ("missing key", "action: broken\n", [(1, 1, "missing-key")], "needs a 'packages' key"),
    (
        "duplicate key",
        "action: archive\nfeedstocks: [a1]\nfeedstocks: [b1]\n",
        [(3, 1, "duplicate-key")],
        "first on line 2",
    ),
    (
        "duplicate action",
        "action: archive\naction: archive\nfeedstocks: [numpy]\n",
        [(2, 1, "duplicate-key")],
        "appears twice",
    ),
    (
        "non-text key",
        "action: archive\nfeedstocks: [numpy]\n? [a, b]\n: 1\n",
        [(3, 3, "wrong-type")],
        "a key in the request",
    ),
    # --- lists -----------------------------------------------------------------------
    (
        "string instead of list",
        "action: archive\nfeedstocks: numpy\n",
        [(2, 13, "expected-list")],
        "feedstocks:\n  - numpy",
    ),
    ("empty list", "action: archive\nfeedstocks: []\n", [(2, 13, "empty-list")], "at least one"),
    ("null list", "action: archive\nfeedstocks:\n", [(2, 12, "empty-list")], "at least one"),
    (
        "mapping instead of list",
        "action: archive\nfeedstocks: {numpy: 1}\n",
        [(2, 13, "expected-list")],
        "not a mapping",
    ),
    (
        "nested list item",
        "action: archive\nfeedstocks:\n  - [numpy]\n",
        [(3, 5, "wrong-type")],
        "single text value",
    ),
    ("null item", "action: archive\nfeedstocks:\n  -\n", [(3, 4, "empty-value")], "is empty"),
    (
        "boolean item",
        "action: archive\nfeedstocks:\n  - yes\n  - true\n",
        [(4, 5, "wrong-type")],
        "quote it",
    ),
    # --- feedstock names -------------------------------------------------------------
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
    (
        "feedstock duplicate is a warning",
        "action: archive\nfeedstocks: [numpy, numpy]\n",
        [(2, 21, "duplicate-entry")],
        "listed twice",
    ),
    # --- broken / packages -----------------------------------------------------------
    (
        "package without subdir",
        "action: broken\npackages: [numpy-2.0-py_0.conda]\n",
        [(2, 12, "bad-package")],
        "exactly 'subdir/filename'",
    ),
    (
        "package unknown subdir",
        "action: broken\npackages: [linux-65/numpy-2.0-py_0.conda]\n",
        [(2, 12, "bad-package")],
        "unknown subdir 'linux-65'",
    ),
    (
        "package wrong extension",
        "action: broken\npackages: [linux-64/numpy-2.0-py_0.whl]\n",
        [(2, 12, "bad-package")],
        "does not end in .conda or .tar.bz2",
    ),
    (
        "package missing build",
        "action: not_broken\npackages: [noarch/numpy-2.0.conda]\n",
        [(2, 12, "bad-package")],
        "name-version-build",
    ),
    (
        "package channel prefix",
        f"action: broken\npackages: [conda-forge/{PKG}]\n",
        [(2, 12, "bad-package")],
        "exactly 'subdir/filename'",
    ),
    (
        "package uppercase name",
        "action: broken\npackages: [linux-64/NumPy-2.0-py_0.conda]\n",
        [(2, 12, "bad-package")],
        "use 'numpy'",
    ),
    (
        "package traversal",
        "action: broken\npackages: [../linux-64/a-1-0.conda]\n",
        [(2, 12, "bad-package")],
        "exactly 'subdir/filename'",
    ),
    (
        "package whitespace",
        "action: broken\npackages: ['linux-64/a-1 -0.conda']\n",
        [(2, 12, "bad-package")],
        "whitespace",
    ),
    (
        "package bad version",
        "action: broken\npackages: [linux-64/a-1..2-0.conda]\n",
        [(2, 12, "bad-package")],
        "not a valid conda version",
    ),
    (
        "packages as string",
        f"action: broken\npackages: {PKG}\n",
        [(2, 11, "expected-list")],
        f"packages:\n  - {PKG}",
    ),
    # --- token_reset -----------------------------------------------------------------
    (
        "unknown provider",
        "action: token_reset\nfeedstocks: [numpy]\nskip_providers: [jenkins]\n",
        [(3, 18, "bad-provider")],
        "unknown CI provider 'jenkins'",
    ),
    (
        "expiration not a number",
        "action: token_reset\nfeedstocks: [numpy]\nexisting_tokens_time_to_expiration: soon\n",
        [(3, 37, "wrong-type")],
        "whole number of seconds",
    ),
    (
        "expiration negative",
        "action: token_reset\nfeedstocks: [numpy]\nexisting_tokens_time_to_expiration: -5\n",
        [(3, 37, "wrong-type")],
        "at least 0",
    ),
    (
        "unique token not bool",
        "action: token_reset\nfeedstocks: [numpy]\nunique_token_per_provider: 'yes'\n",
        [(3, 28, "wrong-type")],
        "true or false",
    ),
    (
        "skip_providers string",
        "action: token_reset\nfeedstocks: [numpy]\nskip_providers: travis\n",
        [(3, 17, "expected-list")],
        "skip_providers:\n  - travis",
    ),
    # --- archive_branch --------------------------------------------------------------
    (
        "branches as list",
        "action: archive_branch\nfeedstocks: [arrow-cpp]\n",
        [(2, 13, "expected-mapping")],
        "to its list of branches",
    ),
    (
        "branch as string",
        "action: archive_branch\nfeedstocks:\n  arrow-cpp: 1.0.x\n",
        [(3, 14, "expected-list")],
        "  arrow-cpp:\n    - 1.0.x",
    ),
    (
        "branch main",
        "action: archive_branch\nfeedstocks:\n  arrow-cpp: [main]\n",
        [(3, 15, "bad-branch-name")],
        "default branch",
    ),
    (
        "branch traversal",
        "action: archive_branch\nfeedstocks:\n  arrow-cpp: [a..b]\n",
        [(3, 15, "bad-branch-name")],
        "not a valid git branch",
    ),
    (
        "branch feedstock suffix",
        "action: unarchive_branch\nfeedstocks:\n  a-feedstock: [1.x]\n",
        [(3, 3, "bad-feedstock-name")],
        "without the '-feedstock' suffix",
    ),
    (
        "branch duplicate feedstock",
        "action: archive_branch\nfeedstocks:\n  a1: [x]\n  a1: [y]\n",
        [(4, 3, "duplicate-key")],
        "first on line 3",
    ),
    # --- add_feedstock_output --------------------------------------------------------
    (
        "outputs old list format",
        "action: add_feedstock_output\nfeedstock_to_output_mapping:\n  - airflow: airflow-x\n",
        [(3, 3, "superseded-format")],
        "  airflow:\n    - airflow-x",
    ),
    (
        "outputs one-char glob",
        "action: add_feedstock_output\nfeedstock_to_output_mapping:\n  foo: ['*']\n",
        [(3, 9, "bad-output")],
        "one character long",
    ),
    (
        "outputs bare glob",
        "action: add_feedstock_output\nfeedstock_to_output_mapping:\n  foo: ['**']\n",
        [(3, 9, "bad-output")],
        "no literal part",
    ),
    (
        "outputs unbalanced glob",
        "action: add_feedstock_output\nfeedstock_to_output_mapping:\n  foo: ['lib[0-9']\n",
        [(3, 9, "bad-output")],
        "unbalanced",
    ),
    (
        "outputs one-char name",
        "action: add_feedstock_output\nfeedstock_to_output_mapping:\n  foo: [x]\n",
        [(3, 9, "bad-output")],
        "one character long",
    ),
    (
        "outputs string value",
        "action: add_feedstock_output\nfeedstock_to_output_mapping:\n  foo: libfoo\n",
        [(3, 8, "expected-list")],
        "  foo:\n    - libfoo",
    ),
    (
        "outputs scalar mapping",
        "action: add_feedstock_output\nfeedstock_to_output_mapping: foo\n",
        [(2, 30, "expected-mapping")],
        "must map each feedstock",
    ),
    (
        "outputs slash in name",
        "action: add_feedstock_output\nfeedstock_to_output_mapping:\n  foo: [a/b]\n",
        [(3, 9, "bad-output")],
        "contains '/'",
    ),
    # --- cfep3_copy ------------------------------------------------------------------
    (
        "sha256 too short",
        f"action: cfep3_copy\nanaconda_org_packages:\n  - package: ch/{PKG}\n    sha256: abc\n",
        [(4, 13, "bad-copy-entry")],
        "exactly 64 hexadecimal characters (this has 3)",
    ),
    (
        "sha256 not hex",
        f"action: cfep3_copy\nanaconda_org_packages:\n  - package: ch/{PKG}\n"
        f"    sha256: {'g' * 64}\n",
        [(4, 13, "bad-copy-entry")],
        "64 hexadecimal",
    ),
    (
        "copy missing sha256",
        f"action: cfep3_copy\nanaconda_org_packages:\n  - package: ch/{PKG}\n",
        [(3, 5, "missing-key")],
        "needs a 'sha256' key",
    ),
    (
        "copy entry is a string",
        f"action: cfep3_copy\nanaconda_org_packages:\n  - ch/{PKG}\n",
        [(3, 5, "expected-mapping")],
        "'package' and 'sha256'",
    ),
    (
        "copy unknown entry key",
        f"action: cfep3_copy\nanaconda_org_packages:\n  - package: ch/{PKG}\n    sha256: {SHA}\n"
        "    md5: x\n",
        [(5, 5, "unknown-key")],
        "only 'package' and 'sha256'",
    ),
    (
        "copy package without channel",
        f"action: cfep3_copy\nanaconda_org_packages:\n  - package: {PKG}\n    sha256: {SHA}\n",
        [(3, 14, "bad-copy-entry")],
        "channel[/label/<label>]",
    ),
    (
        "copy bad label path",
        f"action: cfep3_copy\nanaconda_org_packages:\n  - package: ch/lbl/x/{PKG}\n"
        f"    sha256: {SHA}\n",
        [(3, 14, "bad-copy-entry")],
        "must have the form",
    ),
    (
        "copy bad target label",
        f"action: cfep3_copy\nanaconda_org_packages:\n  - package: ch/{PKG}\n    sha256: {SHA}\n"
        "to_anaconda_org_label: 'main label'\n",
        [(5, 24, "bad-label")],
        "not a valid anaconda.org label",
    ),
    # --- CI resources ----------------------------------------------------------------
    (
        "cirun bad resource",
        "action: cirun\nfeedstocks: [numpy]\nresources: [gpu-large]\n",
        [(3, 13, "bad-resource")],
        "start with 'cirun-'",
    ),
    (
        "cirun missing resources",
        "action: cirun\nfeedstocks: [numpy]\n",
        [(1, 1, "missing-key")],
        "needs a 'resources' key",
    ),
    (
        "cirun pull_request string",
        "action: cirun\nfeedstocks: [numpy]\nresources: [cirun-x]\npull_request: 'true'\n",
        [(4, 15, "wrong-type")],
        "'pull_request: true'",
    ),
    (
        "revoke yes",
        "action: blacksmith\nfeedstocks: [numpy]\nrevoke: yes\n",
        [(3, 9, "wrong-type")],
        "true or false",
    ),
    (
        "travis revoke",
        "action: travis\nfeedstocks: [numpy]\nrevoke: true\n",
        [(3, 9, "revoke-unsupported")],
        "cannot be revoked",
    ),
    (
        "depot unknown key",
        "action: depot\nfeedstocks: [numpy]\nresources: [x]\n",
        [(3, 1, "unknown-key")],
        "Allowed keys: action, feedstocks, revoke",
    ),
]


@pytest.mark.parametrize(
    ("text", "expected", "fragment"),
    [pytest.param(text, expected, fragment, id=name) for name, text, expected, fragment in CASES],
)
def test_malformed_request_gets_exact_problem(
    text: str, expected: list[tuple[int, int, str]], fragment: str
) -> None:
    report = check_text(text, "requests/bad.yml")
    found = [(p.line, p.column, p.code) for p in report.problems]
    assert found == expected
    assert any(fragment in p.message for p in report.problems)
    assert all(p.file == "requests/bad.yml" for p in report.problems)
    assert all(p.code != "internal-error" for p in report.problems)


def test_case_table_is_large_enough() -> None:
    assert len(CASES) >= 60
    assert len({name for name, *_ in CASES}) == len(CASES)


def test_warnings_do_not_invalidate() -> None:
    report = check_text("action: archive\nfeedstocks: [numpy, numpy]\n")
    assert report.ok
    assert [item.target for item in report.items] == ["numpy-feedstock"]


def test_all_problems_of_a_file_are_reported_at_once() -> None:
    report = check_text(
        "action: archive\nfeedstocks:\n  - ok-name\n  - bad/name\n  - other-feedstock\n"
    )
    assert [(p.line, p.code) for p in report.problems] == [
        (4, "bad-feedstock-name"),
        (5, "bad-feedstock-name"),
    ]
