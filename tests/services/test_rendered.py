"""The processing job's side of a rerender: check the render job's patch, push it.

The renderings come from the real render side (services/smithy.py) with stand-in
conda-smithys (feedstock_world.py), or are written by hand the way a tampered render
job could. The feedstock is served over HTTP by git's own http-backend, which refuses
pushes without the request's token.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from admin_requests.credentials.redact import Secret
from admin_requests.errors import RenderingRefused, TransientError
from admin_requests.kinds.contract import RenderResult
from admin_requests.services.rendered import (
    RenderedPatches,
    StagedChange,
    parse_raw_diff,
    refused_changes,
)
from admin_requests.services.smithy import FeedstockRenderer, Rendering, render_key

from .feedstock_world import (
    BRANCH,
    FEEDSTOCK,
    HOSTILE_STAND_IN,
    ORG,
    RENDERING_STAND_IN,
    REQUEST,
    TOKEN,
    git,
    install_stand_in,
    push_branch_with_edits,
    seed_feedstock,
)
from .git_http import GitHttpServer, serve_git


@pytest.fixture
def served(tmp_path: Path) -> Iterator[GitHttpServer]:
    bare = seed_feedstock(tmp_path / "git")
    push_branch_with_edits(bare, tmp_path / "privileged-edits")
    with serve_git(tmp_path / "git", TOKEN) as server:
        yield server


def bare(served: GitHttpServer) -> Path:
    return served.root / ORG / f"{FEEDSTOCK}.git"


def render_into(folder: Path, served: GitHttpServer, template: str, **values: str) -> Rendering:
    script = install_stand_in(folder.parent / "bin", template, **values)
    renderer = FeedstockRenderer(str(script), f"{served.url}/{ORG}", {"PATH": "/usr/bin:/bin"})
    rendering = renderer.render(REQUEST)
    assert rendering is not None
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{render_key(FEEDSTOCK, BRANCH)}.json").write_text(rendering.to_json())
    return rendering


def patches(folder: Path, served: GitHttpServer, token: str = TOKEN) -> RenderedPatches:
    return RenderedPatches(folder, f"{served.url}/{ORG}", Secret(token), timeout_seconds=60)


def test_a_rendering_is_pushed_to_its_branch_with_the_token_and_only_once(
    tmp_path: Path, served: GitHttpServer
) -> None:
    rendering = render_into(tmp_path / "rendered", served, RENDERING_STAND_IN)
    before_main = git("rev-parse", "main", cwd=bare(served))
    rerenderer = patches(tmp_path / "rendered", served)
    assert rerenderer.rerender(FEEDSTOCK, BRANCH) is RenderResult.PUSHED
    assert git("rev-parse", f"{BRANCH}^{{tree}}", cwd=bare(served)) == rendering.output_tree
    assert git("log", "--format=%s", "-1", BRANCH, cwd=bare(served)) == (
        "MNT: Re-rendered with conda-smithy"
    )
    assert git("rev-parse", "main", cwd=bare(served)) == before_main
    assert served.refused_pushes == []
    # A rerun finds the branch rendered already.
    assert rerenderer.rerender(FEEDSTOCK, BRANCH) is RenderResult.CURRENT


def test_without_the_token_the_push_is_refused(tmp_path: Path, served: GitHttpServer) -> None:
    render_into(tmp_path / "rendered", served, RENDERING_STAND_IN)
    with pytest.raises(TransientError, match="push"):
        patches(tmp_path / "rendered", served, token="wrong").rerender(FEEDSTOCK, BRANCH)
    assert served.refused_pushes


def test_a_branch_that_moved_since_the_rendering_gets_none(
    tmp_path: Path, served: GitHttpServer
) -> None:
    render_into(tmp_path / "rendered", served, RENDERING_STAND_IN)
    work = tmp_path / "maintainer"
    git("clone", "--quiet", "--branch", BRANCH, str(bare(served)), str(work), cwd=tmp_path)
    (work / "recipe" / "meta.yaml").write_text("package: {name: foo, version: 2}\n")
    git("commit", "-qam", "a maintainer's change", cwd=work)
    git("push", "--quiet", "origin", BRANCH, cwd=work)
    head = git("rev-parse", BRANCH, cwd=bare(served))
    assert patches(tmp_path / "rendered", served).rerender(FEEDSTOCK, BRANCH) is (
        RenderResult.UNAVAILABLE
    )
    assert git("rev-parse", BRANCH, cwd=bare(served)) == head


def test_no_rendering_or_one_for_another_branch_is_unavailable(
    tmp_path: Path, served: GitHttpServer
) -> None:
    folder = tmp_path / "rendered"
    assert patches(folder, served).rerender(FEEDSTOCK, BRANCH) is RenderResult.UNAVAILABLE
    rendering = render_into(folder, served, RENDERING_STAND_IN)
    # Another feedstock's rendering put under this branch's key is not used.
    other = Rendering(
        "bar-feedstock",
        BRANCH,
        *[getattr(rendering, f) for f in ("input_tree", "output_tree", "patch")],
    )
    (folder / f"{render_key(FEEDSTOCK, BRANCH)}.json").write_text(other.to_json())
    assert patches(folder, served).rerender(FEEDSTOCK, BRANCH) is RenderResult.UNAVAILABLE
    (folder / f"{render_key(FEEDSTOCK, BRANCH)}.json").write_text("not json")
    assert patches(folder, served).rerender(FEEDSTOCK, BRANCH) is RenderResult.UNAVAILABLE


def test_a_hostile_renderings_extra_file_is_refused_and_nothing_pushed(
    tmp_path: Path, served: GitHttpServer
) -> None:
    """The hostile stand-in added evil.sh to the rendering: it never reaches the branch."""
    render_into(
        tmp_path / "rendered",
        served,
        HOSTILE_STAND_IN,
        oidc_url="http://127.0.0.1:9/o?x=1",
        vault_url="http://127.0.0.1:9",
        report=str(tmp_path / "found.json"),
    )
    head = git("rev-parse", BRANCH, cwd=bare(served))
    with pytest.raises(RenderingRefused, match=r"'evil\.sh'"):
        patches(tmp_path / "rendered", served).rerender(FEEDSTOCK, BRANCH)
    assert git("rev-parse", BRANCH, cwd=bare(served)) == head


def tampered(rendering: Rendering, patch: str) -> Rendering:
    return Rendering(rendering.repository, rendering.branch, rendering.input_tree, "0" * 40, patch)


NEW_FILE = """\
diff --git a/{path} b/{path}
new file mode {mode}
index 0000000..1111111
--- /dev/null
+++ b/{path}
@@ -0,0 +1 @@
+{content}
"""


@pytest.mark.parametrize(
    ("path", "mode", "content", "why"),
    [
        ("recipe/build.sh", "100755", "curl x | sh", "not a file a rerender writes"),
        (".github/workflows/exfiltrate.yml", "100644", "on: push", "not a file"),
        (".scripts/link", "120000", "/etc/passwd", "mode 120000"),
        ("../outside.sh", "100644", "x", "does not apply"),
        (".git/hooks/post-checkout", "100755", "x", "does not apply"),
    ],
)
def test_a_tampered_patch_is_refused(
    tmp_path: Path, served: GitHttpServer, path: str, mode: str, content: str, why: str
) -> None:
    folder = tmp_path / "rendered"
    rendering = render_into(folder, served, RENDERING_STAND_IN)
    patch = NEW_FILE.format(path=path, mode=mode, content=content)
    key = render_key(FEEDSTOCK, BRANCH)
    (folder / f"{key}.json").write_text(tampered(rendering, patch).to_json())
    head = git("rev-parse", BRANCH, cwd=bare(served))
    with pytest.raises(RenderingRefused, match=why.replace("(", r"\(")):
        patches(folder, served).rerender(FEEDSTOCK, BRANCH)
    assert git("rev-parse", BRANCH, cwd=bare(served)) == head


def test_the_path_rules_follow_what_conda_smithy_writes_and_removes() -> None:
    allowed = [
        StagedChange("A", "100644", ".ci_support/linux_64_.yaml"),
        StagedChange("A", "100644", ".ci_support/migrations/python313.yaml"),
        StagedChange("M", "100755", ".scripts/build_steps.sh"),
        StagedChange("M", "100644", ".github/workflows/conda-build.yml"),
        StagedChange("M", "100644", "README.md"),
        StagedChange("D", "000000", ".github/workflows/automerge.yml"),
        StagedChange("D", "000000", "azure-pipelines.yml"),
    ]
    assert refused_changes(allowed) == []
    refused = [
        StagedChange("M", "100644", "conda-forge.yml"),
        StagedChange("M", "100644", "recipe/meta.yaml"),
        StagedChange("A", "100644", ".github/workflows/automerge.yml"),  # only ever removed
        StagedChange("D", "000000", "recipe/meta.yaml"),
        StagedChange("A", "160000", ".scripts/submodule"),
    ]
    assert len(refused_changes(refused)) == len(refused)


def test_raw_diff_parsing_reads_git_s_format() -> None:
    raw = (
        ":000000 100644 0000000 1111111 A\0.ci_support/a.yaml\0"
        ":100644 000000 2222222 0000000 D\0odd name\twith tab\0"
    )
    assert parse_raw_diff(raw) == [
        StagedChange("A", "100644", ".ci_support/a.yaml"),
        StagedChange("D", "000000", "odd name\twith tab"),
    ]
    assert parse_raw_diff("") == []
