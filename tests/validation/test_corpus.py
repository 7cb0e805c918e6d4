"""Every real request conda-forge processed must pass, or fail naming the current format."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from admin_requests.validation.checker import check_file

# Problems that mean "this was valid in an older format": the message must show the
# current one.
SUPERSEDED_CODES = {
    "superseded-format": "feedstock_to_output_mapping:\n  ",
    "expected-list": "must be a list, even with one entry; write it as:\n",
}


# Real requests refused on purpose since issue 16 (finding 7): they act on an
# infrastructure repository, which core now changes by hand.
PROTECTED_TARGETS = {"cfrp-801c4eed.yml": "'conda-forge-repodata-patches-feedstock'"}


def _fates(corpus: Path) -> dict[str, str]:
    with (corpus.parent / "real-requests.tsv").open(newline="") as handle:
        return {row["file"]: row["fate"] for row in csv.DictReader(handle, delimiter="\t")}


def test_corpus_is_complete(corpus_dir: Path) -> None:
    fates = _fates(corpus_dir)
    assert len(fates) == 712
    assert sorted(fates) == sorted(p.name for p in corpus_dir.iterdir())


def test_every_processed_file_passes_or_names_the_current_format(corpus_dir: Path) -> None:
    accepted = superseded = protected = 0
    failures = []
    for name, fate in sorted(_fates(corpus_dir).items()):
        report = check_file(corpus_dir / name)
        if fate != "processed":
            continue
        errors = [p for p in report.problems if p.is_error]
        if name in PROTECTED_TARGETS:
            assert [p.code for p in errors] == ["protected-repository"], name
            assert PROTECTED_TARGETS[name] in errors[0].message
            protected += 1
            continue
        if not errors:
            accepted += 1
            assert report.items, name
            continue
        for problem in errors:
            expected = SUPERSEDED_CODES.get(problem.code)
            if expected is None or expected not in problem.message:
                failures.append(problem.format_text())
        superseded += 1
    assert failures == []
    # The figures reported in the issue note; a change here is a behaviour change.
    assert (accepted, superseded, protected) == (552, 142, 1)


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("add-airflow-outputs-8d70b544.yml", "superseded-format"),
        ("add-requests_ntlm-outputs-803c44aa.yml", "expected-list"),
    ],
)
def test_superseded_files_get_the_rewritten_request(corpus_dir: Path, name: str, code: str) -> None:
    (problem,) = check_file(corpus_dir / name).problems
    assert problem.code == code
    assert problem.line == 3
    if code == "superseded-format":
        assert problem.message.endswith("  airflow:\n    - airflow-with-polars")


def test_not_processed_files_never_crash_the_checker(corpus_dir: Path) -> None:
    for name, fate in _fates(corpus_dir).items():
        if fate == "processed":
            continue
        report = check_file(corpus_dir / name)
        assert all(p.code != "internal-error" for p in report.problems), name
