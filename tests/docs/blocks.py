"""Find the fenced code blocks of the documentation and what their annotation says.

A block in a shell language is preceded, on the line just above its opening fence, by
an HTML comment (invisible on the site and on GitHub) that says how it is tested:

    <!-- doc-test: run -->                     run by tests/docs/test_commands.py
    <!-- doc-test: run services=github,vault exit=1 -->
    <!-- doc-test: covered -->                 each command is mapped in COVERED to the
                                               (slow) test that runs it
    <!-- doc-test: synopsis -->                usage lines; each is run with --help

and a text block may be marked ``<!-- doc-test: output -->``: each of its lines must be
in what the ``run`` block before it printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHELL_LANGUAGES = frozenset({"bash", "sh", "shell", "console"})
ANNOTATION = re.compile(r"^\s*<!--\s*doc-test:\s*(?P<kind>[\w-]+)(?P<options>[^>]*?)\s*-->\s*$")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<info>[^`]*)$")
# Lines that look like commands, wherever they appear (to catch one outside a shell block).
COMMAND_START = re.compile(
    r"^\s*(\$ )?(python3? |\.venv/bin/|admin-requests |bao |git |gh |curl |cp |mkdocs |"
    r"export |pip )"
)


@dataclass(frozen=True)
class Block:
    path: Path  # the markdown file
    line: int  # 1-based line of the opening fence
    language: str
    text: str  # the content, indentation removed
    kind: str | None  # the annotation's kind, None when there is none
    options: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def is_shell(self) -> bool:
        return self.language in SHELL_LANGUAGES

    def commands(self) -> list[str]:
        """The block's commands: continuation lines joined, comments and blanks dropped."""
        found: list[str] = []
        pending = ""
        for raw in self.text.splitlines():
            line = raw.rstrip()
            if not pending and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if line.endswith("\\"):
                pending += line[:-1].strip() + " "
                continue
            command = (pending + line.strip()).strip()
            pending = ""
            found.append(" ".join(strip_comment(command).split()))
        return found


def strip_comment(command: str) -> str:
    """``cmd --flag  # why`` -> ``cmd --flag`` (a '#' after whitespace, outside quotes)."""
    quote = ""
    for index, char in enumerate(command):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and index > 0 and command[index - 1].isspace():
            return command[:index].rstrip()
    return command


def documentation_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def blocks_of(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        indent, fence = match["indent"], match["fence"]
        language = (match["info"].split() or [""])[0].strip("{}.").lower()
        start = index
        body = []
        index += 1
        while index < len(lines) and not lines[index].strip().startswith(fence):
            body.append(lines[index][len(indent) :] if lines[index].startswith(indent) else "")
            index += 1
        index += 1  # the closing fence
        annotation = ANNOTATION.match(lines[start - 1]) if start > 0 else None
        kind, options = None, {}
        if annotation is not None:
            kind = annotation["kind"]
            options = dict(
                pair.split("=", 1) for pair in annotation["options"].split() if "=" in pair
            )
        blocks.append(Block(path, start + 1, language, "\n".join(body) + "\n", kind, options))
    return blocks


def all_blocks() -> list[Block]:
    return [block for path in documentation_files() for block in blocks_of(path)]
