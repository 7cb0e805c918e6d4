#!/usr/bin/env python3
"""The same work done the way conda-forge/admin-requests does it (not a test).

Written from its documented behaviour and its code (``conda_forge_admin_requests/``
``mark_broken.py`` and ``feedstock_outputs.py``), against the same fakes and latency:

- ``broken``: for each package, one after the other, an existence probe of the file on
  the channel (``requests.head`` on conda.anaconda.org), a search that it is on the
  right channel (``conda search name=version=build -c conda-forge``; modelled here as
  one metadata call, which is far cheaper than the real command: no process start, no
  repodata download), and the write (``POST /channels/conda-forge/broken``); then, if
  any label changed, a clone of the repodata-patches feedstock, an empty commit and a
  push (a local bare repository here: no network, no real history, so also cheaper).
- ``add_feedstock_output``: a check that each feedstock exists (``requests.head`` on
  github.com), the feedstock-outputs ``config.json`` once (conda-forge-metadata caches
  it), then for each output a fresh PyGithub client, ``get_repo`` (one call),
  ``get_contents`` of its sharded JSON (one call) and ``create_file``/``update_file``
  (one call). Its clients keep PyGithub's defaults, which pace calls (0.25 s between
  requests, 1 s between writes); ``--no-throttle`` measures it without, to separate
  the cost of the calls from the cost of the pacing.

Every simplification makes the baseline faster than the real thing, never slower.

Under the same modelled rate limits as the engine (benchmarks/common.py): its sleeps
(PyGithub's pacing, urllib3's retries of GitHub's refusals) go to the shared clock, so
they cost modelled time, not wall time. conda-forge's ``requests`` calls do not retry a
429; here they wait its Retry-After and try again (the real script would stop there).

    python benchmarks/baseline.py [--latency 0.05] [--packages 1000] [--outputs 200]
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import github
import requests
from common import (
    ANACONDA_TOKEN,
    GITHUB_TOKEN,
    ORG,
    OUTPUTS,
    OUTPUTS_FEEDSTOCK,
    SharedClock,
    fakes,
    figures,
    file_name,
    git,
    measured,
    output_name,
    run_child,
    sleep_on,
)

SCRIPT = Path(__file__).resolve()
TIMEOUT = 30


def split_pkg(pkg: str) -> tuple[str, str, str, str]:
    """As conda-forge's mark_broken.split_pkg: subdir, name, version, build."""
    stem = pkg.removesuffix(".tar.bz2").removesuffix(".conda")
    plat, file_name = stem.split("/")
    name_ver, build = file_name.rsplit("-", 1)
    name, ver = name_ver.rsplit("-", 1)
    return plat, name, ver, build


def sharded(name: str, config: dict[str, Any]) -> str:
    """conda-forge-metadata's feedstock_outputs.sharded_path, with its config passed in."""
    chars = [c for c in name.lower() if c.isalnum()][: config["shard_level"]]
    chars += [config["shard_fill"]] * (config["shard_level"] - len(chars))
    return "/".join([config["outputs_path"], *chars, f"{name.lower()}.json"])


def _waiting(send: Any, *args: Any, **kwargs: Any) -> requests.Response:
    """``send(...)``, again after the Retry-After of a 429 (on the shared clock)."""
    while True:
        response: requests.Response = send(*args, **kwargs)
        if response.status_code != 429:
            return response
        time.sleep(float(response.headers.get("Retry-After") or 60))


def mark_broken(anaconda: str, packages: list[str], patches_remote: Path) -> dict[str, Any]:
    headers = {"Authorization": f"token {ANACONDA_TOKEN}"}
    marked = []
    for pkg in packages:
        # check_request: the artifact exists (a HEAD on the channel; the fake serves GET)...
        probe = _waiting(requests.get, f"{anaconda}/{ORG}/{pkg}", timeout=TIMEOUT)
        probe.raise_for_status()
        # ... and is on the right channel ('conda search name=ver=build -c channel').
        _, name, ver, _ = split_pkg(pkg)
        search = _waiting(
            requests.get, f"{anaconda}/dist/{ORG}/{name}/{ver}/{pkg}", timeout=TIMEOUT
        )
        search.raise_for_status()
        # mark_broken_pkg: the write.
        response = _waiting(
            requests.post,
            f"{anaconda}/channels/{ORG}/broken",
            headers=headers,
            json={"basename": pkg, "package": name, "version": ver},
            timeout=TIMEOUT,
        )
        if response.status_code == 201:
            marked.append(pkg)
    if marked:  # clone the repodata-patches feedstock, an empty commit, push
        with tempfile.TemporaryDirectory() as folder:
            clone = Path(folder) / "patches"
            git(Path(folder), "clone", "--quiet", str(patches_remote), str(clone))
            git(clone, "commit", "--quiet", "--allow-empty", "-m", "resync repo data")
            git(clone, "push", "--quiet")
    return {"done": len(marked)}


