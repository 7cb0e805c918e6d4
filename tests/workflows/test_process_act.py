"""process.yml run for real under act on a push to main, against the sandbox.

The queue is the demo's (python3 dev.py demo): six requests of five kinds, one of which
half fails. Every assertion reads the services' own records (the fakes' state and
tokens, the vault's audit log and token store, the bare git remote), not the log.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox import org
from sandbox.demo import merge_sample_queue, run_process_workflow, sample_queue
from sandbox.workflow import ActResult, dispatch_event, push_event

from admin_requests.queue.lease import LEASE_REF

from .act import Run, state_on_main
from .conftest import start_run

# One worker runs the whole module under pytest-xdist: its tests share the module's act runs.
pytestmark = [pytest.mark.act, pytest.mark.xdist_group("process_act")]

BOT = "github-actions[bot]"


@pytest.fixture(scope="module")
def pushed(run: Run) -> tuple[Run, ActResult, str]:
    base = run.workspace.head()
    merge_sample_queue(run.sandbox, run.workspace, sample_queue())
    head = run.workspace.head()
    result = run_process_workflow(run.sandbox, run.workspace, "push", push_event(base, head))
    return run, result, head


def test_the_job_succeeds(pushed: tuple[Run, ActResult, str]) -> None:
    _, result, _ = pushed
    assert result.ok, result.output[-4000:]


def test_done_requests_are_removed_and_the_rest_rewritten_in_commits_on_main(
    pushed: tuple[Run, ActResult, str],
) -> None:
    run, _, head = pushed
    ws = run.workspace
    assert ws.remote_files("requests") == ["requests/README.md", "requests/unbreak-pytest.yml"]
    # The half-failed request keeps only what is left, comments included.
    assert ws.remote_file("requests/unbreak-pytest.yml") == (
        "# The test-suite failure was in the CI image, not in pytest.\n"
        "action: not_broken\n"
        "packages:\n"
        "  - noarch/pytest-8.3.0-pyhd8ed1ab_1.conda  # the rebuild"
    )
    state = state_on_main(ws, "unbreak-pytest.yml")
    assert state is not None
    assert state["parked"] is True
    assert state["issue"] == 1
    subjects = ws.remote_git("log", "--format=%an|%s", f"{head}..main").splitlines()
    assert len(subjects) == 6  # one commit per request, by the bot
    assert all(line.startswith(f"{BOT}|") for line in subjects)
    assert sorted(line.split("|")[1].split(":")[0] for line in subjects) == [
        "Complete requests/add-output-numpy-base.yml",
        "Complete requests/archive-branch-libfoo.yml",
        "Complete requests/archive-retired.yml",
        "Complete requests/broken-numpy-2.0.0.yml",
        "Complete requests/cfep3-conda-standalone.yml",
        "Park requests/unbreak-pytest.yml",
    ]


def test_the_sandbox_shows_every_item_done_once(pushed: tuple[Run, ActResult, str]) -> None:
    run, _, _ = pushed
    gh, ac = run.sandbox.github, run.sandbox.anaconda
    assert gh.repo("retired-tool-feedstock").archived
    assert gh.repo("old-thing-feedstock").archived
    libfoo = gh.repo("libfoo-feedstock")
    assert libfoo.branch("1.x") is None
    assert libfoo.tag("1.x_archived") is not None
    outputs = gh.repo(org.OUTPUTS).file_text("outputs/n/u/m/numpy-base.json")
    assert '"numpy"' in outputs
    assert "broken" in ac.file(org.CHANNEL, "linux-64/numpy-2.0.0-py312h1103770_0.conda").labels
    assert "broken" not in ac.file(org.CHANNEL, "noarch/pytest-8.3.0-pyhd8ed1ab_0.conda").labels
    assert ac.has_file(org.CHANNEL, org.STAGED[0])
    # broken and not_broken share one rebuild of the repodata patches: one empty commit
    # on its main, whose push starts its build.
    (rebuild,) = gh.repo(org.PATCHES).pushes
    assert rebuild.workflows == (org.REBUILD_WORKFLOW,)
    assert rebuild.message.startswith("resync repo data for broken/not-broken packages ")
    commit = gh.repo(org.PATCHES).git_commits[rebuild.after]
    assert commit.parents == (rebuild.before,)
    assert commit.tree == gh.repo(org.PATCHES).git_commits[rebuild.before].tree
    assert gh.effects["archive"] == 2
    assert ac.effects["add_label"] == 2
    assert ac.effects["remove_label"] == 1
    assert ac.effects["copy"] == 1


def test_the_failing_request_gets_one_issue_addressed_to_its_author(
    pushed: tuple[Run, ActResult, str],
) -> None:
    run, _, _ = pushed
    [issue] = run.sandbox.github.issues(org.HOME)
    assert issue.title == "Request requests/unbreak-pytest.yml needs attention"
    assert issue.state == "open"
    assert issue.body.splitlines()[1].startswith("@frank, your request")
    assert "pyhd8ed1ab\\_1.conda" in issue.body  # markdown-escaped
    assert "pyhd8ed1ab\\_0.conda" in issue.body  # listed as done


def test_credentials_came_through_oidc_and_none_outlived_the_job(
    pushed: tuple[Run, ActResult, str],
) -> None:
    run, result, _ = pushed
    sandbox = run.sandbox
    events = sandbox.vault.audit_events()
    logins = [e for e in events if e.is_login]
    # actions/vault-credentials' login check, then the processing step: both with the
    # OIDC token of process.yml on main for this push, both revoked by the job itself.
    assert [(e.error, e.display_name, e.metadata.get("event_name")) for e in logins] == [
        ("", f"jwt-{org.REPOSITORY}/.github/workflows/process.yml@refs/heads/main", "push")
    ] * 2
    revoked = {e.accessor for e in events if e.is_revoke_self and not e.error}
    assert {e.accessor for e in logins} <= revoked
    assert sandbox.vault.live_tokens("auth/jwt/login") == []
    assert len(sandbox.issuer.issued) == 2
    # One installation token per request that needs GitHub and one for the rebuild,
    # each for exactly its repositories and permission, each revoked.
    minted = [t for t in sandbox.github.tokens.values() if t.installation_id is not None]
    pushes = [t for t in minted if t.repositories == {org.HOME}]
    minted = [t for t in minted if t not in pushes]
    # Each push (the lease taken, the results, the lease released) had a token of its
    # own: the App's, contents: write on this repository only, revoked after it. The
    # ruleset on main (deploy/github/) refused nothing, and no push used the job token.
    assert len(pushes) == 3
    assert all(t.permissions == {"contents": "write"} and t.revoked for t in pushes)
    assert sorted(p.token for p in sandbox.git.pushes) == sorted(t.token for t in pushes)
    assert [u.ref for p in sandbox.git.pushes for u in p.updates] == [
        LEASE_REF,
        "refs/heads/main",
        LEASE_REF,
    ]
    assert sandbox.git.refused == []
    assert sorted((sorted(t.repositories or []), t.permissions, t.revoked) for t in minted) == [
        (["conda-forge-repodata-patches-feedstock"], {"contents": "write"}, True),
        (["feedstock-outputs"], {"contents": "write"}, True),
        (["libfoo-feedstock"], {"contents": "write"}, True),
        (["old-thing-feedstock", "retired-tool-feedstock"], {"administration": "write"}, True),
    ]
    # Short-lived anaconda.org tokens for the three kinds that change labels or copy,
    # minted with the machine account's password for the organisation, removed; the
    # username and password themselves are never revealed.
    anaconda = sandbox.anaconda.minted()
    assert len(anaconda) == 3
    for token in anaconda:
        assert token.removed_at is not None
        assert token.expires_at is not None
        assert token.expires_at - token.created_at <= 900
        assert token.scopes == {"api:read", "api:write"}
        assert token.owners == {org.CHANNEL}
        assert token.minted_by == org.ANACONDA_ACCOUNT
    # The job's own GITHUB_TOKEN: this repository only, ended with the job.
    [job_token] = sandbox.job_tokens
    assert sandbox.github.tokens[job_token].repositories == {org.HOME}
    assert sandbox.github.tokens[job_token].permissions["contents"] == "read"  # pushes: the App
    assert not sandbox.github.is_token_valid(job_token)
    assert job_token not in result.output  # act masks it like a secret
    assert "sandbox-org-password-" not in result.output
    assert org.ANACONDA_ACCOUNT not in result.output


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Run, ActResult, str]]:
    for run in start_run(Path(tmp_path_factory.mktemp("dry-run"))):
        ws = run.workspace
        ws.merge_request(
            "archive-retired.yml",
            "action: archive\nfeedstocks:\n  - retired-tool\n",
            author="alice",
            number=7,
        )
        head = ws.head()
        result = run_process_workflow(
            run.sandbox, ws, "workflow_dispatch", dispatch_event(dry_run=True)
        )
        yield run, result, head


def test_a_dry_run_dispatch_reports_mints_nothing_and_changes_nothing(
    dry_run: tuple[Run, ActResult, str],
) -> None:
    run, result, head = dry_run
    assert result.ok, result.output[-4000:]
    assert "[dry run] requests/archive-retired.yml: would run" in result.output
    assert "credentials: none minted: a dry run reads with the job's GITHUB_TOKEN only." in (
        result.output
    )
    # The read-only checks ran with the job token (public repositories), nothing else.
    assert run.sandbox.github.count("GET", r"/repos/conda-forge/retired-tool-feedstock$") == 1
    assert run.workspace.head() == head
    assert not run.sandbox.github.repo("retired-tool-feedstock").archived
    assert run.sandbox.issuer.issued == []  # no OIDC token, no vault login
    assert run.sandbox.github.effects["mint_token"] == 0
    assert "Main let git push with the job token" not in result.output
    assert "Main check the vault credentials" not in result.output
