"""Property-based and fuzz tests: hostile input never crashes `check`, and what `check`
accepts is exactly what the models can carry out: the queue runner reads, plans,
executes and writes back every file `check` accepts (issue 9, hostile input).

Bounded by example counts, never by time. The byte-level fuzz targets here use
hypothesis; tests/fuzz/ has the coverage-guided (atheris) target for the same loader.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from admin_requests.kinds import REGISTRY
from admin_requests.validation.checker import check_text
from admin_requests.validation.source import MAX_FILE_BYTES
from tests.fuzz.properties import assert_accepted_is_executable, assert_bytes_are_handled
from tests.fuzz.strategies import names, package_files, plausible_names
from tests.kinds.kind_hooks import hooks_of

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    names,
    plausible_names,
    package_files,
    st.booleans(),
    st.integers(),
    st.none(),
    st.floats(allow_nan=False),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(names, plausible_names), inner, max_size=4),
    ),
    max_leaves=12,
)
keys = st.sampled_from(
    [
        "feedstocks",
        "packages",
        "feedstock_to_output_mapping",
        "anaconda_org_packages",
        "to_anaconda_org_label",
        "skip_providers",
        "revoke",
        "resources",
        "pull_request",
        "send_pr",
        "existing_tokens_time_to_expiration",
        "unique_token_per_provider",
        "extra",
    ]
)
requests = st.builds(
    lambda action, body: {"action": action, **body},
    st.one_of(st.sampled_from(sorted(REGISTRY)), names),
    st.dictionaries(keys, values, max_size=4),
)


def _dump(document: object) -> str:
    stream = io.StringIO()
    YAML(typ="safe", pure=True).dump(document, stream)
    return stream.getvalue()


@FUZZ
@given(requests)
def test_generated_requests_never_crash_and_accepted_ones_are_executable(doc: object) -> None:
    assert_accepted_is_executable(_dump(doc))


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes_the_loader(text: str) -> None:
    report = check_text(text)
    assert all(p.code != "internal-error" for p in report.problems)


@FUZZ
@given(
    st.lists(
        st.sampled_from(
            [
                "action: ",
                "archive",
                "broken",
                "\n",
                "  ",
                "- ",
                "feedstocks:",
                "packages:",
                "&a ",
                "*a",
                "[",
                "]",
                "{",
                "}",
                ": ",
                "'",
                '"',
                "#",
                "---",
                "? ",
                "\t",
                "x",
                "linux-64/a-1-0.conda",
                "!!python/object:os.system ",
                "<<: ",
                ",",
                "|",
                ">",
            ]
        ),
        max_size=40,
    )
)
def test_yaml_token_soup_never_crashes(tokens: list[str]) -> None:
    """A structure-aware fuzz target for the YAML loader: YAML's own tokens, shuffled."""
    assert_accepted_is_executable("".join(tokens))


@FUZZ
@given(st.sampled_from(sorted(REGISTRY)), st.lists(plausible_names, min_size=1, max_size=5))
def test_plausible_feedstock_requests_are_accepted(action: str, feedstocks: list[str]) -> None:
    kind = REGISTRY[action]
    if "feedstocks" not in kind.required_keys or action in ("archive_branch", "unarchive_branch"):
        return
    body: dict[str, object] = {"action": action, "feedstocks": feedstocks}
    if action == "cirun":
        body["resources"] = ["cirun-openstack-gpu-large"]
    report = check_text(_dump(body))
    assert report.ok, report.problems
    assert len(report.items) == len(set(feedstocks))


def test_python_tags_are_never_constructed() -> None:
    report = check_text("action: !!python/object/apply:os.system ['true']\n")
    assert not report.ok


# -- request files as people write them: every kind, block and flow style, comments,
# quoting, plausible and hostile names mixed --------------------------------------------


def request_files(action: str | None = None) -> st.SearchStrategy[str]:
    """Files of ``action`` (or of any kind), from each kind's hooks (tests/kinds/<kind>/)."""
    if action is not None:
        return hooks_of(action).request_files()
    return st.sampled_from(sorted(REGISTRY)).flatmap(lambda a: hooks_of(a).request_files())


@FUZZ
@given(request_files())
def test_request_files_as_people_write_them(text: str) -> None:
    assert_accepted_is_executable(text)


@pytest.mark.parametrize("action", sorted(REGISTRY))
def test_the_generator_writes_accepted_files_of_every_kind(action: str) -> None:
    """The strategy is worth something only if it also produces valid files."""
    accepted: list[str] = []

    # Derandomized: whether the strategy can write an accepted file is a property of the
    # strategy, and a random seed made it fail once in CI (0 of 100 for depot, at about
    # 8% acceptance) without anything having changed.
    @settings(
        max_examples=100,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        derandomize=True,
    )
    @given(request_files(action))
    def collect(text: str) -> None:
        if check_text(text).ok:
            accepted.append(text)

    collect()
    assert accepted
    assert {check_text(text).action for text in accepted} == {action}


# -- byte-level fuzzing of the loader (hypothesis; tests/fuzz/ has the atheris target) --

CORPUS_SEEDS = sorted(
    Path(__file__).resolve().parents[2].joinpath("docs", "examples").glob("*.yml")
)


@st.composite
def mutated_seeds(draw: st.DrawFn) -> bytes:
    """A real example file with random byte insertions, deletions and replacements."""
    data = bytearray(draw(st.sampled_from(CORPUS_SEEDS)).read_bytes())
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data)))
        what = draw(st.sampled_from(["insert", "delete", "replace"]))
        chunk = draw(st.binary(min_size=1, max_size=6))
        if what == "insert":
            data[at:at] = chunk
        elif what == "delete":
            del data[at : at + len(chunk)]
        else:
            data[at : at + len(chunk)] = chunk
    return bytes(data)


@FUZZ
@given(st.one_of(mutated_seeds(), st.binary(max_size=400)))
def test_arbitrary_bytes_never_crash_the_loader(raw: bytes) -> None:
    assert_bytes_are_handled(raw)


def test_a_file_over_the_size_limit_is_refused_before_parsing() -> None:
    assert_bytes_are_handled(b"action: archive\nfeedstocks:\n" + b"  - a\n" * MAX_FILE_BYTES)