def add_feedstock_outputs(
    api: str, feedstock: str, outputs: list[str], *, throttle: bool = True
) -> dict[str, Any]:
    auth = {"Authorization": f"token {GITHUB_TOKEN}"}
    # check(): the feedstock exists ('requests.head' on github.com/conda-forge/x-feedstock).
    requests.get(f"{api}/repos/{ORG}/{feedstock}-feedstock", headers=auth, timeout=TIMEOUT)
    # conda-forge-metadata reads config.json once (lru_cache).
    config_file = requests.get(
        f"{api}/repos/{ORG}/{OUTPUTS}/contents/config.json", headers=auth, timeout=TIMEOUT
    ).json()
    config = json.loads(base64.b64decode(config_file["content"]))
    done = 0
    for output in outputs:
        pacing: dict[str, Any] = (
            {} if throttle else {"seconds_between_requests": None, "seconds_between_writes": None}
        )
        gh = github.Github(base_url=api, auth=github.Auth.Token(GITHUB_TOKEN), **pacing)
        repo = gh.get_repo(f"{ORG}/{OUTPUTS}")
        path = sharded(output, config)
        try:
            contents = repo.get_contents(path)
        except github.UnknownObjectException:
            contents = None
        message = f"[cf admin skip] ***NO_CI*** add output {output} for {feedstock}-feedstock"
        if contents is None:
            repo.create_file(path, message, json.dumps({"feedstocks": [feedstock]}))
        else:
            assert not isinstance(contents, list)
            data = json.loads(contents.decoded_content.decode())
            if feedstock not in data["feedstocks"]:
                data["feedstocks"].append(feedstock)
                repo.update_file(contents.path, message, json.dumps(data), contents.sha)
        done += 1
    return {"done": done}


def child(args: argparse.Namespace) -> dict[str, Any]:
    clock = SharedClock(Path(args.clock))
    # Every sleep of this process (PyGithub's pacing, urllib3's retries) is modelled.
    sleep_on(clock)
    if args.what == "broken":
        packages = [file_name(n, args.packages) for n in range(args.count)]
        return measured(lambda: mark_broken(args.anaconda, packages, Path(args.patches)), clock)
    outputs = [output_name(n) for n in range(args.count)]
    throttle = args.what == "outputs"
    return measured(
        lambda: add_feedstock_outputs(args.github, OUTPUTS_FEEDSTOCK, outputs, throttle=throttle),
        clock,
    )


def patches_remote(folder: Path) -> Path:
    """A bare stand-in for the repodata-patches feedstock, with a little history."""
    work, bare = folder / "patches-work", folder / "patches.git"
    work.mkdir()
    git(work, "init", "--quiet", "--initial-branch=main")
    for n in range(20):
        (work / "patch.py").write_text(f"# patch {n}\n" * 50)
        git(work, "add", "--all")
        git(work, "commit", "--quiet", "-m", f"patch {n}")
    git(folder, "clone", "--quiet", "--bare", str(work), str(bare))
    return bare


NAMES = {
    "broken": "broken x{}, conda-forge/admin-requests way",
    "outputs": "add_feedstock_output x{}, conda-forge/admin-requests way",
    "outputs-unthrottled": "add_feedstock_output x{}, conda-forge way without PyGithub pacing",
}


def baseline_results(
    latency: float,
    packages: int,
    outputs: int,
    *,
    unthrottled: bool = True,
    files: int | None = None,
) -> list[dict[str, Any]]:
    cases = [("broken", files if files is not None else packages), ("outputs", outputs)]
    if unthrottled:
        cases.append(("outputs-unthrottled", outputs))
    results = []
    for what, count in cases:
        with (
            fakes(packages, outputs, files=files) as world,
            tempfile.TemporaryDirectory() as folder,
        ):
            remote = patches_remote(Path(folder))
            world.set_latency(latency)
            world.reset()
            world.limit_calls()
            result = run_child(
                SCRIPT,
                [
                    "--what",
                    what,
                    "--count",
                    str(count),
                    "--github",
                    world.gh.url,
                    "--anaconda",
                    world.ac.url,
                    "--patches",
                    str(remote),
                    "--clock",
                    str(world.clock_path),
                    "--packages",
                    str(packages),
                ],
            )
            results.append(
                figures(NAMES[what].format(count), count, result, world.calls(), world.limits())
            )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per call")
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--outputs", type=int, default=200)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--what", choices=("broken", "outputs", "outputs-unthrottled"), help=argparse.SUPPRESS
    )
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--github", help=argparse.SUPPRESS)
    parser.add_argument("--anaconda", help=argparse.SUPPRESS)
    parser.add_argument("--patches", help=argparse.SUPPRESS)
    parser.add_argument("--clock", help=argparse.SUPPRESS)
    parser.add_argument("--files", type=int, help="broken files (default: one per package)")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args)))
        return 0
    results = baseline_results(args.latency, args.packages, args.outputs, files=args.files)
    print(json.dumps({"latency_seconds": args.latency, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
