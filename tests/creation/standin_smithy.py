"""A stand-in for conda-smithy's ``init`` and ``rerender``, for the creation tests.

conda-smithy is not installable from PyPI (only a 0.0.0 placeholder), so this script
takes its place on the command line. It is not conda-smithy: it reads the package name
with a regular expression (``{% set name = "x" %}`` for meta.yaml, ``name:`` under
``package:`` for recipe.yaml), formats ``--feedstock-directory`` as conda-smithy's
``Init`` does (``{package.name}``), and writes a few files of the kinds a rerender
writes. A recipe containing ``STANDIN_FAIL_RENDER`` fails as a broken recipe does;
``STANDIN_AZURE`` keeps conda-forge.yml's default providers (Azure), otherwise the
feedstock builds on GitHub Actions. The environment it was given is written to
``$TMPDIR/standin-env-<pid>.json`` (TMPDIR is on the allowlist), so tests can show it
saw no credential. What the real conda-smithy writes is not tested here.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path


def _name(recipe: Path) -> str:
    v1 = recipe / "recipe.yaml"
    text = (v1 if v1.is_file() else recipe / "meta.yaml").read_text()
    if "STANDIN_FAIL_RENDER" in text:
        sys.stderr.write("conda_build.exceptions.RecipeError: the recipe does not render\n")
        sys.exit(1)
    found = re.search(r"""{%\s*set\s+name\s*=\s*["']([^"']+)["']""", text)
    if found is None:
        found = re.search(r"(?m)^(?:package|recipe):\s*\n\s+name:\s*([\w.+-]+)", text)
    if found is None:
        sys.stderr.write("could not find the package name\n")
        sys.exit(1)
    return found.group(1).lower()


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def init(args: argparse.Namespace) -> None:
    recipe = Path(args.recipe_directory)
    name = _name(recipe)
    target = Path(args.feedstock_directory.format(package=argparse.Namespace(name=name)))
    target.mkdir(parents=True)
    _git("init", "--quiet", cwd=target)
    shutil.copytree(recipe, target / "recipe")
    text = (
        recipe / ("recipe.yaml" if (recipe / "recipe.yaml").is_file() else "meta.yaml")
    ).read_text()
    if "STANDIN_AZURE" in text:
        config = "{}\n"
    else:
        platforms = ("linux_64", "osx_64", "win_64")
        config = "provider:\n" + "".join(f"  {p}: github_actions\n" for p in platforms)
    (target / "conda-forge.yml").write_text(config)
    (target / "LICENSE.txt").write_text("BSD-3-Clause\n")
    (target / ".gitignore").write_text("*.pyc\nbuild_artifacts\n")
    _git("add", "-A", cwd=target)
    _git(
        "commit",
        "--quiet",
        "-m",
        "Initial feedstock commit with conda-smithy stand-in.",
        cwd=target,
    )


def rerender(args: argparse.Namespace) -> None:
    feedstock = Path(args.feedstock_directory)
    config = (feedstock / "conda-forge.yml").read_text()
    validation = "on" if "conda_forge_output_validation: true" in config else "off"
    (feedstock / "README.md").write_text(f"# {feedstock.name}\n\noutput validation: {validation}\n")
    workflows = feedstock / ".github" / "workflows"
    workflows.mkdir(parents=True, exist_ok=True)
    (workflows / "conda-build.yml").write_text("on: [push, pull_request]\njobs: {}\n")
    (feedstock / ".ci_support").mkdir(exist_ok=True)
    (feedstock / ".ci_support" / "linux_64_.yaml").write_text("target_platform:\n- linux-64\n")
    script = feedstock / ".scripts" / "build_steps.sh"
    script.parent.mkdir(exist_ok=True)
    script.write_text("#!/bin/sh\necho build\n")
    script.chmod(0o755)


def main() -> None:
    tmp = os.environ.get("TMPDIR")
    if tmp:
        Path(tmp, f"standin-env-{os.getpid()}.json").write_text(json.dumps(sorted(os.environ)))
    parser = argparse.ArgumentParser(prog="conda-smithy")
    sub = parser.add_subparsers(dest="command", required=True)
    i = sub.add_parser("init")
    i.add_argument("recipe_directory")
    i.add_argument("--feedstock-directory", default="./{package.name}-feedstock")
    r = sub.add_parser("rerender")
    r.add_argument("--feedstock_directory", default="./")
    r.add_argument("--no-check-uptodate", action="store_true")
    args = parser.parse_args()
    {"init": init, "rerender": rerender}[args.command](args)


if __name__ == "__main__":
    main()
