"""Hypothesis building blocks for request files: names, package files, YAML lists.

Shared by tests/validation/test_properties.py and each kind's ``request_files``
strategy in tests/kinds/<kind>/hooks.py.
"""

from __future__ import annotations

from hypothesis import strategies as st

name_chars = st.sampled_from("abcxyz019-_.+/ \t\n\x00\x1b*?[]!:#&*|>'\"é")
names = st.text(name_chars, min_size=0, max_size=12)
# Comments as people write them. A control character or a line break in a comment makes
# the whole file unparseable; drawn from ``names`` they refused over half the generated
# files, and a kind's 100 examples could all be refused. Hostile text stays in values.
comments = st.text(st.sampled_from("abcxyz019-_.+/ \t*?[]!:#&|>'\"é"), max_size=12)
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
booleans_as_written = st.sampled_from(["true", "false", "yes", "True", "0", "'true'"])


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
            out += f"{indent}# {draw(comments)}\n"
        comment = f"  # {draw(comments)}" if draw(st.integers(0, 3)) == 0 else ""
        out += f"{indent}- {value}{comment}\n"
    return out


@st.composite
def head(draw: st.DrawFn, action: str) -> str:
    """The first lines of a request file: maybe a comment, then its action."""
    comment = f"# {draw(comments)}\n" if draw(st.booleans()) else ""
    return comment + f"action: {action}\n"


@st.composite
def list_file(
    draw: st.DrawFn,
    action: str,
    key: str = "feedstocks",
    values_of: st.SearchStrategy[str] = mostly_plausible,
) -> str:
    """``action`` with a list of ``values_of`` (mostly plausible names) under ``key``."""
    values = draw(st.lists(values_of, min_size=1, max_size=5))
    return draw(head(action)) + f"{key}:" + draw(yaml_list(values, "  "))


@st.composite
def mapping_of_lists_file(
    draw: st.DrawFn, action: str, key: str, values_of: st.SearchStrategy[str]
) -> str:
    """``action`` with a mapping from (mostly plausible) names to lists of ``values_of``."""
    body = f"{key}:\n"
    for name in draw(st.lists(mostly_plausible, min_size=1, max_size=3)):
        values = draw(st.lists(values_of, min_size=1, max_size=4))
        body += f"  {draw(scalar_text(name))}:" + draw(yaml_list(values, "    "))
    return draw(head(action)) + body
