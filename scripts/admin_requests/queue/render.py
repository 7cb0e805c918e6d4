"""Which queued items need a rendering, for the unprivileged render job.

The render job runs before the processing job, without credentials. It reads the same
queue the processing run will (``requests/`` and ``queue-state/``), takes the files the
next run attempts (``decision.decide``, the one rule) that are valid, and asks each
item's kind what it needs rendered (``RequestKind.render``, offline). Each request is
known by ``render_key(repository, branch)``: the render matrix's entries, the rendering
files' names, and what the processing job looks up.

A file that becomes due only between the two jobs gets no rendering in this run; its
kind falls back (the cirun pull request asks conda-forge's bot to rerender).
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from datetime import datetime
from pathlib import Path
from typing import Any

from admin_requests.kinds import REGISTRY
from admin_requests.kinds.contract import RenderRequest, RequestKind
from admin_requests.queue.decision import Verdict, decide
from admin_requests.queue.state import DEFAULT_STATE_DIR, StateStore, content_digest
from admin_requests.services.smithy import render_key
from admin_requests.validation.checker import REQUEST_SUFFIXES, check_text
from admin_requests.validation.source import read_text


def pending_renders(
    root: Path,
    now: datetime,
    *,
    retry: Set[str] = frozenset(),
    queue_dir: str = "requests",
    state_dir: str = DEFAULT_STATE_DIR,
    kinds: Mapping[str, RequestKind[Any, Any]] = REGISTRY,
) -> dict[str, RenderRequest]:
    """``render_key`` -> what to render, for every item the next run attempts."""
    store = StateStore(root, state_dir)
    folder = root / queue_dir
    found: dict[str, RenderRequest] = {}
    if not folder.is_dir():
        return found
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix not in REQUEST_SUFFIXES:
            continue
        request = f"{queue_dir}/{path.name}"
        decision = decide(
            request, store.load(request), content_digest(path.read_bytes()), now, retry=retry
        )
        if decision.verdict is not Verdict.RUN:
            continue
        text, _problems = read_text(path, request)
        report = check_text(text, request, kinds) if text is not None else None
        kind = kinds.get(report.action) if report and report.ok and report.action else None
        if report is None or kind is None:
            continue  # the processing run reports it; nothing to render
        for item in report.items:
            wanted = kind.render(item)
            if wanted is not None:
                found.setdefault(render_key(wanted.repository, wanted.branch), wanted)
    return found
