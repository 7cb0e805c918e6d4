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
from tests.fuzz.properties import (
    EXECUTE_PARAMS,
    assert_accepted_is_executable,
    assert_bytes_are_handled,
    executes,
)

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


def test_every_kind_that_executes_has_its_params_listed() -> None:
    """Extension point: a kind that gains execute() lists its params in EXECUTE_PARAMS
    (tests/fuzz/properties.py) and gets a case in request_files() below."""
    assert sorted(a for a in REGISTRY if executes(a)) == sorted(EXECUTE_PARAMS)


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

# Mostly names that pass, so most generated files are accepted and go down the runner's
# path; the rest are hostile.
mostly_plausible = st.one_of(plausible_names, plausible_names, plausible_names, names)
plausible_package_files = st.builds(
    lambda subdir, name, version, build, ext: f"{subdir}/{name}-{version}-{build}{ext}",
    st.sampled_from(["linux-64", "osx-arm64", "noarch", "win-64"]),
    plausible_names,
    st.from_regex(r"[0-9]{1,3}(\.[0-9a-z]{1,3}){0,2}", fullmatch=True),
    st.from_regex(r"[a-z0-9_]{1,12}", fullmatch=True),
    st.sampled_from([".conda", ".tar.bz2"]),
)
mostly_plausible_files = st.one_of(plausible_package_files, plausible_package_files, package_files)
hex_digests = st.one_of(
    st.text("0123456789abcdef", min_size=64, max_size=64),
    st.text("0123456789abcdefABCDEFg", min_size=60, max_size=66),
)
branches = st.one_of(
    st.from_regex(r"[0-9]{1,2}\.[0-9x]{1,2}(\.x)?", fullmatch=True),
    st.from_regex(r"[0-9]{1,2}\.[0-9x]{1,2}(\.x)?", fullmatch=True),
    names,
)
globs = st.builds(
    lambda name, tail: f"{name}{tail}",
    plausible_names,
    st.sampled_from(["*", "-*", "?", "[ab]", ""]),
)
copy_specs = st.builds(
    lambda channel, label, file: f"{channel}{label}/{file}",
    mostly_plausible,
    st.sampled_from(["", "/label/main", "/label/rc", "/label/", "/label/a b"]),
    mostly_plausible_files,
)


@st.composite
def scalar_text(draw: st.DrawFn, value: str) -> str:
    """``value`` as YAML, plain or quoted (quoting that cannot parse is fine too)."""
    style = draw(st.sampled_from(["plain", "single", "double"]))
    if style == "single":
        return "'" + value.replace("'", "''") + "'"
    if style == "double":
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


@st.composite
def yaml_list(draw: st.DrawFn, values: list[str], indent: str) -> str:
    """A YAML sequence (after its key) in block or flow style, with comments."""
    rendered = [draw(scalar_text(v)) for v in values]
    if draw(st.booleans()) and rendered:
        return " [" + ", ".join(rendered) + "]\n"
    out = "\n"
    for value in rendered:
        if draw(st.integers(0, 4)) == 0:
            out += f"{indent}# {draw(names)}\n"
        comment = f"  # {draw(names)}" if draw(st.integers(0, 3)) == 0 else ""
        out += f"{indent}- {value}{comment}\n"
    return out


CI_KINDS = ("travis", "cirun", "blacksmith", "namespace", "depot", "cirrus_runners")
booleans_as_written = st.sampled_from(["true", "false", "yes", "True", "0", "'true'"])


@st.composite
def ci_or_token_options(draw: st.DrawFn, action: str) -> str:
    """The optional keys of token_reset and the CI-resource kinds, some of them wrong."""
    out = ""
    if action == "token_reset":
        if draw(st.booleans()):
            providers = draw(
                st.lists(st.sampled_from(["azure", "github_actions", "travis", "x"]), max_size=3)
            )
            out += "skip_providers:" + (draw(yaml_list(providers, "  ")) if providers else " []\n")
        if draw(st.booleans()):
            expiration = draw(st.one_of(st.integers(-5, 10**6), names))
            out += f"existing_tokens_time_to_expiration: {expiration}\n"
        return out
    # Keys of cirun only, sometimes on the other CI kinds (where they are refused).
    if action == "cirun" or draw(st.integers(0, 9)) == 0:
        resources = draw(
            st.lists(
                st.one_of(
                    st.just("cirun-openstack-gpu-large"), st.builds("cirun-{}".format, names)
                ),
                min_size=1,
                max_size=3,
            )
        )
        out += "resources:" + draw(yaml_list(resources, "  "))
    keys = ("revoke", "pull_request", "send_pr") if action == "cirun" else ("revoke",)
    for key in keys:
        if draw(st.integers(0, 3)) == 0:
            out += f"{key}: {draw(booleans_as_written)}\n"
    return out


@st.composite
def request_files(draw: st.DrawFn, action: str | None = None) -> str:
    action = action or draw(st.sampled_from(sorted(EXECUTE_PARAMS)))
    head = f"# {draw(names)}\n" if draw(st.booleans()) else ""
    head += f"action: {action}\n"
    if action in ("archive", "unarchive", "token_reset", *CI_KINDS):
        values = draw(st.lists(mostly_plausible, min_size=1, max_size=5))
        body = head + "feedstocks:" + draw(yaml_list(values, "  "))
        return body + draw(ci_or_token_options(action))
    if action in ("broken", "not_broken"):
        values = draw(st.lists(mostly_plausible_files, min_size=1, max_size=5))
        return head + "packages:" + draw(yaml_list(values, "  "))
    if action == "cfep3_copy":
        body = "anaconda_org_packages:\n"
        for _ in range(draw(st.integers(1, 4))):
            spec = draw(scalar_text(draw(copy_specs)))
            body += f"  - package: {spec}\n    sha256: {draw(hex_digests)}\n"
        if draw(st.booleans()):
            body += f"to_anaconda_org_label: {draw(mostly_plausible)}\n"
        return head + body
    key, values_of = {
        "archive_branch": ("feedstocks", branches),
        "unarchive_branch": ("feedstocks", branches),
        "add_feedstock_output": ("feedstock_to_output_mapping", st.one_of(plausible_names, globs)),
    }[action]
    body = f"{key}:\n"
    for name in draw(st.lists(mostly_plausible, min_size=1, max_size=3)):
        values = draw(st.lists(values_of, min_size=1, max_size=4))
        body += f"  {draw(scalar_text(name))}:" + draw(yaml_list(values, "    "))
    return head + body


@FUZZ
@given(request_files())
def test_request_files_as_people_write_them(text: str) -> None:
    assert_accepted_is_executable(text)


@pytest.mark.parametrize("action", sorted(EXECUTE_PARAMS))
def test_the_generator_writes_accepted_files_of_every_kind(action: str) -> None:
    """The strategy is worth something only if it also produces valid files."""
    accepted: list[str] = []

    @settings(max_examples=100, deadline=None, database=None, phases=[Phase.generate])
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
