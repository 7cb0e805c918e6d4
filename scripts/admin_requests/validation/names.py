"""Offline checks of the names, filenames and hashes that requests are made of.

Each ``check_*`` returns None when the value is fine, or a message that says what is
wrong and how to fix it. They are pure functions so the checker, the property tests
and the processing engine all agree on what is valid.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

# conda's platform subdirectories (conda/base/constants.py KNOWN_SUBDIRS, plus newer ones).
KNOWN_SUBDIRS = frozenset(
    {
        "noarch",
        "emscripten-wasm32",
        "wasi-wasm32",
        "freebsd-64",
        "linux-32",
        "linux-64",
        "linux-aarch64",
        "linux-armv6l",
        "linux-armv7l",
        "linux-ppc64",
        "linux-ppc64le",
        "linux-riscv64",
        "linux-s390x",
        "osx-64",
        "osx-arm64",
        "win-32",
        "win-64",
        "win-arm64",
        "zos-z",
    }
)
PACKAGE_EXTENSIONS = (".conda", ".tar.bz2")
GLOB_CHARACTERS = frozenset("*?[]!")
_BRACKET_RE = re.compile(r"\[!?\]?[^\]]*\]")
# Letters or digits a glob starts with; conda-forge's shortest granted stem is 'm2-*'.
MIN_GLOB_STEM = 2
CI_PROVIDERS = ("azure", "travis", "circle", "drone", "appveyor", "github_actions")

# Feedstock and package names as conda-forge uses them: letters, digits and . _ - +
# (lower-case for packages; a few historical feedstocks have capitals).
_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")
_PACKAGE_NAME_RE = re.compile(r"^[a-z0-9_][a-z0-9_.+-]*$")
_VERSION_RE = re.compile(r"^[A-Za-z0-9_.+!]+$")
_BUILD_RE = re.compile(r"^[A-Za-z0-9_.+]+$")
_SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
_LABEL_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*$")
_BRANCH_BAD_RE = re.compile(r"(^[/.-])|(\.\.)|(//)|(@\{)|([~^:?*\[\\\s])|(\.lock$)|([/.]$)")


# Printable ASCII without spaces: nearly every value, and it needs no per-character look.
_PLAIN_ASCII_RE = re.compile(r"[!-~]*")


def _control_or_space(value: str) -> str | None:
    """Explain the first control character or whitespace in ``value``, if any."""
    if _PLAIN_ASCII_RE.fullmatch(value):
        return None
    for char in value:
        if unicodedata.category(char).startswith("C"):
            return f"contains the control character {char!r}"
        if char.isspace():
            return "contains whitespace"
    return None


def _unsafe_characters(value: str) -> str | None:
    """Explain the first character that can never appear in a name."""
    unsafe = _control_or_space(value)
    if unsafe:
        return unsafe
    if "/" in value:
        return "contains '/'"
    if ".." in value:
        return "contains '..'"
    return None


def check_feedstock_name(value: str) -> str | None:
    unsafe = _unsafe_characters(value)
    if unsafe:
        return (
            f"feedstock name {value!r} {unsafe}; write only the feedstock's name, e.g. "
            "'numpy' for conda-forge/numpy-feedstock."
        )
    if value.endswith("-feedstock"):
        bare = value.removesuffix("-feedstock")
        return f"write the feedstock name without the '-feedstock' suffix: {bare!r}, not {value!r}."
    if not _NAME_RE.match(value):
        return (
            f"feedstock name {value!r} is not valid: use letters, digits and '.', '_', '-', "
            "'+' only, starting with a letter, digit or '_'."
        )
    return None


def check_package_name(value: str) -> str | None:
    unsafe = _unsafe_characters(value)
    if unsafe:
        return f"package name {value!r} {unsafe}; write a plain conda package name."
    if not _PACKAGE_NAME_RE.match(value):
        hint = f" (use {value.lower()!r})" if value.lower() != value else ""
        return (
            f"package name {value!r} is not a valid conda package name{hint}: lower-case "
            "letters, digits and '.', '_', '-', '+' only."
        )
    return None


def is_glob(value: str) -> bool:
    return any(char in GLOB_CHARACTERS for char in value)


def check_output_name_or_glob(value: str) -> str | None:
    """An output is a package name or an fnmatch glob of package names."""
    if len(value) == 1:
        return (
            f"output {value!r} is one character long; a name or glob that short would match "
            "(almost) everything. Write the full output name, or a glob like 'libfoo*'."
        )
    if is_glob(value):
        unsafe = _unsafe_characters(value)
        if unsafe:
            return f"glob {value!r} {unsafe}; write a glob of package names like 'libfoo*'."
        if value.count("[") != value.count("]"):
            return f"glob {value!r} has unbalanced '[' and ']'; close every character class."
        # A bracket expression such as [a-z] is one wildcard character, not literal text.
        literal = _BRACKET_RE.sub("", value)
        if not any(char.isalnum() for char in literal if char not in GLOB_CHARACTERS):
            return (
                f"glob {value!r} has no literal part and would match every package; "
                "anchor it to a name, e.g. 'libfoo*'."
            )
        stem = re.split(r"[*?\[]", value, maxsplit=1)[0]
        if sum(char.isalnum() for char in stem) < MIN_GLOB_STEM:
            return (
                f"glob {value!r} does not start with the name it extends, so it would match "
                f"packages of other feedstocks; begin it with at least {MIN_GLOB_STEM} "
                "letters or digits before any '*', '?' or '[', e.g. 'libfoo*'."
            )
        return None
    return check_package_name(value)


def check_sha256(value: str) -> str | None:
    if _SHA256_RE.match(value):
        return None
    return (
        f"sha256 {value!r} is not a SHA-256 digest: it must be exactly 64 hexadecimal "
        f"characters (this has {len(value)}). Copy it from the package page on anaconda.org "
        "or run 'sha256sum FILE'."
    )


def check_branch_name(value: str) -> str | None:
    unsafe = next(
        (
            f"contains the control character {c!r}"
            for c in value
            if unicodedata.category(c)[0] == "C"
        ),
        None,
    )
    if unsafe or _BRANCH_BAD_RE.search(value):
        return (
            f"branch name {value!r} is not a valid git branch name; write it as shown by "
            "'git branch -r' without the 'origin/' prefix, e.g. '1.2.x'."
        )
    if value in ("main", "master"):
        return f"refusing to archive the default branch {value!r}; archive the feedstock instead."
    return None


def check_label(value: str) -> str | None:
    if _LABEL_RE.match(value) and ".." not in value:
        return None
    return (
        f"label {value!r} is not a valid anaconda.org label: use letters, digits and '.', '_', "
        "'-', '+' only, e.g. 'main' or 'gcc_rc'."
    )


@dataclass(frozen=True)
class PackageFile:
    """``subdir/name-version-build.ext``, the way conda-forge names artifacts."""

    subdir: str
    name: str
    version: str
    build: str
    extension: str

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}-{self.build}{self.extension}"

    @property
    def basename(self) -> str:
        return f"{self.subdir}/{self.filename}"


PACKAGE_FORM = (
    "subdir/name-version-build.conda (or .tar.bz2), e.g. linux-64/numpy-2.0.0-py312h0_0.conda"
)


def parse_package_file(value: str) -> tuple[PackageFile | None, str | None]:
    """Split an artifact path; return (package, None) or (None, message)."""
    unsafe = _control_or_space(value)
    if unsafe:
        return None, f"package {value!r} {unsafe}; write it as {PACKAGE_FORM}."
    extension = next((ext for ext in PACKAGE_EXTENSIONS if value.endswith(ext)), None)
    if extension is None:
        return None, (
            f"package {value!r} does not end in .conda or .tar.bz2; write the artifact's full "
            f"file name as {PACKAGE_FORM}."
        )
    parts = value.split("/")
    if len(parts) != 2:
        return None, (
            f"package {value!r} must be exactly 'subdir/filename' (one '/'); write it as "
            f"{PACKAGE_FORM}."
        )
    subdir, filename = parts
    if subdir not in KNOWN_SUBDIRS:
        return None, (
            f"package {value!r} has unknown subdir {subdir!r}; use one of "
            f"{', '.join(sorted(KNOWN_SUBDIRS))}."
        )
    stem = filename[: -len(extension)]
    pieces = stem.rsplit("-", 2)
    if len(pieces) != 3 or not all(pieces):
        return None, (
            f"package file name {filename!r} does not have the form name-version-build; write "
            f"it as {PACKAGE_FORM}."
        )
    name, version, build = pieces
    message = check_package_name(name)
    if message:
        return None, message
    if ".." in version or not _VERSION_RE.match(version):
        return None, f"version {version!r} in {value!r} is not a valid conda version."
    if not _BUILD_RE.match(build):
        return None, f"build string {build!r} in {value!r} is not a valid conda build string."
    return PackageFile(subdir, name, version, build, extension), None


def check_target_repository(value: str, repository: str, protected: Collection[str]) -> str | None:
    """Why a request may not name ``repository`` (``value`` as written), or None.

    GitHub's repository names are case-insensitive, so is this comparison.
    """
    if repository.lower() not in protected:
        return None
    named = (
        f"{value!r} names the repository {repository!r}"
        if value != repository
        else (f"{repository!r}")
    )
    return (
        f"{named}, one of the organisation's infrastructure repositories that no request "
        f"may act on ({', '.join(sorted(protected))}); remove it from the request. Changes "
        "to that repository are made there, by core."
    )


# Request file names as people have always written them (letters, digits, '.', '_', '-',
# '+', '#'): a name travels into logs, commit messages, issue titles and state files.
_REQUEST_FILE_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+#-]*\.ya?ml$")
MAX_REQUEST_FILE_NAME = 200


def check_request_file_name(name: str) -> str | None:
    """Why a file in requests/ may not have this name, or None (the PR check and the run)."""
    if len(name) <= MAX_REQUEST_FILE_NAME and _REQUEST_FILE_RE.match(name):
        return None
    stem = name.rsplit(".", 1)[0] if name.endswith((".yml", ".yaml")) else name
    suggestion = re.sub(r"[^A-Za-z0-9_.+#-]+", "-", stem).strip("-.")[:80] or "my-request"
    shown = name.encode("unicode_escape").decode("ascii")
    return (
        f"the file name {shown!r} is not a request file name: use letters, digits and '.', "
        f"'_', '-', '+', '#' only (no spaces, no control or invisible characters), at most "
        f"{MAX_REQUEST_FILE_NAME} characters, ending in .yml; rename it, e.g. to "
        f"{suggestion + '.yml'!r}."
    )
