"""Which queued items the render job renders: the due, valid files' render requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from admin_requests.kinds.ci_resources import pr_branch
from admin_requests.queue.render import pending_renders
from admin_requests.queue.state import RequestState, StateStore, content_digest
from admin_requests.services.smithy import render_key

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CIRUN = """\
action: cirun
feedstocks: [{feedstocks}]
resources: [cirun-openstack-gpu-large]
pull_request: false
send_pr: {send_pr}
"""


def queue(root: Path, files: dict[str, str]) -> None:
    (root / "requests").mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / "requests" / name).write_text(text)


def test_each_due_cirun_pull_request_is_one_render_request(tmp_path: Path) -> None:
    queue(
        tmp_path,
        {
            "gpu.yml": CIRUN.format(feedstocks="foo, bar", send_pr="true"),
            "again.yml": CIRUN.format(feedstocks="foo", send_pr="true"),  # the same branch
            "quiet.yml": CIRUN.format(feedstocks="baz", send_pr="false"),
            "archive.yml": "action: archive\nfeedstocks: [old]\n",
            "broken.yml": "action: cirun\nfeedstocks: [Not A Name]\n",
        },
    )
    wanted = pending_renders(tmp_path, NOW)
    branch = pr_branch(["cirun-openstack-gpu-large"], False)
    assert sorted(wanted) == sorted(
        render_key(f"{name}-feedstock", branch) for name in ("foo", "bar")
    )
    assert {(r.repository, r.branch) for r in wanted.values()} == {
        ("foo-feedstock", branch),
        ("bar-feedstock", branch),
    }
    assert [e.path for e in next(iter(wanted.values())).edits] == [
        "conda-forge.yml",
        "recipe/conda_build_config.yaml",
    ]


def test_parked_and_waiting_files_are_not_rendered_unless_retried(tmp_path: Path) -> None:
    text = CIRUN.format(feedstocks="foo", send_pr="true")
    queue(tmp_path, {"parked.yml": text, "waiting.yml": text.replace("foo", "bar")})
    store = StateStore(tmp_path, "queue-state")
    for name, state in {
        "parked.yml": {"parked": True},
        "waiting.yml": {"next_attempt": NOW + timedelta(hours=1)},
    }.items():
        request = f"requests/{name}"
        digest = content_digest((tmp_path / request).read_bytes())
        store.save(RequestState(request, digest, attempts=1, **state))  # type: ignore[arg-type]
    assert pending_renders(tmp_path, NOW) == {}
    retried = pending_renders(tmp_path, NOW, retry=frozenset({"requests/parked.yml"}))
    assert [r.repository for r in retried.values()] == ["foo-feedstock"]
    later = pending_renders(tmp_path, NOW + timedelta(hours=2))
    assert [r.repository for r in later.values()] == ["bar-feedstock"]


def test_an_empty_or_missing_queue_renders_nothing(tmp_path: Path) -> None:
    assert pending_renders(tmp_path, NOW) == {}
    queue(tmp_path, {})
    assert pending_renders(tmp_path, NOW) == {}
