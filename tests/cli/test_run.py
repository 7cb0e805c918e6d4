"""``admin-requests run`` from the command line, and with the vault backend: the wiring the
processing job uses.

For the vault tests (marked ``vault``), OpenBao's dev server with the project's trust
policy and the fake OIDC issuer are real enough to log in; GitHub and anaconda.org are
the stateful fakes, which check every token's scope. The job's own GITHUB_TOKEN is
registered as production issues it: this repository only, contents/issues/pull_requests,
so anything it could not do in production it cannot do here either.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from admin_requests.cli import build_parser, main
from admin_requests.cli.run import command_run
from admin_requests.errors import GitError, UsageError
from admin_requests.queue.lease import LEASE_REF, LeaseInfo
from tests.fakes.anaconda import FakeAnaconda
from tests.fakes.git_http import FakeGitServer, deployed_rulesets
from tests.fakes.github import REPODATA_PATCHES_FILES, REPODATA_PATCHES_WORKFLOW, FakeGitHub
from tests.fakes.oidc import FakeOidcIssuer
from tests.queue.support import Repo, bare_of, clone_of
from tests.vault_trust import (
    ANACONDA_ORG_PASSWORD,
    ANACONDA_ORG_USERNAME,
    AUDIENCE,
    BaoServer,
    trust_parameters,
)


def test_run_dry_run_prints_the_plan_and_changes_nothing(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.add_request("a.yml", "action: archive\nfeedstocks:\n  - foo\n")
    head = repo.head()
    code = main(["run", "--root", str(repo.root), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert "[dry run] requests/a.yml: would run" in out
    assert "archive the repository foo-feedstock" in out
    assert repo.head() == head
    assert repo.status() == ""


def test_retry_of_a_missing_file_is_a_usage_error(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["run", "--root", str(repo.root), "--dry-run", "--retry", "nope.yml"])
    assert code == 2
    assert "no 'requests/nope.yml'" in capsys.readouterr().err


def test_an_empty_retry_input_means_no_retry(repo: Repo) -> None:
    assert main(["run", "--root", str(repo.root), "--dry-run", "--retry", ""]) == 0


def test_plan_shows_what_the_queue_will_do(
    repo: Repo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.add_request("a.yml", "action: archive\nfeedstocks:\n  - foo\n")
    monkeypatch.chdir(repo.root)
    assert main(["plan", "requests/a.yml"]) == 0
    assert "next run: carried out" in capsys.readouterr().out


HOME = "admin-requests"


PATCHES = "conda-forge-repodata-patches-feedstock"


JOB_TOKEN = "ghs_the-jobs-own-GITHUB_TOKEN"


PACKAGE = "linux-64/bar-1.0-h0_0.conda"


@pytest.fixture
def world(
    trusted_vault: BaoServer,
    oidc_issuer: FakeOidcIssuer,
    fake_github: FakeGitHub,
    fake_anaconda: FakeAnaconda,
    tmp_path: Path,
) -> dict[str, str]:
    params = trust_parameters()
    public = trusted_vault.admin().transit_public_key(params.transit_mount, params.transit_key)
    fake_github.configure_app(4242, public_key_pem=public.encode(), installation_id=77)
    fake_github.public_reads = True  # feedstocks are public: the job token may read them
    fake_github.add_repo(HOME)
    fake_github.add_repo(PATCHES, files=REPODATA_PATCHES_FILES)
    for name in ("old-one-feedstock", "old-two-feedstock"):
        fake_github.add_repo(name)
    fake_github.add_token(
        JOB_TOKEN,
        repositories=[HOME],
        permissions={"contents": "write", "issues": "write", "pull_requests": "read"},
    )
    fake_anaconda.add_account(
        ANACONDA_ORG_USERNAME, ANACONDA_ORG_PASSWORD, organisations=["conda-forge"]
    )
    fake_anaconda.add_file("conda-forge", PACKAGE)
    return {
        "GITHUB_TOKEN": JOB_TOKEN,
        "GITHUB_REPOSITORY": f"conda-forge/{HOME}",
        "GITHUB_API_URL": fake_github.url,
        "ANACONDA_API_URL": fake_anaconda.url,
        "ANACONDA_CHANNEL_URL": fake_anaconda.url,
        "ADMIN_REQUESTS_HTTP_TIMEOUT": "10",
        "ADMIN_REQUESTS_CREDENTIALS": "vault",
        "ADMIN_REQUESTS_OIDC_AUDIENCE": AUDIENCE,
        "VAULT_ADDR": trusted_vault.addr,
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        **oidc_issuer.actions_environ(),
    }


def run(repo: Repo, environ: dict[str, str], *extra: str) -> int:
    args = build_parser().parse_args(["run", "--root", str(repo.root), *extra])
    return command_run(args, environ)


def installation_tokens(gh: FakeGitHub) -> list[tuple[list[str], dict[str, str], bool]]:
    return [
        (sorted(t.repositories or []), dict(t.permissions or {}), t.revoked)
        for t in gh.tokens.values()
        if t.installation_id is not None
    ]


@pytest.mark.vault
def test_each_request_and_the_follow_up_get_their_own_scoped_revoked_tokens(
    world: dict[str, str],
    repo: Repo,
    fake_github: FakeGitHub,
    fake_anaconda: FakeAnaconda,
    oidc_issuer: FakeOidcIssuer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo.add_request("archive-old.yml", "action: archive\nfeedstocks:\n  - old-one\n  - old-two\n")
    repo.add_request("broken-bar.yml", f"action: broken\npackages:\n  - {PACKAGE}\n")
    logins_before = len(oidc_issuer.issued)  # the issuer lives for the whole session

    assert run(repo, world) == 0

    out = capsys.readouterr().out
    assert fake_github.repo("old-one-feedstock").archived
    assert fake_github.repo("old-two-feedstock").archived
    assert fake_anaconda.file("conda-forge", PACKAGE).labels == {"main", "broken"}
    # The rebuild in ANOTHER repository, which the job token could never start: one
    # empty commit on its main, made with the follow-up's own token.
    (rebuild,) = fake_github.repo(PATCHES).pushes_starting(REPODATA_PATCHES_WORKFLOW)
    assert rebuild.message == f"resync repo data for broken/not-broken packages {PACKAGE}"
    assert not repo.exists("requests/archive-old.yml")
    assert not repo.exists("requests/broken-bar.yml")
    # One installation token per request that needs GitHub, one for the follow-up,
    # each for exactly its repositories and permission, all revoked.
    assert sorted(installation_tokens(fake_github)) == [
        ([PATCHES], {"contents": "write"}, True),
        (["old-one-feedstock", "old-two-feedstock"], {"administration": "write"}, True),
    ]
    # One short-lived anaconda.org token for the labels, for the organisation, removed;
    # the machine account's password was only used to mint it.
    minted = fake_anaconda.minted()
    assert [(sorted(t.scopes), t.owners, t.removed) for t in minted] == [
        (["api:read", "api:write"], {"conda-forge"}, True)
    ]
    assert minted[0].minted_by == ANACONDA_ORG_USERNAME
    assert minted[0].expires_at is not None
    assert minted[0].expires_at - fake_anaconda.now() <= 900
    assert len(oidc_issuer.issued) == logins_before + 1  # one vault login for the job
    # The ledger, in the log and in the job summary.
    assert "credentials: 6 credentials minted, 4 revoked, none outstanding" in out
    assert (
        "  - github-installation-token for follow-up of 'broken/not_broken': repositories=["
        f"{PATCHES}]; contents:write (at most 3600 s; revoked after" in out
    )
    assert "  - vault-token for job: role admin-requests-process" in out
    assert "outlive the run by at most" in out  # the App JWTs: they cannot be revoked
    summary = Path(world["GITHUB_STEP_SUMMARY"]).read_text()
    assert "### Credentials" in summary
    assert "| anaconda-token | requests/broken-bar.yml | scopes=" in summary
    assert "❌" not in summary
    assert ANACONDA_ORG_PASSWORD not in out + summary
    assert ANACONDA_ORG_USERNAME not in out + summary


@pytest.mark.vault
def test_a_typo_in_one_feedstock_does_not_hold_the_others_hostage(
    world: dict[str, str],
    repo: Repo,
    fake_github: FakeGitHub,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GitHub refuses a token naming a repository that does not exist (422): each one is
    # probed (metadata only, revoked at once), the typo is left out of the token, the
    # other feedstock is archived and the typo is reported.
    added = repo.add_request(
        "archive-old.yml", "action: archive\nfeedstocks:\n  - old-one\n  - old-tow\n"
    )
    fake_github.add_commit_pull(HOME, added, 41, user="maintainer-gh")

    assert run(repo, world) == 0

    out = capsys.readouterr().out
    assert fake_github.repo("old-one-feedstock").archived
    assert "requests/archive-old.yml: parked (issue #1)" in out
    assert "there is no repository 'old-tow-feedstock'" in out
    assert installation_tokens(fake_github) == [
        (["old-one-feedstock"], {"metadata": "read"}, True),  # the probe
        (["old-one-feedstock"], {"administration": "write"}, True),
    ]
    [issue] = fake_github.issues(HOME)
    assert "@maintainer-gh" in issue.body
    assert repo.read("requests/archive-old.yml") == "action: archive\nfeedstocks:\n  - old-tow\n"


@pytest.mark.vault
def test_a_request_naming_only_missing_repositories_fails_without_a_token(
    world: dict[str, str],
    repo: Repo,
    fake_github: FakeGitHub,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo.add_request("archive-typo.yml", "action: archive\nfeedstocks:\n  - old-tow\n")

    assert run(repo, world) == 0

    out = capsys.readouterr().out
    assert "requests/archive-typo.yml: parked (issue #1)" in out
    assert "there is no repository 'old-tow-feedstock'" in out
    assert installation_tokens(fake_github) == []  # nothing reachable: nothing minted


@pytest.mark.vault
def test_a_refused_permission_is_not_mistaken_for_a_missing_repository(
    world: dict[str, str],
    repo: Repo,
    fake_github: FakeGitHub,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert fake_github.app is not None
    fake_github.app.permissions.pop("administration")  # the App may not archive
    repo.add_request("archive-old.yml", "action: archive\nfeedstocks:\n  - old-one\n")

    assert run(repo, world) == 0

    out = capsys.readouterr().out
    assert "requests/archive-old.yml: retry later" in out  # core must fix the App, then it runs
    assert "could not get the access this request needs (RepositoriesRefusedError)" in out
    assert not fake_github.repo("old-one-feedstock").archived


@pytest.mark.vault
def test_a_dry_run_mints_nothing(
    world: dict[str, str],
    repo: Repo,
    fake_github: FakeGitHub,
    fake_anaconda: FakeAnaconda,
    oidc_issuer: FakeOidcIssuer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo.add_request("archive-old.yml", "action: archive\nfeedstocks:\n  - old-one\n")
    head = repo.head()
    oidc_before = len(oidc_issuer.requests)

    assert run(repo, world, "--dry-run") == 0

    out = capsys.readouterr().out
    assert "[dry run] requests/archive-old.yml: would run" in out
    assert "credentials: none minted: a dry run reads with the job's GITHUB_TOKEN only." in out
    assert len(oidc_issuer.requests) == oidc_before  # not even a login
    assert fake_github.effects["mint_token"] == 0
    assert fake_anaconda.effects["mint"] == 0
    assert not fake_github.repo("old-one-feedstock").archived
    assert repo.head() == head


@pytest.mark.vault
def test_when_the_vault_refuses_the_job_no_request_is_touched(
    world: dict[str, str],
    repo: Repo,
    fake_github: FakeGitHub,
    oidc_issuer: FakeOidcIssuer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo.add_request("archive-old.yml", "action: archive\nfeedstocks:\n  - old-one\n")
    head = repo.head()
    oidc_issuer.claim_overrides = {"event_name": "pull_request"}  # not a trusted event

    assert run(repo, world) == 1

    err = capsys.readouterr().err
    assert "cannot get the job's credentials" in err
    assert repo.head() == head  # no attempt was charged: no state, no commit
    assert repo.status() == ""
    assert fake_github.effects["mint_token"] == 0
    assert not fake_github.repo("old-one-feedstock").archived


@pytest.mark.vault
def test_a_failed_follow_up_still_revokes_its_token_and_fails_the_job(
    world: dict[str, str],
    repo: Repo,
    fake_github: FakeGitHub,
    capsys: pytest.CaptureFixture[str],
) -> None:
    del fake_github.repo(PATCHES).refs["refs/heads/main"]  # nothing to commit on: 404
    repo.add_request("broken-bar.yml", f"action: broken\npackages:\n  - {PACKAGE}\n")

    assert run(repo, world) == 1

    out = capsys.readouterr().out
    assert "the follow-up step of 'broken/not_broken' failed" in out
    assert installation_tokens(fake_github) == [([PATCHES], {"contents": "write"}, True)]
    assert "none outstanding" in out


@pytest.mark.vault
def test_without_a_job_token_the_run_says_what_to_pass(
    world: dict[str, str], repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    world.pop("GITHUB_TOKEN")
    repo.add_request("archive-old.yml", "action: archive\nfeedstocks:\n  - old-one\n")
    with pytest.raises(UsageError, match="GITHUB_TOKEN is not set"):
        run(repo, world)


def live_job_tokens(vault: BaoServer) -> list[str]:
    """Vault tokens issued by the JWT login (the job's), still valid."""
    admin = vault.admin()
    live = []
    for accessor in admin.call("LIST", "auth/token/accessors")["data"]["keys"]:
        data = admin.call("POST", "auth/token/lookup-accessor", {"accessor": accessor})["data"]
        if str(data.get("path", "")).startswith("auth/jwt/login"):
            live.append(accessor)
    return live


def made_a_call_after_minting(github: FakeGitHub) -> bool:
    """The run has had its installation token's answer: it made a call after the mint.

    Not the mint itself: a SIGTERM between the fake minting and the client reading the
    answer leaves a token nobody knows of (it expires within the hour), which is not what
    this test is about."""
    with github.lock:
        arrivals = list(github.arrivals)
    mints = [i for i, (method, path) in enumerate(arrivals) if path.endswith("/access_tokens")]
    return bool(mints) and mints[0] < len(arrivals) - 1


@pytest.mark.vault
def test_a_cancelled_run_revokes_what_it_holds(
    world: dict[str, str],
    repo: Repo,
    fake_github: FakeGitHub,
    trusted_vault: BaoServer,
) -> None:
    # Actions cancels a job with SIGTERM: the run must still revoke its credentials.
    repo.add_request("archive-old.yml", "action: archive\nfeedstocks:\n  - old-one\n")
    assert live_job_tokens(trusted_vault) == []
    fake_github.faults.latency = 1.0  # every GitHub call takes a second
    process = subprocess.Popen(
        [sys.executable, "-m", "admin_requests", "run", "--root", str(repo.root)],
        env={**os.environ, **world},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not made_a_call_after_minting(fake_github) and time.monotonic() < deadline:
        time.sleep(0.05)  # until the request holds its installation token
    assert live_job_tokens(trusted_vault) != []  # the job is logged in
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)

    assert process.returncode == 128 + signal.SIGTERM, out + err
    assert installation_tokens(fake_github) == [
        (["old-one-feedstock"], {"administration": "write"}, True)
    ], out + err
    assert live_job_tokens(trusted_vault) == []


MAIN = "import sys; from admin_requests.cli import main; sys.exit(main())"


def workflow_commands(text: str) -> list[str]:
    """The lines the Actions runner would read as commands (actions/runner ActionCommand)."""
    return [line for line in text.splitlines() if line.lstrip().startswith("::") or "##[" in line]


def test_request_data_reaches_stdout_and_stderr_without_a_workflow_command(repo: Repo) -> None:
    # Issue 16 finding 9: a file named with a newline and '::stop-commands::' reached the
    # job log raw. In a real process, so the CLI's own log handler is the one in use.
    name = "evil\n::stop-commands::pwned.yml"
    repo.add_request(name, "action: archive\nfeedstocks:\n  - foo\n")
    (repo.root / "queue-state").mkdir()
    (repo.root / "queue-state" / f"{name}.json").symlink_to(repo.root / "README.md")
    repo.commit("a link for a state file: its warning quotes the name")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "ADMIN_"))}
    done = subprocess.run(
        [sys.executable, "-c", MAIN, "run", "--root", str(repo.root)],
        env=environ,
        capture_output=True,
        text=True,
    )
    assert "parked" in done.stdout
    assert "symbolic link" in done.stderr
    assert workflow_commands(done.stdout) == []
    assert workflow_commands(done.stderr) == []


