"""Two process.yml runs at once on the same queue: nothing may be done twice.

In production the workflow's ``concurrency:`` group keeps runs apart, but act ignores
it, as GitHub does for a run started outside that group (another workflow, a manual
``admin-requests run``): the queue itself must make a second run harmless. Both runs
start from the same commit, each with its own job token and its own vault login; the
fakes count every call that changes something.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sandbox import org
from sandbox.demo import merge_sample_queue, sample_queue
from sandbox.workflow import ActResult, push_event

from .act import Run

pytestmark = pytest.mark.act

# Calls that change the organisation, by method and path (the fakes' own call log).
CHANGES = {
    "archive": ("PATCH", r"^/repos/conda-forge/[^/]+-feedstock$"),
    "branch to tag": ("POST", r"/git/refs$"),
    "branch deleted": ("DELETE", r"/git/refs/"),
    # A request's outputs in one commit: feedstock-outputs' main moved once.
    "output registered": ("PATCH", r"^/repos/conda-forge/feedstock-outputs/git/refs/heads/"),
    # The rebuild: the patches feedstock's main moved to an empty commit (its push builds).
    "rebuild started": (
        "PATCH",
        r"^/repos/conda-forge/conda-forge-repodata-patches-feedstock/git/refs/heads/main$",
    ),
    "issue opened": ("POST", r"^/repos/conda-forge/admin-requests/issues$"),
}
LABEL_CHANGES = {
    "label added": ("POST", r"^/channels/"),
    "label removed": ("DELETE", r"^/channels/"),
    "copied": ("POST", r"^/copy/"),
}
RECORDED_ONCE = Counter(
    {
        "Complete requests/add-output-numpy-base.yml": 1,
        "Complete requests/archive-branch-libfoo.yml": 1,
        "Complete requests/archive-retired.yml": 1,
        "Complete requests/broken-numpy-2.0.0.yml": 1,
        "Complete requests/cfep3-conda-standalone.yml": 1,
        "Park requests/unbreak-pytest.yml": 1,
    }
)
ONCE_EACH = {
    "archive": 2,
    "branch to tag": 1,
    "branch deleted": 1,
    "output registered": 1,
    "rebuild started": 1,
    "issue opened": 1,
    "label added": 2,
    "label removed": 1,
    "copied": 1,
}


@pytest.fixture(scope="module")
def two_runs(run: Run) -> tuple[Run, list[ActResult], str]:
    sandbox, ws = run.sandbox, run.workspace
    base = ws.head()
    merge_sample_queue(sandbox, ws, sample_queue())
    head = ws.head()
    tokens = [sandbox.begin_job("push") for _ in range(2)]
    ws.sync()
    results: list[ActResult] = []
    lock = threading.Lock()

    def one_run(token: str) -> None:
        result = ws.run_act(
            "push",
            push_event(base, head),
            "process.yml",
            env=sandbox.workflow_env(),
            variables=sandbox.workflow_vars(),
            github_token=token,
            sync=False,
        )
        with lock:
            results.append(result)

    threads = [threading.Thread(target=one_run, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for token in tokens:
        sandbox.end_job(token)
    return run, results, head


def test_nothing_is_done_twice(two_runs: tuple[Run, list[ActResult], str]) -> None:
    run, results, head = two_runs
    assert any(result.ok for result in results), results[0].output[-4000:]
    gh, ac = run.sandbox.github, run.sandbox.anaconda
    done = Counter(
        {name: gh.count(method, path) for name, (method, path) in CHANGES.items()}
        | {name: ac.count(method, path) for name, (method, path) in LABEL_CHANGES.items()}
    )
    subjects = run.workspace.remote_git("log", "--format=%s", f"{head}..main").splitlines()
    recorded = Counter(subject.split(":")[0] for subject in subjects)
    assert (done, recorded, len(gh.issues(org.HOME))) == (Counter(ONCE_EACH), RECORDED_ONCE, 1)
