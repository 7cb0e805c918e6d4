"""Property-based and fuzz tests: hostile input never crashes `check`, and what `check`
accepts is exactly what the models can carry out."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from admin_requests.checker import check_text
from admin_requests.names import (
    check_feedstock_name,
    check_output_name_or_glob,
    parse_package_file,
)
from admin_requests.requests import REGISTRY

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

name_chars = st.sampled_from("abcxyz019-_.+/ \t\n\x00\x1b*?[]!:#&*|>'\"é")
names = st.text(name_chars, min_size=0, max_size=12)
plausible_names = st.from_regex(r"[a-z0-9][a-z0-9_.-]{0,10}[a-z0-9]", fullmatch=True).filter(
    lambda name: ".." not in name
)
subdirs = st.sampled_from(["linux-64", "osx-arm64", "noarch", "win-64", "linux-65", "x"])
package_files = st.builds(
    lambda subdir, name, version, build, ext: f"{subdir}/{name}-{version}-{build}{ext}",
    subdirs,
    st.one_of(plausible_names, names),
    st.one_of(st.just("1.0"), names),
    st.one_of(st.just("h0_0"), names),
    st.sampled_from([".conda", ".tar.bz2", ".zip"]),
)
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


def _assert_accepted_is_executable(text: str) -> None:
    report = check_text(text)
    assert all(p.code != "internal-error" for p in report.problems), report.problems
    if not report.ok:
        assert report.model is None
        assert all(p.line >= 1 and p.column >= 1 for p in report.problems)
        return
    # Accepted: the models can carry it out. Every item is well-formed and every
    # name it will act on passes the same checks the processing engine relies on.
    assert report.model is not None
    assert report.action in REGISTRY
    assert report.items, "an accepted request acts on at least one item"
    assert len({item.id for item in report.items}) == len(report.items)
    for item in report.items:
        assert item.action == report.action
        target = item.target.removesuffix("-feedstock")
        if report.action in ("broken", "not_broken"):
            assert parse_package_file(item.target)[0] is not None
        elif report.action == "add_feedstock_output":
            assert check_output_name_or_glob(target) is None
        elif report.action != "cfep3_copy":
            assert check_feedstock_name(target) is None
        assert not any(c in item.target for c in "\n\r\t\x00 ")


@FUZZ
@given(requests)
def test_generated_requests_never_crash_and_accepted_ones_are_executable(doc: object) -> None:
    _assert_accepted_is_executable(_dump(doc))


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
    _assert_accepted_is_executable("".join(tokens))


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
