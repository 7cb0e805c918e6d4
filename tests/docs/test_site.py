"""The documentation site: it builds strictly and offline, and refuses to drift from the code.

``python3 dev.py test`` builds it too (``mkdocs build --strict``); these tests build it in
process, so they can look at the result and at a build that must fail.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from mkdocs.commands.build import build
from mkdocs.config import load_config
from mkdocs.exceptions import Abort

from admin_requests.kinds import REGISTRY
from tests.kinds.test_reference import WiderArchiveKind

from .blocks import ROOT

# One worker runs this module under pytest-xdist, so the site is built once.
pytestmark = pytest.mark.xdist_group("docs_site")

PAGES = (
    "index",
    "getting-started",
    "reference",
    "architecture",
    "security",
    "operations",
    "deployment",
)
# What a page may load from elsewhere: nothing. (Links to other sites are fine.)
EXTERNAL_ASSET = re.compile(r"<(script|link|img|iframe)\b[^>]*\b(src|href)=\"(https?:)?//", re.I)


def build_site(site: Path) -> float:
    config = load_config(str(ROOT / "mkdocs.yml"), site_dir=str(site))
    start = time.perf_counter()
    build(config)
    return time.perf_counter() - start


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("site")
    seconds = build_site(path)
    print(f"\nmkdocs build --strict: {seconds:.2f} s")  # reported, not asserted
    return path


def test_every_page_is_built_with_the_generated_parts(site: Path) -> None:
    for page in PAGES:
        assert (site / f"{page}.html").is_file(), page
    reference = (site / "reference.html").read_text()
    for action in REGISTRY:
        assert f'id="{action}"' in reference, action
    assert "generated: request kinds" not in reference
    deployment = (site / "deployment.html").read_text()
    assert "administration" in deployment.lower()
    assert "generated: app permissions" not in deployment


def test_the_site_loads_nothing_from_the_network(site: Path) -> None:
    external = [
        f"{page.relative_to(site)}: {match.group(0)}"
        for page in site.rglob("*.html")
        for match in EXTERNAL_ASSET.finditer(page.read_text())
    ]
    assert external == []
    css = "\n".join(p.read_text() for p in site.rglob("*.css"))
    assert "fonts.googleapis.com" not in css


def test_a_request_key_without_a_description_fails_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The issue's promise: add a field to a model without documenting it, and the build fails."""
    monkeypatch.setitem(REGISTRY, "archive", WiderArchiveKind("archive", "Archive.", archived=True))
    with pytest.raises(Abort):
        build_site(tmp_path / "site")
    assert "archive: key 'reason' has no description" in caplog.text
