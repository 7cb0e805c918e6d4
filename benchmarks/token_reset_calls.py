#!/usr/bin/env python3
"""Calls, wall time and credentials of one ``token_reset`` request (not a test).

One request of N feedstocks (50 by default), each building on Azure Pipelines and GitHub
Actions (conda-smithy's defaults), carried out through the real credential broker
(env backend: App JWTs signed with a generated local key; Azure through OIDC federation
against the fake issuer) against FakeGitHub and FakeAzure with a fixed latency per call
(50 ms by default). Prints JSON: wall time and HTTP calls per feedstock (by endpoint),
and every credential the request used with its scope and how long it lived.

    python benchmarks/token_reset_calls.py [--latency 0.05] [--feedstocks 50]

The fake GitHub enforces GitHub's documented rate limits (tests/fakes/limits.py) on a
SharedClock the client's retries and pacing sleep on: ``modelled_seconds`` is the time
to finish against github.com (latency, waits for limits, pacing), ``wall_seconds`` what
this machine took. An item a limit still stops past the client's wait budget is a
TransientError, which the queue retries in a later run: counted in ``left_for_later``.
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
from admin_requests.errors import TransientError  # noqa: E402
from admin_requests.kinds.contract import OutcomeStatus  # noqa: E402
from admin_requests.services.http import Retrier, RetryPolicy  # noqa: E402

APP_PERMISSIONS = {"contents": "write", "secrets": "write", "metadata": "read"}
META = '{% set name = "NAME" %}\npackage:\n  name: {{ name }}\n'
ENDPOINTS = [
    ("conda-forge.yml", r"/contents/conda-forge\.yml$"),
    ("recipe", r"/contents/recipe/"),
    ("registry read", r"feedstock-tokens/contents/"),
    ("actions public key", r"/actions/secrets/public-key$"),
    ("actions secret", r"/actions/secrets/FEEDSTOCK_TOKEN$"),
    ("feedstock-outputs", r"feedstock-outputs/contents/"),
]


# GitHub mints a token for at most 500 repositories, so a reset of more feedstocks is
# several request files (the broker says so: "split the request file").
PER_REQUEST = 500


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
        if label == "registry read" and call.method == "PUT":
            label = "registry write"
        counts[f"{call.method} {label or call.path}"] += 1
    return {k: round(v / feedstocks, 2) for k, v in sorted(counts.items())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per call")
    parser.add_argument("--feedstocks", type=int, default=50)
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
        limiter = gh.limiter = RateLimiter(GitHubLimits(), clock.time)
        retrier = Retrier(RetryPolicy(), sleep=clock.sleep, clock=clock.time)
        start = time.perf_counter()
        modelled_start = clock.time()
        left_for_later = 0
        outcomes = []
        setup = 0.0
        with open_broker(settings, credentials, retrier=retrier) as broker:
            for number, loaded in enumerate(requests):
                access = loaded.kind.access(loaded.model, _Only(settings))
                began = time.perf_counter()
                label = f"requests/reset-{number}.yml"
                with broker.request_services(access, settings, label=label) as svc:
                    setup += time.perf_counter() - began
                    for item in loaded.items:
                        try:
                            outcomes.append(loaded.kind.execute(item, svc))
                        except TransientError:
                            left_for_later += 1  # the queue's backoff retries it
            ledger = broker.ledger
        wall = time.perf_counter() - start
        modelled = clock.time() - modelled_start
        mint_calls = gh.count("POST", r"/access_tokens$") + gh.count(
            "DELETE", r"/installation/token$"
        )
        azure_item_calls = azure.call_count - azure.count("POST", r"/oauth2/v2\.0/token$")
        n = args.feedstocks
        result: dict[str, Any] = {
            "latency_seconds": args.latency,
            "feedstocks": n,
            "request_files": len(requests),
            "done": sum(o.status is OutcomeStatus.DONE for o in outcomes),
            "left_for_later": left_for_later,
            "wall_seconds": round(wall, 2),
            "modelled_seconds": round(modelled, 1),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "registry_commits": gh.file_writes["feedstock-tokens"],
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
