"""``admin-requests resync-diff``: the weekly repodata resync's job without credentials.

``resync-diff --checkout DIR --output FILE`` runs the patches feedstock's
``show_diff.py`` (resync/diff.py) and writes what it printed, for ``resync`` (the
privileged job, cli/resync.py) to read. It reads no token and builds no client.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path

from admin_requests.actions_output import neutralise_commands
from admin_requests.errors import ServiceError
from admin_requests.resync.diff import is_empty, show_diff

EXIT_OK, EXIT_FAILED = 0, 1


def command_resync_diff(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> int:
    python = environ.get("SHOW_DIFF_PYTHON", "python")
    try:
        diff = show_diff(Path(args.checkout), python, environ)
    except ServiceError as error:
        print(neutralise_commands(f"the repodata diff could not be computed: {error}"))
        return EXIT_FAILED
    Path(args.output).write_text(diff, encoding="utf-8")
    verdict = "no difference" if is_empty(diff) else "a difference"
    print(neutralise_commands(f"show_diff.py found {verdict} ({len(diff)} characters)"))
    return EXIT_OK
