"""The fake GitHub's git trees: git's own SHAs, and GitHub's truncation."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.fakes import git_trees

FILES = {
    "config.json": b'{"outputs_path": "outputs"}',
    "outputs/p/y/z/py.json": b'{"feedstocks": ["python"]}',
    "outputs/p/y/a/pyarrow.json": b'{"feedstocks": ["pyarrow", "arrow-cpp"]}',
    "outputs/p/y/a.b": b"sorted after the folder 'a' only as git sorts: 'a/' > 'a.b'",
}


def test_tree_shas_are_the_ones_git_gives(tmp_path: Path) -> None:
    for path, content in FILES.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(content)

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True
        ).stdout.strip()

    git("init", "-q")
    git("add", "-A")
    root = git("write-tree")
    folders = git_trees.folders(FILES)
    assert folders[""].sha == root
    assert folders["outputs/p/y"].sha == git("rev-parse", f"{root}:outputs/p/y")
    assert folders["outputs/p/y/a"].sha == git("rev-parse", f"{root}:outputs/p/y/a")


def test_a_registry_the_size_of_conda_forges_is_truncated_as_github_truncates_it() -> None:
    # conda-forge/feedstock-outputs: 32,676 files; its recursive tree is about 9.8 MB,
    # past the 7 MB at which GitHub answers with part of it and truncated: true.
    files = {f"outputs/a/b/c/output-{n:05}.json": b'{"feedstocks": ["x"]}' for n in range(32_676)}
    url = "https://api.github.com/repos/conda-forge/feedstock-outputs"
    tree, truncated = git_trees.entries(git_trees.folders(files)[""], recursive=True, url=url)
    assert truncated
    assert 0 < len(tree) < len(files)
    shard, cut = git_trees.entries(
        git_trees.folders(files)["outputs/a/b/c"], recursive=False, url=url
    )
    assert not cut
    assert len(shard) == len(files)
