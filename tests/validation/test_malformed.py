"""Malformed and hostile request files, by each kind's rules: exactly the expected problem.

The cases common to every kind sit beside the module whose rule they exercise
(test_source.py, test_checker.py, test_fields.py, test_names.py); the runner and the
case format are in tests/validation/malformed.py. Nothing may raise: the checker turns
every input into problems.
"""

from __future__ import annotations

import pytest

from tests.validation import test_checker, test_fields, test_names, test_source
from tests.validation.malformed import Case, assert_exact_problems, cases

PKG = "linux-64/numpy-2.0.0-py312h0_0.conda"
SHA = "a" * 64

CASES: list[Case] = [
    # --- entries listed twice (kinds/contract.py: check_each) ---------------------------
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
        # Issue 16 finding 11: an unbounded grace left a leaked token valid for good.
        "expiration beyond 30 days",
        "action: token_reset\nfeedstocks: [numpy]\n"
        "existing_tokens_time_to_expiration: 999999999999999999\n",
        [(3, 37, "expiration-too-long")],
        "at most 2,592,000 seconds (30 days)",
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


@pytest.mark.parametrize(("text", "expected", "fragment"), cases(CASES))
def test_malformed_request_gets_exact_problem(
    text: str, expected: list[tuple[int, int, str]], fragment: str
) -> None:
    assert_exact_problems(text, expected, fragment)


def test_case_table_is_large_enough() -> None:
    every = [
        *test_source.CASES,
        *test_checker.CASES,
        *test_fields.CASES,
        *test_names.CASES,
        *CASES,
    ]
    assert len(every) >= 60
    assert len({name for name, *_ in every}) == len(every)
