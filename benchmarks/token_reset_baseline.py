#!/usr/bin/env python3
"""``token_reset`` done the way conda-forge/admin-requests does it (not a test).

Re-created from the real code, read at conda-forge/admin-requests ``ec3298b2``
(``conda_forge_admin_requests/token_reset.py``) and conda-forge/conda-smithy
``081ec6ba`` (``conda_smithy/feedstock_tokens.py``, ``cli.py``'s
``generate-feedstock-token`` and ``register-feedstock-token``, ``azure_ci_utils.py``),
against the same world as benchmarks/token_reset_calls.py (its ``seed``: N feedstocks
on Azure Pipelines and GitHub Actions, an empty token registry), the same fakes with
GitHub's limits on the shared clock, and the same latency per call.

``run(request)`` first checks every feedstock exists (``requests.get`` of its page on
github.com), then resets them one after the other (``reset_feedstock_token``), always
with ``unique_token_per_provider=True`` and Travis skipped (so, with Circle and Drone
left out by the handler, Azure and GitHub Actions). For each feedstock, in this order:

1. ``feedstock_token_exists``: ``GET contents/tokens/<name>-feedstock.json`` of the
   registry (a 404 here: the registry starts empty, as in the engine's benchmark; with
   a token there the handler would also ``get_contents`` and ``delete_file`` it);
2. ``conda smithy generate-feedstock-token --unique-token-per-provider``: five local
   tokens (no call);
3. ``conda smithy register-feedstock-token``: the providers first, then the registry.
   Azure (``add_feedstock_token_to_azure``): the definition by name, the definition,
   then ``get_default_build_definition``'s service endpoints, source repository,
   queues (twice: ``get_queues`` and ``get_default_queue``), service endpoints again
   and the ``anaconda-org`` variable group, and the PUT of the definition: 9 calls.
   GitHub Actions (``add_feedstock_token_to_github_actions``): a fresh PyGithub client
   with its default pacing (0.25 s between requests), ``get_repo`` and
   ``create_secret`` (the public key, the PUT). Then for each of the two providers
   ``register_feedstock_token``: ``git clone -q --depth 1`` of feedstock-tokens over
   HTTPS, the scrypt hash of the token (N=2**14, r=8, p=1, 256 bytes, as the
   ``scrypt`` package's defaults), the token file written, ``git commit``,
   ``git pull -q --rebase``, ``git push -q``: real git against the fake git server
   (tests/fakes/git_http.py), with GitHub's token checks and 50 ms per HTTP request;
4. ``conda smithy rotate-binstar-token`` with every provider disabled: no call.

Every simplification makes this faster than the real thing, never slower: no
``conda smithy`` process is started (three a feedstock upstream, each importing conda);
the registry is as small as the engine's (upstream clones feedstock-tokens' whole tree,
tens of thousands of files, twice a feedstock); the Azure SDK's resource-location
lookups (``OPTIONS``, cached on disk by ``vsts``) are left out, and Azure takes a
bearer token instead of the PAT's basic auth (the same one call each); ``pygit2``'s
index add is ``git add``; the page check of ``check()`` is a REST read of the
repository with a token of its own (github.com's pages are not under the API's
limits, so it does not draw on the admin token's hour). Like baseline.py, every sleep
of the measured process (PyGithub's pacing, urllib3's retries) goes to the shared clock.

    python benchmarks/token_reset_baseline.py [--latency 0.05] [--feedstocks 100]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import github
import requests
from common import GITHUB_TOKEN, ORG, SharedClock, git, measured, run_child, sleep_on

SCRIPT = Path(__file__).resolve()
TIMEOUT = 30
WEB_TOKEN = "gh-web"  # noqa: S105 (a fake's token: github.com's pages, see the docstring)
AZURE_TOKEN = "az-pat"  # noqa: S105 (a fake's token)
AZURE_PROJECT = "feedstock-builds"  # conda-smithy's AZURE_DEFAULT_PROJECT_NAME
REGISTRY = "feedstock-tokens"
# cli.py's RegisterFeedstockToken.ci_names, less what token_reset.py leaves out.
PROVIDERS = ("azure", "github_actions")
GENERATED = ("azure", "travis", "circle", "drone", "github_actions")  # --unique-token-per-provider
COMMIT_MESSAGE = (
    "[ci skip] [skip ci] [cf admin skip] ***NO_CI*** added token for {user}/{project} "
    "on provider {provider}"
)


class Azure:
    """conda-smithy's Azure calls (vsts' BuildClient, ServiceEndpointClient,
    TaskAgentClient), as the REST requests they make."""

    def __init__(self, url: str) -> None:
        self.base = f"{url}/{ORG}/{AZURE_PROJECT}/_apis"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {AZURE_TOKEN}"

    def get(self, path: str, **params: str) -> Any:
        response = self.session.get(
            f"{self.base}/{path}", params={**params, "api-version": "4.1"}, timeout=TIMEOUT
        )
        response.raise_for_status()
        return response.json()

    def service_endpoint(self) -> dict[str, Any]:
        endpoints = self.get("serviceendpoint/endpoints", type="GitHub")["value"]
        return next(e for e in endpoints if e["name"] == ORG)

    def add_feedstock_token(self, project: str, token: str) -> None:
        """``add_feedstock_token_to_azure`` with ``clobber=True``."""
        [existing] = self.get("build/definitions", name=project)["value"]
        definition = self.get(f"build/definitions/{existing['id']}")
        variables = dict(definition.get("variables") or {})
        variables["FEEDSTOCK_TOKEN"] = {"allowOverride": False, "isSecret": True, "value": token}
        # get_default_build_definition: get_repo_reference, get_queues, get_default_queue
        # (get_queues again), get_service_endpoint again, the variable group.
        endpoint = self.service_endpoint()
        repos = self.get(
            "sourceProviders/github/repositories",
            repository=f"{ORG}/{project}",
            serviceEndpointId=endpoint["id"],
        )
        source = repos["repositories"][0]
        queues = self.get("distributedtask/queues")["value"]
        again = self.get("distributedtask/queues")["value"]  # get_default_queue
        default = next(q for q in again if q["name"] == "Default")
        endpoint = self.service_endpoint()
        groups = self.get("distributedtask/variablegroups", groupName="anaconda-org")["value"]
        body = {
            "id": definition["id"],
            "revision": definition["revision"],
            "name": project,
            "type": "build",
            "variables": variables,
            "variableGroups": groups,
            "queue": default,
            "repository": {
                "type": "GitHub",
                "url": source["properties"]["cloneUrl"],
                "name": source["properties"]["fullName"],
            },
            "process": {
                "type": 2,
                "yamlFilename": "/azure-pipelines.yml",
                "resources": {
                    "queues": [{"id": q["id"], "alias": q["name"]} for q in queues],
                    "endpoints": [{"id": endpoint["id"], "alias": endpoint["name"]}],
                },
            },
        }
        response = self.session.put(
            f"{self.base}/build/definitions/{definition['id']}",
            params={"api-version": "4.1"},
            json=body,
            timeout=TIMEOUT,
        )
        response.raise_for_status()


def add_feedstock_token_to_github_actions(api: str, project: str, token: str) -> None:
    """conda-smithy's: a fresh client with PyGithub's defaults, ``clobber=True``."""
    gh = github.Github(base_url=api, auth=github.Auth.Token(GITHUB_TOKEN))
    repo = gh.get_repo(f"{ORG}/{project}")
    assert repo.create_secret("FEEDSTOCK_TOKEN", token)


def register_feedstock_token(registry_url: str, project: str, token: str, provider: str) -> None:
    """conda-smithy's ``register_feedstock_token``: clone, append the hashed token,
    commit, pull --rebase, push."""
    with tempfile.TemporaryDirectory() as tmpdir:
        folder = Path(tmpdir)
        subprocess.run(["git", "clone", "-q", "--depth", "1", registry_url, tmpdir], check=True)
        token_file = folder / "tokens" / f"{project}.json"
        if token_file.exists():
            token_data = json.loads(token_file.read_text())
            if "tokens" not in token_data:
                token_data = {"tokens": [token_data]}
        else:
            token_data = {"tokens": []}
        now = time.time()
        token_data["tokens"] = [
            td for td in token_data["tokens"] if td.get("expires_at", now) >= now
        ]
        salt = os.urandom(64)
        salted = hashlib.scrypt(token.encode(), salt=salt, n=2**14, r=8, p=1, dklen=256)
        token_data["tokens"].append(
            {"salt": salt.hex(), "hashed_token": salted.hex(), "provider": provider}
        )
        token_file.parent.mkdir(exist_ok=True)
        token_file.write_text(json.dumps(token_data))
        message = COMMIT_MESSAGE.format(user=ORG, project=project, provider=provider)
        subprocess.run(["git", "add", f"tokens/{project}.json"], check=True, cwd=tmpdir)
        subprocess.run(["git", "commit", "-q", "-m", message], check=True, cwd=tmpdir)
        subprocess.run(["git", "pull", "-q", "--rebase"], check=True, cwd=tmpdir)
        subprocess.run(["git", "push", "-q"], check=True, cwd=tmpdir)


def reset_feedstock_token(api: str, azure: Azure, registry_url: str, name: str) -> None:
    project = f"{name}-feedstock"
    # feedstock_token_exists (requests, the admin token); the registry starts empty.
    exists = requests.get(
        f"{api}/repos/{ORG}/{REGISTRY}/contents/tokens/{project}.json",
        headers={"Authorization": f"token {GITHUB_TOKEN}"},
        timeout=TIMEOUT,
    )
    assert exists.status_code == 404, "the benchmark's registry starts empty"
    # generate-feedstock-token --unique-token-per-provider: local files only.
    tokens = {provider: secrets.token_hex(32) for provider in GENERATED}
    # register-feedstock-token: every provider first...
    azure.add_feedstock_token(project, tokens["azure"])
    add_feedstock_token_to_github_actions(api, project, tokens["github_actions"])
    # ... then the registry, once per provider.
    for provider in PROVIDERS:
        register_feedstock_token(registry_url, project, tokens[provider], provider)
    # rotate-binstar-token with every provider --without: no call.


def token_reset(api: str, azure_url: str, registry_url: str, names: list[str]) -> dict[str, Any]:
    # check(): every feedstock's page on github.com, before any reset.
    for name in names:
        page = requests.get(
            f"{api}/repos/{ORG}/{name}-feedstock",
            headers={"Authorization": f"token {WEB_TOKEN}"},
            timeout=TIMEOUT,
        )
        assert page.status_code == 200, page.text
    azure = Azure(azure_url)
    failed = []
    for name in names:
        try:
            reset_feedstock_token(api, azure, registry_url, name)
        except Exception as error:  # as run(): kept for the next run
            print(f"failed to reset token for {name!r}: {error!r}", file=sys.stderr)
            failed.append(name)
    return {"done": len(names) - len(failed), "failed": len(failed)}


def child(args: argparse.Namespace) -> dict[str, Any]:
    clock = SharedClock(Path(args.clock))
    sleep_on(clock)  # PyGithub's pacing and urllib3's retries: modelled
    os.environ.update(
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@example.invalid",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@example.invalid",
        GIT_TERMINAL_PROMPT="0",
    )
    names = [f"pkg{n}" for n in range(args.feedstocks)]
    return measured(lambda: token_reset(args.github, args.azure, args.registry, names), clock)


def token_reset_baseline(latency: float, feedstocks: int) -> dict[str, Any]:
    """Seed the engine benchmark's world, run the conda-forge way in a child, count."""
    from tests.fakes import FakeGitHub
    from tests.fakes.azure import FakeAzure
    from tests.fakes.git_http import FakeGitServer
    from tests.fakes.limits import GitHubLimits
    from token_reset_calls import seed

    with (
        tempfile.TemporaryDirectory() as folder,
        FakeGitHub(org=ORG) as gh,
        FakeAzure(organisation=ORG, project=AZURE_PROJECT) as azure,
        FakeGitServer(gh, Path(folder) / "served") as git_server,
    ):
        clock_path = Path(folder) / "clock"
        clock = SharedClock(clock_path, create=True)
        gh.time_source = azure.time_source = git_server.time_source = clock.time
        gh.add_token(GITHUB_TOKEN)
        gh.add_token(WEB_TOKEN)
        azure.add_token(AZURE_TOKEN, expires_in=10**7)
        seed(gh, azure, feedstocks)
        work = Path(folder) / "registry"
        work.mkdir()
        git(work, "init", "--quiet", "--initial-branch=main")
        (work / "README.md").write_text("# feedstock-tokens\n")
        git(work, "add", "--all")
        git(work, "commit", "--quiet", "-m", "the registry")
        url = git_server.add_repository(REGISTRY, work)
        registry_url = url.replace("://", f"://x-access-token:{GITHUB_TOKEN}@", 1)
        for fake in (gh, azure, git_server):
            fake.faults.latency = latency
            fake.reset_counters()
        gh.enforce_limits(GitHubLimits())
        result = run_child(
            SCRIPT,
            [
                "--feedstocks",
                str(feedstocks),
                "--github",
                gh.url,
                "--azure",
                azure.url,
                "--registry",
                registry_url,
                "--clock",
                str(clock_path),
            ],
        )
        limiter = gh.limiter
        assert limiter is not None
        rest, git_calls, azure_calls = gh.call_count, git_server.call_count, azure.call_count
        commits = sum(len(p.updates) for p in git_server.pushes)
        figures = {
            "name": f"token_reset x{feedstocks}, conda-forge/admin-requests way",
            "items": feedstocks,
            **result,
            "github_rest_calls": rest,
            "github_git_http_calls": git_calls,
            "github_calls": rest + git_calls,
            "azure_calls": azure_calls,
            "http_calls": rest + git_calls + azure_calls,
            "registry_commits": commits,
            "secret_writes": gh.effects["put_secret"],
            "azure_definition_updates": azure.effects["update_definition"],
            "calls_per_item": round((rest + git_calls + azure_calls) / feedstocks, 2),
            "seconds_per_item": round(result["modelled_seconds"] / feedstocks, 3),
            "limits": {
                "github_admitted": limiter.admitted,
                "github_refused": dict(limiter.refused),
                "github_peak_in_flight": limiter.peak_in_flight,
            },
        }
        clock.close()
        return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per call")
    parser.add_argument("--feedstocks", type=int, default=100)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--github", help=argparse.SUPPRESS)
    parser.add_argument("--azure", help=argparse.SUPPRESS)
    parser.add_argument("--registry", help=argparse.SUPPRESS)
    parser.add_argument("--clock", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args)))
        return 0
    result = token_reset_baseline(args.latency, args.feedstocks)
    print(json.dumps({"latency_seconds": args.latency, "result": result}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
