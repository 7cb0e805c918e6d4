#!/usr/bin/env python3
"""The whole processing workflow under act for 10 mixed requests (not a test).

Starts the sandbox (fake GitHub and anaconda.org, fake OIDC issuer, OpenBao dev server),
merges ten requests of six kinds into a throwaway copy of this repository (the demo's
six, one of which half fails, and four more), runs the real ``process.yml`` under act
for that push, and prints JSON: wall times, HTTP calls per service, and the credentials
minted (from the services' own records), with how long each kind lived at most.

    .venv/bin/python benchmarks/act_workflow.py [--latency 0.05] [--keep]

``--latency`` adds that many seconds to every call of the fakes (a round trip to
api.github.com is ~50 ms from a hosted runner). The workspace shares this checkout's
.venv, so the figure is the workflow, not pip.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT)]  # this checkout's code, sandbox, fakes

from sandbox.core import Sandbox  # noqa: E402
from sandbox.demo import SampleRequest, merge_sample_queue, run_process_workflow, sample_queue  # noqa: E402
from sandbox.report import account  # noqa: E402
from sandbox.workflow import Workspace, push_event  # noqa: E402


def ten_requests() -> list[SampleRequest]:
    return [
        *sample_queue(),
        SampleRequest(
            "archive-branch-numpy.yml",
            "grace",
            "action: archive_branch\nfeedstocks:\n  numpy:\n    - 1.26.x\n",
        ),
        SampleRequest(
            "add-output-libfoo.yml",
            "heidi",
            "action: add_feedstock_output\nfeedstock_to_output_mapping:\n"
            "  libfoo:\n    - libfoo-devel\n    - libfoo-static\n",
        ),
        SampleRequest(
            "broken-libfoo.yml",
            "ivan",
            "action: broken\npackages:\n  - linux-64/libfoo-2.1.0-h4ab18f5_0.conda\n",
        ),
        SampleRequest("archive-pytest.yml", "judy", "action: archive\nfeedstocks:\n  - pytest\n"),
    ]


def _calls_by_method(calls: list[Any]) -> dict[str, int]:
    return dict(sorted(Counter(call.method for call in calls).items()))


def measure(workdir: Path, latency: float) -> dict[str, Any]:
    wall_started = time.monotonic()
    with Sandbox(workdir / "sandbox") as sandbox:
        started_sandbox = time.monotonic() - wall_started
        workspace = Workspace.create(workdir / "workspace")
        base = workspace.head()
        merge_sample_queue(sandbox, workspace, ten_requests())
        sandbox.github.reset_counters()
        sandbox.anaconda.reset_counters()
        sandbox.github.faults.latency = sandbox.anaconda.faults.latency = latency
        oidc_before = len(sandbox.issuer.requests)
        since = datetime.now(UTC)
        result = run_process_workflow(
            sandbox, workspace, "push", push_event(base, workspace.head())
        )
        finished = datetime.now(UTC)
        vault_calls = [e for e in sandbox.vault.audit_events() if e.time >= since]
        credentials = account(sandbox, since)
        by_kind: dict[str, list[float]] = {}
        for credential in credentials.credentials:
            if credential.lived_seconds is not None:
                by_kind.setdefault(credential.kind, []).append(credential.lived_seconds)
        left = [n for n in workspace.remote_files("requests") if n.endswith(".yml")]
        return {
            "requests": len(ten_requests()),
            "job_succeeded": result.ok,
            "requests_left_in_queue": len(left),
            "wall_seconds": round(time.monotonic() - wall_started, 2),
            "sandbox_start_seconds": round(started_sandbox, 2),
            "act_run_seconds": round(result.seconds, 2),
            "fake_latency_seconds": latency,
            "http_calls": {
                "github": sandbox.github.call_count,
                "anaconda": sandbox.anaconda.call_count,
                "vault": len(vault_calls),
                "oidc_issuer": len(sandbox.issuer.requests) - oidc_before,
            },
            "http_calls_by_method": {
                "github": _calls_by_method(sandbox.github.calls),
                "anaconda": _calls_by_method(sandbox.anaconda.calls),
            },
            "credentials_minted": dict(
                Counter(c.kind for c in credentials.credentials)
                | Counter({"GitHub App JWT (signed in the vault)": credentials.app_jwts_signed})
            ),
            "credentials_longest_lived_seconds": {
                kind: round(max(lived), 3) for kind, lived in by_kind.items()
            },
            "credentials_outlived_the_job": [c.kind for c in credentials.outlived(finished)],
            "credentials_still_valid_after": credentials.live_after,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per call")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="admin-requests-bench-"))
    try:
        print(json.dumps(measure(workdir, args.latency), indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
