#!/usr/bin/env python3
"""Calls, wall time and credentials of one ``token_reset`` request (not a test).

One request of N feedstocks (50 by default; past 500, one request file per 500, as the
broker asks), each building on Azure Pipelines and GitHub Actions (conda-smithy's
defaults), carried out through the path the queue takes (``queue/execute.py``'s
``execute_batch``: every item of a file in one ``execute_batch`` of the kind) inside
the real credential broker (env backend: App JWTs signed with a generated local key;
Azure through OIDC federation against the fake issuer), against FakeGitHub and
FakeAzure with a fixed latency per call (50 ms by default). Prints JSON: modelled and
wall time, done and left for later, HTTP calls per feedstock (by endpoint), registry
commits, peak RSS, the lower bound the limits impose (``lower_bound``) and the run's
time over it, and every credential the request used with its scope and lifetime.

    python benchmarks/token_reset_calls.py [--latency 0.05] [--feedstocks 50]
        [--requests-per-hour 5000]

The fake GitHub enforces GitHub's documented rate limits (tests/fakes/limits.py) on a
SharedClock the client's retries and pacing sleep on: ``modelled_seconds`` is the time
to finish against github.com (latency, waits for limits, pacing), ``wall_seconds`` what
this machine took. An item a limit still stops past the client's wait budget is a
TransientError, which the queue retries in a later run: counted in ``left_for_later``.

``--requests-per-hour`` sets the installation's primary limit (5,000 by default, the
least GitHub gives an App installation; an organisation with more than 20 repositories
gets 50 more an hour per repository, up to 12,500).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT)]  # this checkout's code, and tests.fakes

from tests.fakes import FakeGitHub  # noqa: E402
from tests.fakes.azure import FakeAzure  # noqa: E402
from tests.fakes.clock import SharedClock  # noqa: E402
from tests.fakes.limits import GitHubLimits, RateLimiter  # noqa: E402
from tests.fakes.oidc import FakeOidcIssuer, process_claims  # noqa: E402
from tests.kinds.helpers import load  # noqa: E402

from admin_requests.config import Settings  # noqa: E402
from admin_requests.credentials.factories import open_broker  # noqa: E402
from admin_requests.credentials.settings import CredentialSettings  # noqa: E402
from admin_requests.kinds.contract import OutcomeStatus  # noqa: E402
from admin_requests.queue.execute import execute_batch  # noqa: E402
from admin_requests.services.http import Retrier, RetryPolicy  # noqa: E402

APP_PERMISSIONS = {"contents": "write", "secrets": "write", "metadata": "read"}
META = '{% set name = "NAME" %}\npackage:\n  name: {{ name }}\n'
ENDPOINTS = [
    ("conda-forge.yml", r"/contents/conda-forge\.yml$"),
    ("recipe", r"/contents/recipe/"),
    # A contents read each for a few files, else a blob each (services/tree_reads.py).
    ("registry read", r"feedstock-tokens/(contents|git/blobs)/"),
    ("registry listing", r"feedstock-tokens/git/trees/[^/]+$"),
    ("actions public key", r"/actions/secrets/public-key$"),
    ("actions secret", r"/actions/secrets/FEEDSTOCK_TOKEN$"),
    ("feedstock-outputs", r"feedstock-outputs/contents/"),
]


# GitHub mints a token for at most 500 repositories, so a reset of more feedstocks is
# several request files (the broker says so: "split the request file").
PER_REQUEST = 500

# == what the limits alone impose ======================================================
# The calls no token_reset can do without, per feedstock: its conda-forge.yml (which
# providers: whether Azure gets a token, whether one blocks the reset), its registry
# file (the old entries stay beside the provisional ones), the Actions public key, the
# secret. Per request file: the registry's default branch, two commits (the first
# reads the ref and its commit; each writes a tree, a commit, the ref), and the
# installation token minted and revoked.
MINIMAL_CALLS_PER_FEEDSTOCK = 4
MINIMAL_CALLS_PER_REQUEST = 1 + (2 + 3) + 3 + 2
MUTATIONS_PER_REQUEST = 2 * 3  # two commits: tree, commit, ref each
MUTATION_SPACING = 1.0  # GitHubLimits.mutation_spacing


def lower_bound(feedstocks: int, requests_per_hour: int = 5000) -> dict[str, Any]:
    """The least modelled time any client needs for a reset of ``feedstocks``.

    Two limits, whichever is longer: every mutation a second apart (a secret write per
    feedstock, three per commit), and the primary limit on the minimal calls (past
    ``requests_per_hour`` they wait for the next hour's window). Reads are taken as
    free otherwise, so the bound is low, never high.
    """
    files = max(1, -(-feedstocks // PER_REQUEST))
    mutations = feedstocks + files * MUTATIONS_PER_REQUEST
    calls = feedstocks * MINIMAL_CALLS_PER_FEEDSTOCK + files * MINIMAL_CALLS_PER_REQUEST
    hours_waited = (calls - 1) // requests_per_hour
    spacing = mutations * MUTATION_SPACING
    primary = hours_waited * 3600.0
    return {
        "seconds": max(spacing, primary),
        "minimal_calls": calls,
        "mutations": mutations,
        "primary_limit_per_hour": requests_per_hour,
        "why": f"a secret write per feedstock and two registry commits per request file "
        f"({mutations} mutations a second apart: {spacing:g} s); the {calls} calls no reset "
        f"can do without ({MINIMAL_CALLS_PER_FEEDSTOCK} a feedstock) fit "
        + (
            f"in one hour's {requests_per_hour:,}"
            if not hours_waited
            else f"only in {hours_waited + 1} hours of {requests_per_hour:,} ({primary:g} s)"
        ),
    }


def seed(gh: FakeGitHub, azure: FakeAzure, feedstocks: int) -> list[str]:
    gh.add_repo("feedstock-tokens")
    gh.add_repo(
        "feedstock-outputs",
        files={
            "config.json": json.dumps({"outputs_path": "o", "shard_level": 3, "shard_fill": "z"}),
        },
    )
    names = []
    for n in range(feedstocks):
        name = f"pkg{n}"
        gh.add_repo(
            f"{name}-feedstock",
            files={
                "recipe/meta.yaml": META.replace("NAME", name),
                "conda-forge.yml": "conda_forge_output_validation: true\n",
            },
        )
        gh.repo("feedstock-outputs").files[f"o/p/k/g/{name}.json"] = json.dumps(
            {"feedstocks": [name]}
        ).encode()
        azure.add_pipeline(f"{name}-feedstock")
        names.append(name)
    chunks = [names[n : n + PER_REQUEST] for n in range(0, len(names), PER_REQUEST)]
    return [
        "action: token_reset\nfeedstocks:\n" + "".join(f"  - {n}\n" for n in chunk)
        for chunk in chunks
    ]


def by_endpoint(gh: FakeGitHub, feedstocks: int) -> dict[str, float]:
    counts: Counter[str] = Counter()
    for call in gh.calls:
        label = next((k for k, p in ENDPOINTS if re.search(p, call.path)), None)
        if label is None:
            label = re.sub(r"/[0-9a-f]{40}$", "/{sha}", call.path)
        if label == "registry read" and call.method == "PUT":
            label = "registry write"
        counts[f"{call.method} {label}"] += 1
    return {k: round(v / feedstocks, 3) for k, v in sorted(counts.items())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per call")
    parser.add_argument("--feedstocks", type=int, default=50)
    parser.add_argument(
        "--requests-per-hour",
        type=int,
        default=GitHubLimits().requests_per_hour,
        help="the installation's primary limit (GitHub: 5,000 to 12,500)",
    )
    args = parser.parse_args(argv)
    with (
        FakeGitHub() as gh,
        FakeAzure() as azure,
        FakeOidcIssuer() as issuer,
        tempfile.TemporaryDirectory() as work,
    ):
        app = gh.configure_app(4242, installation_id=77, permissions=APP_PERMISSIONS)
        key = Path(work) / "app.pem"  # the env backend's local key: development only
        key.write_bytes(app.private_key_pem or b"")
        azure.trust(issuer, subject=process_claims()["sub"])
        requests = [load(text) for text in seed(gh, azure, args.feedstocks)]
        settings = Settings(
            github_api_url=gh.url, azure_devops_url=azure.url, http_timeout_seconds=10.0
        )
        environ = issuer.actions_environ()
        credentials = CredentialSettings(
            backend="env",
            dev_github_app_key_file=str(key),
            github_app_id="4242",
            github_installation_id="77",
            oidc_request_url=environ["ACTIONS_ID_TOKEN_REQUEST_URL"],
            oidc_request_token=environ["ACTIONS_ID_TOKEN_REQUEST_TOKEN"],
            azure_tenant_id=azure.tenant,
            azure_client_id=azure.client_id,
            azure_authority_url=azure.url,
        )
        gh.faults.latency = azure.faults.latency = args.latency
        gh.reset_counters()
        azure.reset_counters()
        clock = SharedClock(Path(work) / "clock", create=True)
        # The limits run on the shared clock; tokens and App JWTs keep real time, as the
        # credential code signs them with it (a JWT would expire in modelled time).
        limits = GitHubLimits(requests_per_hour=args.requests_per_hour)
        limiter = gh.limiter = RateLimiter(limits, clock.time)
        retrier = Retrier(RetryPolicy(), sleep=clock.sleep, clock=clock.time)
        start = time.perf_counter()
        modelled_start = clock.time()
        outcomes = []
        setup = 0.0
        with open_broker(settings, credentials, retrier=retrier) as broker:
            for number, loaded in enumerate(requests):
                access = loaded.kind.access(loaded.model, _Only(settings))
                began = time.perf_counter()
                label = f"requests/reset-{number}.yml"
                with broker.request_services(access, settings, label=label) as svc:
                    setup += time.perf_counter() - began
                    # As the queue carries out a batched kind (RequestExecutor): every
                    # item of the file in one call, outcomes per item.
                    outcomes += execute_batch(loaded.kind, list(loaded.items), svc)
            ledger = broker.ledger
        wall = time.perf_counter() - start
        modelled = clock.time() - modelled_start
        mint_calls = gh.count("POST", r"/access_tokens$") + gh.count(
            "DELETE", r"/installation/token$"
        )
        azure_item_calls = azure.call_count - azure.count("POST", r"/oauth2/v2\.0/token$")
        n = args.feedstocks
        bound = lower_bound(n, args.requests_per_hour)
        statuses = Counter(o.status for o in outcomes)
        result: dict[str, Any] = {
            "latency_seconds": args.latency,
            "feedstocks": n,
            "request_files": len(requests),
            "done": statuses[OutcomeStatus.DONE],
            # Retried by the queue in a later run (its backoff), e.g. past a limit.
            "left_for_later": statuses[OutcomeStatus.RETRY],
            "failed": statuses[OutcomeStatus.FAILED],
            "wall_seconds": round(wall, 2),
            "modelled_seconds": round(modelled, 1),
            "lower_bound": bound,
            "engine_over_bound": round(modelled / bound["seconds"], 2),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "registry_commits": len(gh.repo("feedstock-tokens").pushes),
            "registry_file_writes": gh.file_writes["feedstock-tokens"],
            "secret_writes": gh.effects["put_secret"],
            "rate_limit_waits": retrier.rate_limit_waits,
            "mutation_pacing_seconds": round(retrier.pacer.waited, 1),
            "limits": {
                "github_admitted": limiter.admitted,
                "github_refused": dict(limiter.refused),
                "github_peak_in_flight": limiter.peak_in_flight,
            },
            "seconds_per_feedstock": round((wall - setup) / n, 3),
            "credential_setup_seconds": round(setup, 2),
            "github_calls": gh.call_count,
            "azure_calls": azure.call_count,
            # Without the per-request credential calls (mint, revoke, token exchange).
            "calls_per_feedstock": round((gh.call_count - mint_calls + azure_item_calls) / n, 2),
            "github_calls_per_feedstock": round((gh.call_count - mint_calls) / n, 2),
            "per_feedstock_by_endpoint": {
                **by_endpoint(gh, n),
                "azure GET definition by name": round(azure.count("GET", r"/definitions$") / n, 2),
                "azure GET definition": round(azure.count("GET", r"/definitions/\d+$") / n, 2),
                "azure PUT definition": round(azure.count("PUT", r"/definitions/\d+$") / n, 2),
            },
            "per_request": {
                "github installation tokens minted+revoked (calls)": mint_calls,
                "azure token exchanges": azure.count("POST", r"/oauth2/v2\.0/token$"),
            },
            "credentials": [
                {
                    "kind": r.kind,
                    "scope": r.scope,
                    "max_lifetime_seconds": round(r.max_lifetime_seconds),
                    "lived_seconds": None if r.lived_seconds is None else round(r.lived_seconds, 2),
                    "ended": "revoked" if r.revoked_at else "expires by itself",
                }
                for r in ledger.records
            ],
        }
    print(json.dumps(result, indent=2))
    return 0


class _Only:
    """What ``access()`` reads: the settings (no call is made)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings


if __name__ == "__main__":
    sys.exit(main())
