"""The sandbox: fake GitHub, anaconda.org and Cirun, fake OIDC issuer and a real OpenBao.

Everything listens on 127.0.0.1 and lives as long as the ``Sandbox`` object::

    with Sandbox(workdir) as sandbox:
        token = sandbox.begin_job("push")      # the job's GITHUB_TOKEN
        ...                                    # run the workflow with sandbox.workflow_env()
        sandbox.end_job(token)

Credentials are set up the way production sets them up: the vault gets ``vault/`` (the
trust policy) through ``deploy.vault.apply``, the GitHub App's private key is imported
into its transit engine and then forgotten (the fake GitHub keeps only the public half),
and the anaconda.org machine account's username and password (a member of the channel's
organisation; anaconda.org mints tokens only for them) and the Cirun API key are stored
in the vault's KV secret and nowhere else. A job holds only its GITHUB_TOKEN, scoped like
production's: this repository, contents read, issues write, pull requests read. Anything
else it must get from the vault through its OIDC token.

Git goes over HTTP to ``git`` (tests/fakes/git_http.py), which checks each push's token
as github.com does and enforces this repository's rulesets as ``deploy/github/`` declares
them: main takes no direct push but the App's, so the job's GITHUB_TOKEN cannot push
there and processing pushes with an App installation token (docs/security.md, W1).
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from tests.fakes.anaconda import FakeAnaconda
from tests.fakes.cirun import FakeCirun
from tests.fakes.git_http import FakeGitServer, deployed_rulesets
from tests.fakes.github import DEFAULT_APP_PERMISSIONS, FakeGitHub, generate_app_key
from tests.fakes.oidc import REPOSITORY_ID, REPOSITORY_OWNER_ID, FakeOidcIssuer

from admin_requests.deploy.vault import TrustParameters

from . import org
from .vault import VaultDevServer

AUDIENCE = "https://vault.admin-requests.sandbox"
# What process.yml's job token may do (its 'permissions:'), on this repository only.
JOB_TOKEN_PERMISSIONS = {"contents": "read", "issues": "write", "pull_requests": "read"}
# What the organisation's App may be granted: processing's, plus what feedstock creation
# pushes and stores in a new feedstock (its workflows, its FEEDSTOCK_TOKEN secret).
APP_PERMISSIONS = {**DEFAULT_APP_PERMISSIONS, "workflows": "write", "secrets": "write"}
# How long the workflow's HTTP calls wait for a fake (production: 30 s).
HTTP_TIMEOUT_SECONDS = "10"


class Sandbox:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.github = FakeGitHub(org.ORG, public_reads=True)
        self.git = FakeGitServer(self.github, workdir / "git")
        self.anaconda = FakeAnaconda()
        self.cirun = FakeCirun(org=org.ORG)
        self.issuer = FakeOidcIssuer()
        self.vault = VaultDevServer(workdir / "openbao")
        self.app = org.AppIdentity()
        self.params = TrustParameters(
            repository=org.REPOSITORY,
            repository_id=REPOSITORY_ID,
            repository_owner_id=REPOSITORY_OWNER_ID,
            audience=AUDIENCE,
        )
        self.job_tokens: list[str] = []
        self._run_ids = itertools.count(9000000001)
        self._stops: list[Callable[[], None]] = []

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> Sandbox:
        try:
            self.github.start()
            self._stops.append(self.github.stop)
            self.git.start()
            self._stops.append(self.git.stop)
            self.anaconda.start()
            self._stops.append(self.anaconda.stop)
            self.cirun.start()
            self._stops.append(self.cirun.stop)
            self.issuer.__enter__()
            self._stops.append(lambda: self.issuer.__exit__(None, None, None))
            self.vault.start()
            self._stops.append(self.vault.stop)
            self._configure_credentials()
            org.seed_github(self.github)
            self._apply_rulesets()
            org.seed_anaconda(self.anaconda)
            org.seed_cirun(self.cirun)
        except BaseException:
            self.stop()
            raise
        return self

    def _configure_credentials(self) -> None:
        private_pem, _ = generate_app_key()
        password = "sandbox-org-password-" + secrets.token_hex(16)
        self.anaconda.add_account(org.ANACONDA_ACCOUNT, password, organisations=[org.CHANNEL])
        # Cirun has no federation: its API key is one more long-lived value in the vault.
        cirun_key = self.cirun.add_key("sandbox-cirun-key-" + secrets.token_hex(16))
        self.vault.configure(
            self.params,
            oidc_discovery_url=self.issuer.url,
            app_private_key_pem=private_pem,
            job_secret={
                "anaconda_org_username": org.ANACONDA_ACCOUNT,
                "anaconda_org_password": password,
                "cirun_api_key": cirun_key,
                "github_app_id": str(self.app.app_id),
                "github_installation_id": str(self.app.installation_id),
            },
        )
        # GitHub knows only the public half, read back from the vault: what signs the
        # App's JWTs is the key inside transit, which nothing can export.
        public_pem = self.vault.transit_public_key(self.params)
        self.github.configure_app(
            self.app.app_id,
            public_key_pem=public_pem.encode(),
            installation_id=self.app.installation_id,
            permissions=APP_PERMISSIONS,
        )

    def _apply_rulesets(self) -> None:
        """This repository's rulesets as ``deploy apply`` sets them, with the App's id."""
        self.github.repo(org.HOME).admin.rulesets.update(deployed_rulesets(self.app.app_id))

    def stop(self) -> None:
        """Stop what was started, last first; safe to call twice."""
        while self._stops:
            self._stops.pop()()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what a workflow run needs ------------------------------------------------------

    def urls(self) -> dict[str, str]:
        return {
            "fake GitHub API": self.github.url,
            "fake GitHub git (HTTP)": self.git.url,
            "fake anaconda.org API and channels": self.anaconda.url,
            "fake Cirun API": self.cirun.api_url,
            "fake GitHub OIDC issuer": self.issuer.url,
            "OpenBao (dev server)": self.vault.addr,
        }

    def begin_job(self, event_name: str) -> str:
        """A new job's GITHUB_TOKEN; its OIDC token will name ``event_name``, as GitHub's would."""
        token = self.github.add_token(
            "ghs_job_" + secrets.token_hex(12),
            repositories=[org.HOME],
            permissions=dict(JOB_TOKEN_PERMISSIONS),
        )
        self.job_tokens.append(token)
        self.issuer.claim_overrides = {
            "event_name": event_name,
            "run_id": str(next(self._run_ids)),
        }
        return token

    def end_job(self, token: str) -> None:
        """GitHub revokes the job token when the job ends."""
        self.github.revoke_token(token)

    def workflow_env(self) -> dict[str, str]:
        """Passed with act's --env: where the job finds GitHub, anaconda.org, Cirun and its
        OIDC token."""
        return {
            "GITHUB_API_URL": self.github.url,
            "ANACONDA_API_URL": self.anaconda.url,
            "ANACONDA_CHANNEL_URL": self.anaconda.url,
            "CIRUN_API_ENDPOINT": self.cirun.api_url,
            "ADMIN_REQUESTS_HTTP_TIMEOUT": HTTP_TIMEOUT_SECONDS,
            **self.issuer.actions_environ(),
        }

    def workflow_vars(self) -> dict[str, str]:
        """Passed with act's --var: the repository variables production sets (not secrets)."""
        return {
            "VAULT_ADDR": self.vault.addr,
            "ADMIN_REQUESTS_OIDC_AUDIENCE": AUDIENCE,
        }
