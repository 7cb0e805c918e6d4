"""repodata-resync.yml run for real under act, against the sandbox.

The patches feedstock is served by the sandbox's git server with a stand-in
``recipe/show_diff.py`` (the real one needs conda-build and the network; see
tests/resync/world.py). The second job logs in to the real OpenBao with the resync
role, mints one installation token for the feedstock, commits, then opens its issue.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox import org
from sandbox.workflow import ActResult, dispatch_event

from admin_requests.resync.publish import COMMIT_MESSAGE, TITLE
from tests.resync.world import DIFF, EMPTY, checkout_with

from .act import Run
from .conftest import start_run

pytestmark = [pytest.mark.act, pytest.mark.xdist_group("resync_act")]

WORKFLOW = f"{org.REPOSITORY}/.github/workflows/repodata-resync.yml@refs/heads/main"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    yield from start_run(tmp_path_factory.mktemp("resync-act"))


def serve_patches(run: Run, tmp_path: Path, diff: str) -> None:
    seed = checkout_with(tmp_path, diff)
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "seed"],
    ):
        subprocess.run(["git", *args], cwd=seed, check=True)
    shutil.rmtree(run.sandbox.git.root / org.ORG / f"{org.PATCHES}.git", ignore_errors=True)
    run.sandbox.git.add_repository(org.PATCHES, seed)


def resync(run: Run, *, dry_run: bool = False) -> ActResult:
    sandbox = run.sandbox
    token = sandbox.begin_job("workflow_dispatch")
    sandbox.issuer.claim_overrides.update({"job_workflow_ref": WORKFLOW, "workflow_ref": WORKFLOW})
    try:
        return run.workspace.run_act(
            "workflow_dispatch",
            dispatch_event(dry_run=dry_run),
            "repodata-resync.yml",
            env={**sandbox.workflow_env(), "GITHUB_SERVER_URL": sandbox.git.url},
            variables={
                **sandbox.workflow_vars(),
                "SHOW_DIFF_PYTHON": "python3",
                "ADMIN_REQUESTS_GITHUB_APP_ID": str(sandbox.app.app_id),
                "ADMIN_REQUESTS_GITHUB_APP_INSTALLATION_ID": str(sandbox.app.installation_id),
            },
            github_token=token,
        )
    finally:
        sandbox.end_job(token)


def test_a_difference_is_rebuilt_then_reported_with_a_token_for_the_feedstock_only(
    run: Run, tmp_path: Path
) -> None:
    serve_patches(run, tmp_path, DIFF)
    result = resync(run)
    assert result.ok, result.output[-4000:]
    gh = run.sandbox.github
    (push,) = gh.repo(org.PATCHES).pushes
    assert push.message == COMMIT_MESSAGE
    (issue,) = gh.issues(org.PATCHES)
    assert issue.title == TITLE
    assert "libbar >=1,<2" in issue.body
    # One installation token, for the patches feedstock with contents and issues.
    minted = [t for t in gh.tokens.values() if t.installation_id is not None]
    assert [(t.repositories, t.permissions) for t in minted] == [
        (frozenset({org.PATCHES}), {"contents": "write", "issues": "write"})
    ]
    assert all(t.revoked for t in minted)


def test_no_difference_starts_no_job_that_can_hold_a_credential(run: Run, tmp_path: Path) -> None:
    gh = run.sandbox.github
    pushes, issues = len(gh.repo(org.PATCHES).pushes), len(gh.issues(org.PATCHES))
    minted = sum(t.installation_id is not None for t in gh.tokens.values())
    logins = len(run.sandbox.issuer.issued)
    serve_patches(run, tmp_path, EMPTY)
    result = resync(run)
    assert result.ok, result.output[-4000:]
    assert "rebuild the patches and update the issue" not in result.output  # skipped
    assert len(gh.repo(org.PATCHES).pushes) == pushes
    assert len(gh.issues(org.PATCHES)) == issues
    assert sum(t.installation_id is not None for t in gh.tokens.values()) == minted
    assert len(run.sandbox.issuer.issued) == logins  # no OIDC token was even asked for
