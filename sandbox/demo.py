"""``python3 dev.py demo``: the real processing workflow, end to end, on this machine.

1. starts the sandbox (fake GitHub and anaconda.org, fake OIDC issuer, real OpenBao
   with the trust policy from ``vault/``);
2. builds a throwaway copy of this repository whose ``origin`` is a local bare
   repository, and merges six sample requests into its main, as pull requests would;
3. runs ``.github/workflows/process.yml`` under act for that push, unmodified;
4. prints what was requested, what the sandbox looks like now, which credentials were
   minted and revoked (from the services' own records), and the issue opened for the
   request that could not be carried out;
5. creates one feedstock from a recipe merged into the sandbox's staged-recipes, with
   the render and create commands run directly (not under act; sandbox/creation.py),
   and prints the new repository, its ruleset and head, the feedstock token, the
   outputs, the recipe's removal and the credentials minted and revoked.

Everything is deleted at the end (``--keep`` keeps the folder, with the act log).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from admin_requests.validation.checker import check_text

from . import org
from .core import Sandbox
from .creation import CREATED, render_section, run_creation
from .report import Snapshot, account, changes, credential_lines, heading, wrap
from .workflow import ACT, ActResult, Workspace, push_event

STAGED = org.STAGED[0]


@dataclass(frozen=True)
class SampleRequest:
    name: str
    author: str
    text: str


def sample_queue() -> list[SampleRequest]:
    staged_sha256 = hashlib.sha256(b"staged " + STAGED.encode()).hexdigest()
    return [
        SampleRequest(
            "archive-retired.yml",
            "alice",
            "# Both moved elsewhere years ago; their packages stay installable.\n"
            "action: archive\nfeedstocks:\n  - retired-tool\n  - old-thing\n",
        ),
        SampleRequest(
            "broken-numpy-2.0.0.yml",
            "bob",
            "# Linked against the wrong BLAS; see numpy-feedstock#300.\n"
            "action: broken\npackages:\n"
            "  - linux-64/numpy-2.0.0-py312h1103770_0.conda\n"
            "  - osx-arm64/numpy-2.0.0-py312hb544834_0.conda\n",
        ),
        SampleRequest(
            "archive-branch-libfoo.yml",
            "carol",
            "action: archive_branch\nfeedstocks:\n  libfoo:\n    - 1.x\n",
        ),
        SampleRequest(
            "add-output-numpy-base.yml",
            "dave",
            "action: add_feedstock_output\nfeedstock_to_output_mapping:\n"
            "  numpy:\n    - numpy-base\n",
        ),
        SampleRequest(
            "cfep3-conda-standalone.yml",
            "erin",
            "action: cfep3_copy\nanaconda_org_packages:\n"
            f"  - package: {org.STAGING}/{STAGED}\n    sha256: {staged_sha256}\n",
        ),
        # Half fails: the second build string is wrong (the channel has only ..._0). The
        # first item is done, the file shrinks to the second, which is parked with an issue.
        SampleRequest(
            "unbreak-pytest.yml",
            "frank",
            "# The test-suite failure was in the CI image, not in pytest.\n"
            "action: not_broken\npackages:\n"
            "  - noarch/pytest-8.3.0-pyhd8ed1ab_0.conda\n"
            "  - noarch/pytest-8.3.0-pyhd8ed1ab_1.conda  # the rebuild\n",
        ),
    ]


def merge_sample_queue(
    sandbox: Sandbox, workspace: Workspace, queue: list[SampleRequest], first_number: int = 101
) -> list[tuple[int, SampleRequest]]:
    """Merge each request as a pull request would; GitHub learns who opened which."""
    merged = []
    for number, request in enumerate(queue, start=first_number):
        commit = workspace.merge_request(
            request.name, request.text, author=request.author, number=number
        )
        sandbox.github.add_commit_pull(
            org.HOME, commit, number, user=request.author, title=f"Add {request.name}"
        )
        merged.append((number, request))
    return merged


def run_process_workflow(
    sandbox: Sandbox,
    workspace: Workspace,
    event_name: str,
    event: dict[str, object],
    *,
    env: dict[str, str] | None = None,
) -> ActResult:
    """One run of process.yml as GitHub would start it, with a fresh job token.

    ``env`` adds to what the sandbox passes (e.g. a retry policy in seconds).
    """
    token = sandbox.begin_job(event_name)
    try:
        return workspace.run_act(
            event_name,
            event,
            "process.yml",
            env={**sandbox.workflow_env(), **(env or {})},
            variables=sandbox.workflow_vars(),
            github_token=token,
        )
    finally:
        sandbox.end_job(token)


# -- the report -----------------------------------------------------------------------------

STEP = re.compile(r"(✅|❌)\s+(Success|Failure) - Main (.+?)(?: \[[\d.]+\w*\])?$")
STEP_OUTPUT = re.compile(r"^\[[^\]]+\]\s+\| (.*)$")


def step_results(output: str) -> list[str]:
    found = []
    for line in output.splitlines():
        match = STEP.search(line)
        if match and not match.group(3).startswith("actions/checkout"):
            found.append(f"{match.group(1)} {match.group(3)}")
    return found


def step_output(output: str, step: str) -> list[str]:
    """The lines a step printed (act prefixes them with '[workflow/job]   | ')."""
    lines, inside = [], False
    for line in output.splitlines():
        if "⭐ Run " in line:
            inside = line.rstrip().endswith(f"Main {step}")
            continue
        match = STEP_OUTPUT.match(line)
        if inside and match:
            lines.append(match.group(1))
    return lines


def render(
    sandbox: Sandbox,
    workspace: Workspace,
    merged: list[tuple[int, SampleRequest]],
    result: ActResult,
    before: Snapshot,
    base: str,
    started: datetime,
    finished: datetime,
    log_path: Path | None,
) -> str:
    out = [
        "admin-requests demo",
        "===================",
        wrap(
            "The real .github/workflows/process.yml ran under act, as GitHub runs it after "
            "a push to main, against a sandbox on 127.0.0.1: fake GitHub and anaconda.org, "
            "a fake GitHub OIDC issuer and a real OpenBao configured with vault/.",
            "",
            "",
        ),
        heading("1. What was requested (pull requests merged into main)"),
    ]
    for number, request in merged:
        report = check_text(request.text, f"requests/{request.name}")
        out.append(f"  #{number} by @{request.author}: requests/{request.name} ({report.action})")
        out += [wrap(f"- {item.description}", "      ") for item in report.items]

    out.append(heading("2. The workflow run"))
    verdict = "succeeded" if result.ok else f"FAILED (exit code {result.returncode})"
    out.append(
        f"  act push -> process.yml, job 'process the request queue': {verdict} in "
        f"{result.seconds:.1f} s"
    )
    out.append(wrap("steps: " + ", ".join(step_results(result.output))))
    if log_path is not None:
        out.append(f"  full log: {log_path}")
    out.append("  what the job printed (its credential ledger is in section 4, from the records):")
    for line in step_output(result.output, "process the queue"):
        if line.startswith("credentials:"):
            break
        out.append(wrap(line, "    ", "      "))
    pushed = workspace.remote_git("log", "--format=%h %s", f"{base}..main")
    out.append("  pushed to main (newest first):")
    out += [f"    {line}" for line in pushed.splitlines()]

    out.append(heading("3. The sandbox now"))
    after = Snapshot.take(sandbox)
    out += [wrap(line) for line in changes(before, after, sandbox)] or ["  nothing changed"]
    left = [Path(name).name for name in workspace.remote_files("requests")]
    queue = [name for name in left if name.endswith((".yml", ".yaml"))]
    out.append(
        "  requests/ on main: " + (", ".join(queue) if queue else "empty (every request done)")
    )
    for name in queue:
        state = workspace.remote_file(f"queue-state/{name}.json")
        if state is not None and '"parked": true' in state:
            out.append(f"    {name}: parked; its state is in queue-state/{name}.json")

    out.append(heading("4. Credentials (from the vault's audit log and the fakes' records)"))
    out.append(
        wrap(
            "Two vault logins: actions/vault-credentials checks that the job can log in (and "
            "revokes at once), then the processing step logs in for the run.",
            "  ",
            "",
        )
    )
    out += [wrap(line) for line in credential_lines(account(sandbox, started), finished)]

    out.append(heading("5. Issues opened for requests that could not be carried out"))
    issues = [i for i in sandbox.github.issues(org.HOME) if before.issues.get(i.number) is None]
    for issue in issues:
        out.append(
            f"  #{issue.number} {issue.title!r} ({issue.state}; labels: {', '.join(issue.labels)})"
        )
        body = [line for line in issue.body.splitlines() if line.strip()]
        out += [wrap(line, "    | ", "  ") for line in body[:14] if not line.startswith("<!--")]
    if not issues:
        out.append("  none")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 dev.py demo", description=__doc__)
    parser.add_argument("--keep", action="store_true", help="keep the folder with the act log")
    args = parser.parse_args(argv)
    if not ACT.exists():
        print(f"act is missing at {ACT}; run 'python3 dev.py setup'", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="admin-requests-demo-"))
    try:
        print("[demo] starting the sandbox (fakes and an OpenBao dev server)...", flush=True)
        with Sandbox(workdir / "sandbox") as sandbox:
            workspace = Workspace.create(workdir / "workspace")
            workspace.serve_through(sandbox.git)
            base = workspace.head()
            merged = merge_sample_queue(sandbox, workspace, sample_queue())
            before = Snapshot.take(sandbox)
            print("[demo] running .github/workflows/process.yml under act...", flush=True)
            started = datetime.now(UTC)
            result = run_process_workflow(
                sandbox, workspace, "push", push_event(base, workspace.head())
            )
            finished = datetime.now(UTC)
            log_path = workdir / "act.log" if args.keep else None
            if log_path is not None:
                log_path.write_text(result.output)
            print(
                render(
                    sandbox, workspace, merged, result, before, base, started, finished, log_path
                )
            )
            if not result.ok:
                print("\n[demo] the workflow failed; its output:\n" + result.output[-6000:])
            print("[demo] creating a feedstock from staged-recipes...", flush=True)
            creation = run_creation(sandbox, workdir / "creation")
            print("\n".join(render_section(sandbox, creation, 6)))
            created = creation.status() == CREATED
            if not created:
                print(f"\n[demo] feedstock creation did not complete: {creation.status()}")
        return 0 if result.ok and created else 1
    finally:
        if args.keep:
            print(f"\n[demo] kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
