"""``.github/CODEOWNERS``: the code that runs with production credentials, and what
decides who gets them, needs a code owner's review (docs/security.md, W1)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODEOWNERS = ROOT / ".github" / "CODEOWNERS"
# The folders the ruleset's code-owner review must cover (issue 16, finding 13).
GUARDED = (".github/", "actions/", "scripts/", "vault/", "deploy/")
# And what the processing job runs before the package (actions/setup -> dev.py setup).
SETUP = ("dev.py", "pyproject.toml", "requirements/lock.txt")
OWNER = re.compile(r"^@[\w.-]+(/[\w.-]+)?$|^[^@\s]+@[^@\s]+$")


def rules() -> list[tuple[str, list[str]]]:
    found = []
    for line in CODEOWNERS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            pattern, *owners = line.split()
            found.append((pattern, owners))
    return found


def owners_of(path: str) -> list[str]:
    """GitHub's rule: the last matching line wins. Only anchored folders ('/name/') and
    anchored files ('/name') are used here; the test below fails on any other line."""
    owners: list[str] = []
    for pattern, line_owners in rules():
        name = pattern.lstrip("/")
        if path.startswith(name) if name.endswith("/") else path == name:
            owners = line_owners
    return owners


def test_every_line_is_an_anchored_folder_or_file_with_valid_owners() -> None:
    for pattern, owners in rules():
        assert re.fullmatch(r"/[\w.-]+/?", pattern), f"{pattern!r}: owners_of() cannot read it"
        assert owners, f"{pattern!r} has no owner: GitHub reads that as 'no code owner'"
        assert all(OWNER.match(owner) for owner in owners), owners


def test_the_guarded_folders_and_every_file_in_them_have_a_code_owner() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "--", *GUARDED],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for folder in GUARDED:
        assert owners_of(folder + "x"), folder
        assert any(path.startswith(folder) for path in tracked), folder
    for must in (
        ".github/workflows/process.yml",
        ".github/CODEOWNERS",
        "actions/setup/action.yml",
        "scripts/admin_requests/cli/run.py",
        "deploy/github/repository.yml",
    ):
        assert must in tracked, must
    for path in SETUP:
        assert (ROOT / path).is_file(), path
        assert owners_of(path), path
    assert [path for path in tracked if not owners_of(path)] == []
    # A request needs the ordinary review, not a code owner's.
    assert owners_of("requests/archive-foo.yml") == []
