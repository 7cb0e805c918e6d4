"""``admin-requests render``: the unprivileged render job's command.

``--plan`` prints the keys of the renderings the next processing run wants, as a JSON
list (process.yml turns it into the render job's matrix). ``--key KEY --output DIR``
renders one of them with conda-smithy (``CONDA_SMITHY``) and writes ``DIR/KEY.json``;
without ``--key`` it renders all (locally, one after the other).

It must run where no credential is: it clones public feedstocks anonymously and runs
their content (services/smithy.py). It reads no token and builds no client.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from admin_requests.config import Settings
from admin_requests.errors import UsageError
from admin_requests.queue.render import pending_renders
from admin_requests.services.smithy import FeedstockRenderer

log = logging.getLogger(__name__)


def command_render(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> int:
    root = Path(args.root)
    retry = frozenset(f"requests/{Path(name).name}" for name in args.retry if name)
    wanted = pending_renders(root, datetime.now(UTC), retry=retry)
    if args.plan:
        print(json.dumps(sorted(wanted)))
        return 0
    if not args.output:
        raise UsageError("give --output DIR to write renderings into (or --plan)")
    settings = Settings.from_environ(environ)
    if not settings.conda_smithy:
        raise UsageError("set CONDA_SMITHY to conda-smithy's executable to render")
    if args.key and args.key not in wanted:
        raise UsageError(
            f"no queued item needs the rendering {args.key!r} now; 'render --plan' lists them"
        )
    renderer = FeedstockRenderer(
        settings.conda_smithy, f"{settings.git_base_url}/{settings.organisation}", environ
    )
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    for key in [args.key] if args.key else sorted(wanted):
        request = wanted[key]
        rendering = renderer.render(request)
        if rendering is None:
            print(f"{request.repository}@{request.branch}: the edits change nothing")
            continue
        (output / f"{key}.json").write_text(rendering.to_json(), encoding="utf-8")
        print(f"{request.repository}@{request.branch}: rendered ({key}.json)")
    return 0
