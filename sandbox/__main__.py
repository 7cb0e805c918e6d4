"""``python3 dev.py sandbox``: start the sandbox, print where it is, stop it on Ctrl-C.

    python3 dev.py sandbox          # human-readable: URLs, and the environment to use it
    python3 dev.py sandbox --json   # one JSON line (for scripts), then the same wait

Everything runs on 127.0.0.1. Ctrl-C (or SIGTERM) stops the fakes and the OpenBao
process and deletes the sandbox's temporary folder; nothing is left running.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from . import org
from .core import Sandbox
from .report import wrap


def _environment(sandbox: Sandbox, job_token: str) -> dict[str, str]:
    """What ``admin-requests run`` needs to process a queue against this sandbox."""
    return {
        "GITHUB_TOKEN": job_token,
        "GITHUB_REPOSITORY": org.REPOSITORY,
        **sandbox.workflow_env(),
        "ADMIN_REQUESTS_CREDENTIALS": "vault",
        **sandbox.workflow_vars(),
    }


def _describe(sandbox: Sandbox, environment: dict[str, str]) -> str:
    gh, ac = sandbox.github, sandbox.anaconda
    notes = {
        "fake GitHub API": f"organisation {org.ORG}, {len(gh.repos)} repositories: "
        + ", ".join(sorted(gh.repos)),
        "fake anaconda.org API and channels": ", ".join(
            f"{owner} ({len(files)} files)" for owner, files in sorted(ac.files.items())
        ),
        "fake Cirun API": f"organisation {org.ORG}; its API key is in the vault only",
        "fake GitHub OIDC issuer": "ID tokens for process.yml on main, environment production",
        "OpenBao (dev server)": "trust policy from vault/, App key in transit, the job's "
        "secret in KV; audit log: " + str(sandbox.vault.audit_log),
    }
    lines = ["admin-requests sandbox is running on 127.0.0.1 (Ctrl-C stops everything).", ""]
    for name, url in sandbox.urls().items():
        lines.append(f"  {name:<36} {url}")
        lines.append(wrap(notes[name], " " * 6, ""))
    lines += [
        "",
        "To carry out requests against it by hand, in a git clone of this repository:",
        "",
        *(f"  export {key}={value}" for key, value in environment.items()),
        "  .venv/bin/admin-requests run",
        "",
        "The token above is a job's GITHUB_TOKEN (this repository only); everything else",
        "comes from the vault per request. To see the whole workflow instead, run",
        "'python3 dev.py demo' (it starts its own sandbox).",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 dev.py sandbox", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON line, then wait")
    args = parser.parse_args(argv)

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with (
        tempfile.TemporaryDirectory(prefix="admin-requests-sandbox-") as workdir,
        Sandbox(Path(workdir)) as sandbox,
    ):
        environment = _environment(sandbox, sandbox.begin_job("workflow_dispatch"))
        if args.json:
            print(
                json.dumps(
                    {
                        "urls": sandbox.urls(),
                        "environment": environment,
                        "vault_pid": sandbox.vault.pid,
                        "vault_root_token": sandbox.vault.root_token,
                    }
                ),
                flush=True,
            )
        else:
            print(_describe(sandbox, environment), flush=True)
        stop.wait()
        print("\nstopping the sandbox...", file=sys.stderr, flush=True)
    print("sandbox stopped; nothing is left running.", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
