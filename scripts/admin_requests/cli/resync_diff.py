"""``admin-requests resync-diff``: the weekly repodata resync's job without credentials.

``resync-diff --output FILE`` clones the patches feedstock anonymously (or uses
``--checkout DIR``), runs its ``show_diff.py`` (resync/diff.py) and writes what it
printed, for ``resync`` (the privileged job, cli/resync.py) to read. In Actions it also
sets the step outputs ``empty`` (``true``/``false``) and ``diff`` (cut to what an issue
can hold), which the workflow hands to the next job. It reads no token and builds no
client.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path

from admin_requests.actions_output import neutralise_commands, set_outputs
from admin_requests.config import Settings
from admin_requests.errors import ServiceError
from admin_requests.resync.diff import clone_and_show_diff, is_empty, show_diff
from admin_requests.resync.publish import DIFF_CHARS

EXIT_OK, EXIT_FAILED = 0, 1
# A job's outputs may hold 1 MB in all; the issue shows at most DIFF_CHARS of the diff.
OUTPUT_CHARS = DIFF_CHARS + 1000


def command_resync_diff(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> int:
    python = environ.get("SHOW_DIFF_PYTHON", "python")
    try:
        if args.checkout:
            diff = show_diff(Path(args.checkout), python, environ)
        else:
            settings = Settings.from_environ(environ)
            url = f"{settings.git_base_url}/{settings.organisation}/"
            url += f"{settings.repodata_patches_repository}.git"
            diff = clone_and_show_diff(url, python, environ)
    except ServiceError as error:
        print(neutralise_commands(f"the repodata diff could not be computed: {error}"))
        return EXIT_FAILED
    Path(args.output).write_text(diff, encoding="utf-8")
    empty = is_empty(diff)
    set_outputs({"empty": str(empty).lower(), "diff": diff[:OUTPUT_CHARS]}, environ)
    verdict = "no difference" if empty else "a difference"
    print(neutralise_commands(f"show_diff.py found {verdict} ({len(diff)} characters)"))
    return EXIT_OK
