"""``admin-requests render``: the render job's plan (the matrix) and one rendering each."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from admin_requests.cli import build_parser, main
from admin_requests.cli.render_job import command_render
from admin_requests.errors import UsageError
from admin_requests.kinds.ci_resources import pr_branch
from admin_requests.services.smithy import Rendering, render_key
from tests.services.feedstock_world import (
    FEEDSTOCK,
    RENDERING_STAND_IN,
    TOKEN,
    install_stand_in,
    seed_feedstock,
)
from tests.services.git_http import GitHttpServer, serve_git

REQUEST = """\
action: cirun
feedstocks: [foo]
resources: [cirun-openstack-gpu-large]
pull_request: false
send_pr: true
"""
KEY = render_key(FEEDSTOCK, pr_branch(["cirun-openstack-gpu-large"], False))


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "admin-requests"
    (root / "requests").mkdir(parents=True)
    (root / "requests" / "gpu.yml").write_text(REQUEST)
    return root


@pytest.fixture
def served(tmp_path: Path) -> Iterator[GitHttpServer]:
    seed_feedstock(tmp_path / "git")
    with serve_git(tmp_path / "git", TOKEN) as server:
        yield server


def args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["render", *argv])


def test_the_plan_lists_the_keys_to_render_as_json(
    checkout: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["render", "--root", str(checkout), "--plan"]) == 0
    assert json.loads(capsys.readouterr().out) == [KEY]


def test_one_key_is_rendered_into_its_file(
    checkout: Path, served: GitHttpServer, tmp_path: Path
) -> None:
    script = install_stand_in(tmp_path / "bin", RENDERING_STAND_IN)
    environ = {"GITHUB_SERVER_URL": served.url, "CONDA_SMITHY": str(script), "PATH": "/usr/bin"}
    out = tmp_path / "out"
    parsed = args("--root", str(checkout), "--key", KEY, "--output", str(out))
    assert command_render(parsed, environ) == 0
    rendering = Rendering.from_json((out / f"{KEY}.json").read_text())
    assert rendering.repository == FEEDSTOCK
    assert ".ci_support/linux_64_.yaml" in rendering.patch


def test_an_unknown_key_or_no_conda_smithy_is_a_usage_error(checkout: Path, tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    with pytest.raises(UsageError, match="CONDA_SMITHY"):
        command_render(args("--root", str(checkout), "--output", out), {})
    with pytest.raises(UsageError, match="'render --plan' lists them"):
        command_render(
            args("--root", str(checkout), "--key", "0" * 24, "--output", out),
            {"CONDA_SMITHY": "/bin/true"},
        )
    with pytest.raises(UsageError, match="--output"):
        command_render(args("--root", str(checkout)), {})
