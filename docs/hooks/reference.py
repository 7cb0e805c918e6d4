"""mkdocs hook: put what is generated from the code into the pages that show it.

docs/reference.md gets the request reference, docs/deployment.md the GitHub App
permissions the kinds ask for. The generator (``admin_requests.kinds.reference``) raises when
the code and the hand-written notes in each kind's folder
(scripts/admin_requests/kinds/<kind>/reference.yml) disagree, e.g. a request key without a
description; this hook turns that into a build error, so the pages cannot drift from the
code.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

from admin_requests.errors import DocsReferenceError
from admin_requests.kinds.reference import render_app_permissions, render_reference

GENERATED: dict[str, tuple[str, Callable[[Path], str]]] = {
    "reference.md": ("<!-- generated: request kinds -->", render_reference),
    "deployment.md": ("<!-- generated: app permissions -->", render_app_permissions),
}


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any, **_: Any) -> str:
    if page.file.src_uri not in GENERATED:
        return markdown
    marker, render = GENERATED[page.file.src_uri]
    if marker not in markdown:
        raise PluginError(f"docs/{page.file.src_uri} lost the line {marker!r}; it is filled there")
    root = Path(config.config_file_path).resolve().parent
    try:
        generated = render(root)
    except DocsReferenceError as error:
        raise PluginError(str(error)) from None
    return markdown.replace(marker, generated)