def forge_lease(remote: Path, holder: str, acquired: datetime, expires: datetime) -> None:
    """A lease commit pushed by hand: anyone with push access can write one."""

    def git(*args: str, stdin: str | None = None) -> str:
        command = ["git", "--git-dir", str(remote), "-c", "user.name=x", "-c", "user.email=x@x"]
        return subprocess.run(
            [*command, *args], check=True, capture_output=True, text=True, input=stdin
        ).stdout.strip()

    tree = git("mktree", stdin="")
    message = LeaseInfo(holder, acquired, expires).to_message()
    git("update-ref", LEASE_REF, git("commit-tree", tree, "-m", message))


def test_a_forged_lease_does_not_stop_processing_and_the_summary_says_so(
    repo: Repo, tmp_path: Path
) -> None:
    # Issue 16 finding 8: a lease pushed with "expires": "2099-..." stopped processing,
    # with exit 0 and a green workflow.
    remote = bare_of(repo, tmp_path)
    ours = clone_of(remote, tmp_path / "ours")
    forge_lease(remote, "forged", datetime.now(UTC), datetime(2099, 1, 1, tzinfo=UTC))
    summary = tmp_path / "summary.md"

    code = run(ours, {"GITHUB_STEP_SUMMARY": str(summary)}, "--push")

    assert code == 0
    assert "The run lease was taken over" in summary.read_text()
    assert "2099-01-01T00:00:00Z" in summary.read_text()


