"""The maintainers' status page: the queue, failures, latency and workflow health.

``collect`` gathers the data (queue files and state, git history, GitHub API) into a
``StatusReport`` (``model``); ``render`` writes it as a static site: ``index.html``,
``style.css`` and ``status.json`` with the same data.
"""

from __future__ import annotations

from admin_requests.status.collect import GitHubReads, StatusCollector, StatusOptions
from admin_requests.status.model import QueueState, StatusReport
from admin_requests.status.render import render_html, write_site

__all__ = [
    "GitHubReads",
    "QueueState",
    "StatusCollector",
    "StatusOptions",
    "StatusReport",
    "render_html",
    "write_site",
]
