"""broken and not_broken read a package's file list once per run, not each file (issue 18).

A request of N files of one package makes one ``GET /package/<owner>/<name>`` and the
label writes, never a ``GET /dist`` per file; a re-run with everything in place makes
only the read; a file missing from the list fails alone. The run's list is shared by
the item threads and by every scope (request, chunk) of the run.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

from admin_requests.access import Access
from admin_requests.queue.dispatch import QueueConfig, QueueRunner
from admin_requests.queue.gitops import Git
from admin_requests.queue.report import Disposition
from admin_requests.services import ChannelFiles, Services
from tests.fakes import FakeAnaconda, FakeGitHub, Fault
from tests.fakes.clock import FakeClock
from tests.fakes.wiring import services_for
from tests.kinds.broken.world import label_anaconda, label_github
from tests.kinds.helpers import load, run, statuses
from tests.queue.support import BOT, Repo

CHANNEL = "conda-forge"
FILES = [f"linux-64/multi-1.{n}-h0_0.conda" for n in range(5)]


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:
    return label_github(fake_github)


@pytest.fixture
def ac(fake_anaconda: FakeAnaconda) -> FakeAnaconda:
    ac = label_anaconda(fake_anaconda)
    for basename in FILES:
        ac.add_file(CHANNEL, basename)
    ac.reset_counters()
    return ac


def request(action: str, files: list[str]) -> str:
    return f"action: {action}\npackages:\n" + "".join(f"  - {f}\n" for f in files)


def calls(ac: FakeAnaconda) -> dict[str, int]:
    return {
        "package reads": ac.count("GET", r"^/package/"),
        "file reads": ac.count("GET", r"^/dist/"),
        "label writes": ac.count("POST", r"^/channels/") + ac.count("DELETE", r"^/channels/"),
    }


def test_n_files_of_one_package_are_one_read_and_the_writes(
    gh: FakeGitHub, ac: FakeAnaconda
) -> None:
    """Fails on the code before: 5 ``GET /dist`` reads, one per file."""
    outcomes = run(load(request("broken", FILES)), services_for(gh, ac))
    assert statuses(outcomes) == [("done", True)] * 5
    assert calls(ac) == {"package reads": 1, "file reads": 0, "label writes": 5}
    assert all("broken" in ac.file(CHANNEL, f).labels for f in FILES)


def test_a_rerun_with_all_in_place_makes_only_the_read(gh: FakeGitHub, ac: FakeAnaconda) -> None:
    run(load(request("broken", FILES)), services_for(gh, ac))
    ac.reset_counters()
    # The next run: new services, so a list of its own.
    outcomes = run(load(request("broken", FILES)), services_for(gh, ac))
    assert statuses(outcomes) == [("done", False)] * 5
    assert calls(ac) == {"package reads": 1, "file reads": 0, "label writes": 0}


def test_a_file_not_on_the_channel_fails_alone(gh: FakeGitHub, ac: FakeAnaconda) -> None:
    absent = "linux-64/multi-9.9-h0_0.conda"
    outcomes = run(load(request("broken", [FILES[0], absent, FILES[1]])), services_for(gh, ac))
    assert statuses(outcomes) == [("done", True), ("failed", False), ("done", True)]
    assert outcomes[1].detail == (
        f"{absent!r} is not on the 'conda-forge' channel; check the subdir, version and "
        "build string in the request."
    )
    assert calls(ac) == {"package reads": 1, "file reads": 0, "label writes": 2}


def test_a_package_the_channel_lacks_says_so(gh: FakeGitHub, ac: FakeAnaconda) -> None:
    absent = "linux-64/nosuch-1.0-h0_0.conda"
    [outcome] = run(load(request("broken", [absent])), services_for(gh, ac))
    assert outcome.status.value == "failed"
    assert "it has no package named 'nosuch'; check the package name" in outcome.detail


def test_not_broken_reads_once_too(gh: FakeGitHub, ac: FakeAnaconda) -> None:
    """Fails on the code before: 5 ``GET /dist`` reads."""
    for basename in FILES[:3]:
        ac.file(CHANNEL, basename).labels.add("broken")
    outcomes = run(load(request("not_broken", FILES)), services_for(gh, ac))
    assert statuses(outcomes) == [("done", True)] * 3 + [("done", False)] * 2
    assert calls(ac) == {"package reads": 1, "file reads": 0, "label writes": 3}
    assert all("broken" not in ac.file(CHANNEL, f).labels for f in FILES)
    ac.reset_counters()
    run(load(request("not_broken", FILES)), services_for(gh, ac))
    assert calls(ac) == {"package reads": 1, "file reads": 0, "label writes": 0}


def test_the_list_stays_right_after_each_write(gh: FakeGitHub, ac: FakeAnaconda) -> None:
    """broken, not_broken and broken again in one run: each sees the one before."""
    services = services_for(gh, ac)
    for action, changed in (("broken", True), ("not_broken", True), ("broken", True)):
        [outcome] = run(load(request(action, FILES[:1])), services)
        assert (outcome.status.value, outcome.changed) == ("done", changed)
    for action in ("broken", "not_broken"):
        [outcome] = run(load(request(action, FILES[:1])), services)
    assert (outcome.status.value, outcome.changed) == ("done", True)
    assert ac.file(CHANNEL, FILES[0]).labels == {"main"}
    assert calls(ac)["package reads"] == 1


def test_a_failed_write_reads_the_list_again(gh: FakeGitHub, ac: FakeAnaconda) -> None:
    """A write that failed may or may not have happened: the list is not trusted."""
    ac.faults.on_call(1, fault=Fault.server_error(400), method="POST")
    services = services_for(gh, ac)
    first, second = run(load(request("broken", FILES[:2])), services)
    assert first.status.value == "failed"
    assert (second.status.value, second.changed) == ("done", True)
    assert calls(ac)["package reads"] == 2


def test_the_item_threads_share_one_read(gh: FakeGitHub, ac: FakeAnaconda) -> None:
    loaded = load(request("broken", FILES))
    services = services_for(gh, ac)
    ac.faults.latency = 0.05  # every thread asks while the first read is in flight
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda i: loaded.kind.execute(i, services), loaded.items))
    assert statuses(outcomes) == [("done", True)] * 5
    assert calls(ac) == {"package reads": 1, "file reads": 0, "label writes": 5}


def test_preflight_reads_each_package_once(gh: FakeGitHub, ac: FakeAnaconda) -> None:
    """Fails on the code before: one ``GET /dist`` per entry."""
    absent = "linux-64/multi-9.9-h0_0.conda"
    other = "linux-64/nosuch-1.0-h0_0.conda"
    loaded = load(request("broken", [*FILES, absent, other]))
    problems = loaded.kind.preflight(loaded.model, services_for(gh, ac))
    assert [(p.code, p.line) for p in problems] == [
        ("no-such-package", 8),
        ("no-such-package", 9),
    ]
    assert "check the subdir, version and build string" in problems[0].message
    assert "it has no package named 'nosuch'" in problems[1].message
    assert calls(ac) == {"package reads": 2, "file reads": 0, "label writes": 0}


def test_preflight_that_cannot_read_warns_each_entry_of_the_package(
    gh: FakeGitHub, ac: FakeAnaconda
) -> None:
    ac.faults.at_rate(1.0, Fault.server_error(400), method="GET")
    loaded = load(request("broken", FILES[:3]))
    problems = loaded.kind.preflight(loaded.model, services_for(gh, ac))
    assert [(p.code, p.severity) for p in problems] == [("online-check-unavailable", "warning")] * 3
    assert calls(ac)["package reads"] == 1


# -- one run of the queue: its scopes share the list (as cli/run.py's scoped_services) --


def test_one_run_reads_each_package_once_across_requests_and_chunks(
    gh: FakeGitHub, ac: FakeAnaconda, repo: Repo, clock: FakeClock
) -> None:
    repo.add_request("a.yml", request("broken", FILES[:3]))
    repo.add_request("b.yml", request("broken", FILES[3:]))
    shared = ChannelFiles()
    scopes: list[Services] = []

    @contextmanager
    def scope(_access: Access, _label: str) -> Iterator[Services]:
        services = services_for(gh, ac)  # fresh clients, as a request's credentials give
        services.channel_files = shared
        scopes.append(services)
        yield services

    runner = QueueRunner(
        repo.root,
        services=services_for(gh, ac),
        git=Git(repo.root, BOT),
        clock=clock,
        config=QueueConfig(chunk_items=2, max_parallel_items=8),
        services_for=scope,
    )
    report = runner.run()
    assert [r.disposition for r in report.results] == [Disposition.COMPLETED] * 2
    assert len(scopes) >= 4  # two chunks a request, and the rebuild's own
    assert calls(ac) == {"package reads": 1, "file reads": 0, "label writes": 5}
    assert shared.reads == 1