def test_a_queue_locked_for_hours_fails_the_run_visibly(
    repo: Repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    remote = bare_of(repo, tmp_path)
    ours = clone_of(remote, tmp_path / "ours")
    now = datetime.now(UTC)
    forge_lease(remote, "stuck", now - timedelta(hours=4), now + timedelta(minutes=10))
    summary = tmp_path / "summary.md"

    code = run(ours, {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_ACTIONS": "true"}, "--push")

    assert code == 1
    captured = capsys.readouterr()
    assert "the queue is stuck: 'stuck' has held the run lease" in captured.err
    assert "::error title=run lease::the queue is stuck" in captured.out
    assert "The queue is stuck." in summary.read_text()


@pytest.mark.vault
def test_pushes_carry_an_app_token_for_this_repository_only_revoked_after_each(
    world: dict[str, str],
    repo: Repo,
    fake_github: FakeGitHub,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # main requires reviewed pull requests; the App is the only actor that may push
    # past that, so the job's GITHUB_TOKEN (github-actions[bot]) would be refused.
    fake_github.repo(HOME).admin.rulesets.update(deployed_rulesets(4242))
    repo.add_request("archive-old.yml", "action: archive\nfeedstocks:\n  - old-one\n")
    with FakeGitServer(fake_github, tmp_path / "served") as server:
        repo.git("remote", "add", "origin", server.add_repository(HOME, repo.root))

        assert run(repo, world, "--push") == 0, capsys.readouterr()

        served = ["git", "-C", str(server.bare(HOME))]
        listed = subprocess.run(
            [*served, "ls-tree", "--name-only", "main", "requests/"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    out = capsys.readouterr().out
    assert server.refused == []
    assert "requests/archive-old.yml" not in listed  # the result reached main
    # The lease taken, the results, the lease released: each push with a token of its own.
    assert [u.ref for p in server.pushes for u in p.updates] == [
        LEASE_REF,
        "refs/heads/main",
        LEASE_REF,
    ]
    tokens = [fake_github.tokens[p.token] for p in server.pushes]
    assert len({t.token for t in tokens}) == 3
    assert JOB_TOKEN not in {t.token for t in tokens}
    for token in tokens:
        assert token.installation_id == 77  # the organisation's App
        assert token.repositories == frozenset({HOME})
        assert token.permissions == {"contents": "write"}
        assert token.revoked
    assert f"github-installation-token for push to conda-forge/{HOME}: repositories=[{HOME}]" in out
    assert "none outstanding" in out


@pytest.mark.vault
def test_a_push_with_the_job_token_is_refused_by_the_pull_request_rule(
    world: dict[str, str],
    repo: Repo,
    fake_github: FakeGitHub,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Without a credentials backend (a local run) the push falls back to the job token:
    # the same ruleset refuses it, which is what W1's fix relies on.
    fake_github.repo(HOME).admin.rulesets.update(deployed_rulesets(4242))
    world.pop("ADMIN_REQUESTS_CREDENTIALS")
    repo.add_request("a.yml", "action: archive\nfeedstocks:\n  - old-one\n")
    with FakeGitServer(fake_github, tmp_path / "served") as server:
        repo.git("remote", "add", "origin", server.add_repository(HOME, repo.root))

        assert run(repo, world, "--push", "--push-attempts", "1") == 1

    # It can neither take the lease nor (were the lease ruleset missing) push to main.
    assert "creations being restricted" in server.refused[0].reason
    assert server.refused[0].token == JOB_TOKEN


def test_the_run_stops_on_the_budget_in_its_environment_and_counts_no_attempt(
    repo: Repo, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 16, finding 4: ADMIN_REQUESTS_RUN_BUDGET reaches the queue. A budget spent
    before the first chunk leaves the request as it is, reported, the run green."""
    repo.add_request("a.yml", "action: archive\nfeedstocks:\n  - foo\n")
    head = repo.head()
    code = run(repo, {"ADMIN_REQUESTS_RUN_BUDGET": "0.000001"})
    out = capsys.readouterr().out
    assert code == 0
    assert "requests/a.yml: unfinished" in out
    assert "the run's time budget (1e-06 s) was spent: 1 request(s) go on in the next run" in out
    assert repo.head() == head
    assert repo.status() == ""


class PushCounter:
    def __init__(self, fails: bool = False) -> None:
        self.pushes = 0
        self.fails = fails

    def push_with_rebase(self, remote: str, branch: str, attempts: int) -> None:
        self.pushes += 1
        if self.fails:
            raise GitError("the remote hung up")


def test_a_long_run_pushes_its_progress_every_interval() -> None:
    from admin_requests.cli.run import ProgressPusher
    from tests.fakes.clock import FakeClock

    clock, git = FakeClock(), PushCounter()
    pusher = ProgressPusher(git, "origin", "main", 3, interval=timedelta(minutes=5), clock=clock)
    for _ in range(4):  # a chunk committed every 2 minutes
        clock.advance(timedelta(minutes=2))
        pusher()
    assert git.pushes == 1  # at 6 minutes; at 8 the last push is 2 minutes old
    clock.advance(timedelta(minutes=3))
    pusher()
    assert git.pushes == 2


def test_a_failed_progress_push_is_left_to_the_runs_own_push() -> None:
    from admin_requests.cli.run import ProgressPusher
    from tests.fakes.clock import FakeClock

    clock, git = FakeClock(), PushCounter(fails=True)
    pusher = ProgressPusher(git, "origin", "main", 3, interval=timedelta(minutes=5), clock=clock)
    clock.advance(timedelta(minutes=6))
    pusher()  # logged, not raised
    assert (git.pushes, pusher.pushes) == (1, 0)
