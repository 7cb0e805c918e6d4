"""The broker: per-request credentials, revoked when the request ends.

A simulated processing run (the tests marked ``vault``): OIDC -> OpenBao -> per-request
GitHub and anaconda tokens.

Everything is real except GitHub and anaconda.org, which are the project's stateful
fakes: the App JWT is signed by OpenBao's transit engine and verified by FakeGitHub
against the transit key's public half; tokens are checked for scope on every call.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from admin_requests.access import Access
from admin_requests.config import Settings
from admin_requests.credentials.anaconda_token import AnacondaTokens
from admin_requests.credentials.broker import CredentialBroker, RequestCredentials
from admin_requests.credentials.factories import open_broker
from admin_requests.credentials.redact import Masker, Secret
from admin_requests.credentials.settings import CredentialSettings
from admin_requests.errors import (
    CredentialConfigError,
    CredentialScopeError,
    GitHubAppTokenError,
)
from admin_requests.kinds.contract import OutcomeStatus
from admin_requests.services.http import Retrier, RetryPolicy
from admin_requests.services.rendered import RenderedPatches
from tests.credentials.broker_world import ARCHIVE, MARK_BROKEN, Run, gh, label, mint_for
from tests.fakes import FakeCirun, FakeGitHub
from tests.fakes.azure import FakeAzure
from tests.fakes.faults import Fault
from tests.fakes.oidc import FakeOidcIssuer
from tests.kinds.helpers import load
from tests.vault_trust import ANACONDA_ORG_PASSWORD, ANACONDA_ORG_USERNAME

NO_WAIT = Retrier(RetryPolicy(base_delay=0.01), sleep=lambda _: None)


def process_two_requests(run: Run, broker: CredentialBroker) -> list[RequestCredentials]:
    seen = []
    with broker.request_credentials(ARCHIVE, label="requests/archive-foo.yml") as creds:
        assert creds.github_token is not None
        assert creds.anaconda_token is None
        archive = {"archived": True}
        assert (
            gh(run, creds.github_token, "PATCH", "/repos/conda-forge/foo-feedstock", archive) == 200
        )
        # Outside the request: another repository, another permission.
        assert (
            gh(run, creds.github_token, "PATCH", "/repos/conda-forge/bar-feedstock", archive) == 404
        )
        assert (
            gh(
                run,
                creds.github_token,
                "PUT",
                "/repos/conda-forge/foo-feedstock/contents/x",
                {"message": "m", "content": "eA=="},
            )
            == 403
        )
        seen.append(creds)
    with broker.request_credentials(MARK_BROKEN, label="requests/broken-bar.yml") as creds:
        assert creds.github_token is not None
        assert creds.anaconda_token is not None
        assert (
            gh(
                run,
                creds.github_token,
                "GET",
                "/repos/conda-forge/bar-feedstock/git/ref/heads/main",
            )
            == 200
        )
        assert (
            gh(
                run,
                creds.github_token,
                "PATCH",
                "/repos/conda-forge/bar-feedstock",
                {"archived": True},
            )
            == 403
        )
        assert gh(run, creds.github_token, "GET", "/repos/conda-forge/foo-feedstock") == 404
        assert label(run, creds.anaconda_token) == 201
        # The minted token cannot mint more tokens.
        minted = requests.post(
            f"{run.anaconda.url}/authentications",
            headers={"Authorization": f"token {creds.anaconda_token.reveal()}"},
            json={"scopes": ["all"]},
            timeout=10,
        )
        assert minted.status_code == 401
        info = run.anaconda.tokens[creds.anaconda_token.reveal()]
        assert info.scopes == frozenset({"api:write"})
        assert info.owners == frozenset({"conda-forge"})  # for the organisation
        assert info.minted_by == ANACONDA_ORG_USERNAME
        assert info.expires_at is not None
        assert info.expires_at - run.anaconda.now() <= 900
        seen.append(creds)
    return seen


@pytest.mark.vault
def test_a_run_mints_scoped_credentials_and_revokes_them_all(
    run: Run, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    raw_tokens: list[str] = []
    original_register = Masker.register

    def spy(self: Masker, value: str) -> Secret:
        raw_tokens.append(value)
        return original_register(self, value)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Masker, "register", spy)
        with run.broker() as broker:
            seen = process_two_requests(run, broker)
        ledger = broker.ledger

    # Every GitHub and anaconda token handed out is dead now; so is the vault token.
    for creds in seen:
        assert creds.github_token is not None
        assert creds.github_token.cleared
    assert run.github.effects["mint_token"] == 2
    assert run.github.effects["revoke_token"] == 2
    assert run.anaconda.effects["mint"] == 1
    assert run.anaconda.effects["remove_token"] == 1
    for value in run.anaconda.tokens:
        assert not run.anaconda.is_token_valid(value)
    for token in [t for t in run.github.tokens]:
        assert not run.github.is_token_valid(token)

    # The ledger: what was created, its scope and lifetime, and that none outlived the job.
    kinds = [r.kind for r in ledger.records]
    assert kinds.count("vault-token") == 1
    assert kinds.count("github-installation-token") == 2
    assert kinds.count("github-app-jwt") == 2
    assert kinds.count("anaconda-token") == 1
    assert ledger.outstanding() == []
    job_end = max(r.revoked_at for r in ledger.records if r.revoked_at is not None)
    for record in ledger.records:
        if record.revocable:
            assert record.revoked_at is not None
            assert record.revoked_at <= job_end
        else:  # App JWTs expire by themselves within two minutes
            assert record.max_lifetime_seconds <= 120
    # Only the App JWTs, which GitHub offers no way to revoke, outlive the job's end,
    # by less than their 60 s.
    job_ended = ledger.clock()
    outliving = ledger.still_valid_after(job_ended)
    assert [r.kind for r, _ in outliving] == ["github-app-jwt", "github-app-jwt"]
    assert all(0 < seconds <= 60 for _, seconds in outliving)
    anaconda_record = next(r for r in ledger.records if r.kind == "anaconda-token")
    assert anaconda_record.max_lifetime_seconds <= 900
    assert anaconda_record.scope == "scopes=api:write"
    vault_record = next(r for r in ledger.records if r.kind == "vault-token")
    assert vault_record.max_lifetime_seconds <= 600
    assert "repositories=[foo-feedstock]; administration:write" in [r.scope for r in ledger.records]

    # No secret value reached a log line or the terminal.
    out, err = capsys.readouterr()
    text = caplog.text + out + err + "\n".join(r.getMessage() for r in caplog.records)
    assert ANACONDA_ORG_PASSWORD in raw_tokens
    assert ANACONDA_ORG_USERNAME in raw_tokens
    # (Values shorter than Masker.MIN_LENGTH are the App and installation ids, which
    # are not secret and would otherwise redact every "77" in a log.)
    secrets = [value for value in raw_tokens if len(value) >= Masker.MIN_LENGTH]
    assert len(secrets) >= 6
    for value in secrets:
        assert value not in text
    print("\n".join(ledger.text_lines(job_ended)))  # the measurement, shown with -s
    for record, seconds in outliving:
        print(f"{record.kind} for {record.label} stays valid {seconds:.1f} s after the job")


@pytest.mark.vault
def test_credentials_are_revoked_when_the_request_fails(run: Run) -> None:
    raws: list[str] = []

    def failing_request(broker: CredentialBroker) -> None:
        with broker.request_credentials(MARK_BROKEN, label="r.yml") as creds:
            for token in (creds.github_token, creds.anaconda_token):
                assert token is not None
                raws.append(token.reveal())
            raise RuntimeError("the kind crashed")

    with run.broker() as broker:
        with pytest.raises(RuntimeError, match="the kind crashed"):
            failing_request(broker)
        raw, raw_anaconda = raws
        assert not run.github.is_token_valid(raw)
        assert not run.anaconda.is_token_valid(raw_anaconda)
        assert broker.ledger.outstanding() == [
            r for r in broker.ledger.records if r.kind == "vault-token"
        ]


@pytest.mark.vault
def test_a_push_token_writes_contents_of_one_repository_and_ends_with_its_block(
    run: Run,
) -> None:
    # What processing pushes with (and feedstock creation will push to staged-recipes
    # with): contents: write on the one repository, for one git command (W1).
    raws: list[str] = []
    with run.broker() as broker:
        with broker.push_token("foo-feedstock", label="push to conda-forge/foo-feedstock") as raw:
            raws.append(raw)
            info = run.github.tokens[raw]
            assert info.installation_id == 77
            assert info.repositories == frozenset({"foo-feedstock"})
            assert info.permissions == {"contents": "write"}
            secret = Secret(raw)
            assert gh(run, secret, "GET", "/repos/conda-forge/bar-feedstock") == 404
            assert gh(run, secret, "PATCH", "/repos/conda-forge/foo-feedstock", {}) == 403
        assert not run.github.is_token_valid(raw)

        def failing_push() -> None:
            with broker.push_token("bar-feedstock", label="push") as raw:
                raws.append(raw)
                raise RuntimeError("the push failed")

        with pytest.raises(RuntimeError, match="the push failed"):
            failing_push()
        assert not run.github.is_token_valid(raws[1])
        with (
            pytest.raises(CredentialConfigError, match="name inside the organisation"),
            broker.push_token("conda-forge/foo-feedstock", label="push"),
        ):
            pass
        pushes = [r for r in broker.ledger.records if r.kind == "github-installation-token"]
        assert [(r.label, r.revoked_at is not None) for r in pushes] == [
            ("push to conda-forge/foo-feedstock", True),
            ("push", True),
        ]


@pytest.mark.vault
def test_username_and_password_are_cleared_right_after_minting(run: Run) -> None:
    used: list[Secret] = []
    original = AnacondaTokens.mint

    def spy(
        self: AnacondaTokens, username: Secret, password: Secret, *args: object, **kwargs: object
    ) -> object:
        used.extend((username, password))
        return original(self, username, password, *args, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch, run.broker() as broker:
        patch.setattr(AnacondaTokens, "mint", spy)
        with broker.request_credentials(MARK_BROKEN, label="r.yml"):
            assert len(used) == 2
            assert all(secret.cleared for secret in used)


@pytest.mark.vault
def test_unknown_repositories_are_left_out_of_the_token(run: Run) -> None:
    # GitHub refuses the whole token (422) for one unknown name: a typo must not hold the
    # request's other repositories hostage, and must never widen the token.
    mixed = Access(
        github_repositories=("foo-feedstock", "not-a-repo"),
        github_permissions={"contents": "read"},
    )
    only_unknown = Access(
        github_repositories=("not-a-repo",), github_permissions={"contents": "read"}
    )
    with run.broker() as broker:
        with broker.request_credentials(mixed, label="mixed.yml") as creds:
            assert creds.github_token is not None
            assert gh(run, creds.github_token, "GET", "/repos/conda-forge/foo-feedstock") == 200
            assert gh(run, creds.github_token, "GET", "/repos/conda-forge/bar-feedstock") == 404
        with broker.request_credentials(only_unknown, label="typo.yml") as creds:
            assert creds.github_token is None
        ledger = broker.ledger
    scopes = [r.scope for r in ledger.records if r.kind == "github-installation-token"]
    assert scopes == [
        "repositories=[foo-feedstock]; metadata:read",  # the probe, revoked at once
        "repositories=[foo-feedstock]; contents:read",
    ]
    assert ledger.outstanding() == []


@pytest.mark.vault
def test_permission_the_app_lacks_is_refused(run: Run) -> None:
    access = Access(github_repositories=("foo-feedstock",), github_permissions={"secrets": "write"})
    with run.broker() as broker, pytest.raises(GitHubAppTokenError):
        mint_for(broker, access)


@pytest.mark.vault
def test_blanket_token_is_never_requested(run: Run) -> None:
    access = Access(github_permissions={"administration": "write"})  # no repositories
    with run.broker() as broker, pytest.raises(CredentialScopeError, match="no repository"):
        mint_for(broker, access)
    assert run.github.effects["mint_token"] == 0


@pytest.mark.vault
def test_in_actions_every_value_is_masked_the_moment_it_is_obtained(run: Run) -> None:
    stream = io.StringIO()
    masker = Masker(in_actions=True, stream=stream)
    with (
        run.broker(masker) as broker,
        broker.request_credentials(MARK_BROKEN, label="r.yml") as creds,
    ):
        assert creds.github_token is not None
        assert creds.anaconda_token is not None
        masked = stream.getvalue().splitlines()
        assert f"::add-mask::{creds.github_token.reveal()}" in masked
        assert f"::add-mask::{creds.anaconda_token.reveal()}" in masked
        assert f"::add-mask::{ANACONDA_ORG_PASSWORD}" in masked
        assert f"::add-mask::{ANACONDA_ORG_USERNAME}" in masked
        assert f"::add-mask::{run.issuer.issued[-1]}" in masked


@pytest.mark.vault
def test_a_real_kind_runs_with_request_services(run: Run) -> None:
    """The archive kind's own access() and execute(), through the broker's services."""
    from admin_requests.errors import NotFoundError
    from admin_requests.kinds import REGISTRY
    from admin_requests.kinds.archive import FeedstocksRequest
    from admin_requests.kinds.contract import OutcomeStatus
    from admin_requests.services import Services
    from admin_requests.validation.fields import Text

    kind = REGISTRY["archive"]
    model = FeedstocksRequest("requests/archive-foo.yml", "archive", (Text("foo"),))
    # access() may look things up: the job's own token would serve; the fake knows it.
    run.github.add_token("job-github-token", permissions={"metadata": "read"})
    lookup = Services.build(run.settings, github_token="job-github-token", anaconda_token=None)
    access = kind.access(model, lookup)
    assert access.github_repositories == ("foo-feedstock",)
    with run.broker() as broker:
        with broker.request_services(access, run.settings, label=model.path) as services:
            outcomes = [kind.execute(item, services) for item in kind.items(model)]
        assert [o.status for o in outcomes] == [OutcomeStatus.DONE]
        assert run.github.repo("foo-feedstock").archived
        with (
            broker.request_services(access, run.settings, label=model.path) as services,
            pytest.raises(NotFoundError),
        ):
            services.github.set_archived("bar-feedstock", True)
        assert not run.github.repo("bar-feedstock").archived
    assert broker.ledger.outstanding() == []
    assert run.github.effects["revoke_token"] == 2


@pytest.mark.vault
def test_revocation_is_retried_through_transient_failures(run: Run) -> None:
    run.github.faults.on_call(1, 2, fault=Fault.server_error(), method="DELETE")
    run.anaconda.faults.on_call(1, fault=Fault.too_many_requests("0"), method="DELETE")
    with run.broker() as broker:
        mint_for(broker, MARK_BROKEN)
    assert run.github.effects["revoke_token"] == 1
    assert run.anaconda.effects["remove_token"] == 1
    assert broker.ledger.outstanding() == []


@pytest.mark.vault
def test_a_refused_revocation_is_logged_and_the_token_left_to_expire(
    run: Run, caplog: pytest.LogCaptureFixture
) -> None:
    # 422 is not retried: GitHub will not revoke this token, now or later.
    run.github.faults.on_call(1, fault=Fault.server_error(422), method="DELETE")
    with run.broker() as broker:
        mint_for(broker, MARK_BROKEN)  # the request ends normally: nothing is raised
    assert "did not revoke the installation token for 'r.yml'" in caplog.text
    assert "expires by itself at" in caplog.text
    # Tried once, not again at the broker's close; the anaconda token was still deleted.
    assert run.github.count("DELETE", "/installation/token") == 1
    assert run.anaconda.effects["remove_token"] == 1
    [left] = broker.ledger.outstanding()
    assert left.kind == "github-installation-token"
    assert "NOT REVOKED" in "\n".join(broker.ledger.text_lines(broker.ledger.clock()))


@pytest.mark.vault
def test_minting_is_retried_only_when_it_cannot_have_happened(run: Run) -> None:
    mint = "/app/installations/77/access_tokens"
    run.github.faults.on_call(1, fault=Fault.too_many_requests("0"), method="POST", path=mint)
    with run.broker() as broker:
        mint_for(broker, ARCHIVE)  # 429: the service did nothing, so asking again is safe
        assert run.github.effects["mint_token"] == 1
        run.github.faults.on_call(1, fault=Fault.server_error(), method="POST", path=mint)
        before = run.github.count("POST", mint)
        with pytest.raises(GitHubAppTokenError, match="503"):
            mint_for(broker, ARCHIVE)
        # A 5xx may have minted a token we never saw: one attempt only, no pile-up.
        assert run.github.count("POST", mint) == before + 1
    assert broker.ledger.outstanding() == []


# -- the grants of token_reset and the CI-resource kinds ---------------------------------
# One installation token per grant, the borrowed installations credential, all gone when
# the request ends. The broker runs with the env backend (App JWT signed with a local
# key) against FakeGitHub, FakeAzure and the fake OIDC issuer; the vault path is the same
# code below the backend and is covered by the tests above.


@pytest.fixture
def issuer(oidc_issuer: FakeOidcIssuer) -> FakeOidcIssuer:
    return oidc_issuer


@dataclass
class World:
    github: FakeGitHub
    azure: FakeAzure
    settings: Settings
    credentials: CredentialSettings
    cirun: FakeCirun


CIRUN_KEY = "cirun-organisation-key"


@pytest.fixture
def world(
    fake_github: FakeGitHub,
    azure: FakeAzure,
    issuer: FakeOidcIssuer,
    fake_cirun: FakeCirun,
    tmp_path: Path,
) -> World:
    # The App needs 'secrets' (token_reset) and 'workflows' (a rerender's push) on top of
    # what the other kinds use.
    app = fake_github.configure_app(
        4242,
        installation_id=77,
        permissions={
            "administration": "write",
            "contents": "write",
            "issues": "write",
            "pull_requests": "write",
            "actions": "write",
            "secrets": "write",
            "workflows": "write",
            "metadata": "read",
        },
    )
    key = tmp_path / "app.pem"  # the env backend's local key (development only)
    assert app.private_key_pem is not None
    key.write_bytes(app.private_key_pem)
    fake_github.add_repo("foo-feedstock", files={"recipe/meta.yaml": "package:\n  name: foo\n"})
    fake_github.add_repo("feedstock-tokens")
    fake_github.add_repo(
        "feedstock-outputs",
        files={
            "config.json": json.dumps({"outputs_path": "o", "shard_level": 0, "shard_fill": "z"}),
            "o/foo.json": json.dumps({"feedstocks": ["foo"]}),
        },
    )
    fake_github.add_repo("ci-access-control")
    fake_github.add_installation(900, "blacksmith")
    fake_github.add_installation(901, "cirun-application")
    fake_github.add_user_token("ghp_org_admin_for_installations")
    fake_cirun.add_key(CIRUN_KEY)
    fake_cirun.seed_access("version: 1\npolicies: []\naccess_control: []\n")
    environ = issuer.actions_environ()
    return World(
        fake_github,
        azure,
        Settings(
            github_api_url=fake_github.url,
            azure_devops_url=azure.url,
            cirun_api_url=fake_cirun.api_url,
            ci_app_installations=(("blacksmith", 900), ("cirun", 901)),
        ),
        CredentialSettings(
            backend="env",
            dev_values={
                "github_installations_token": "ghp_org_admin_for_installations",
                "cirun_api_key": CIRUN_KEY,
            },
            dev_github_app_key_file=str(key),
            github_app_id="4242",
            github_installation_id="77",
            oidc_request_url=environ["ACTIONS_ID_TOKEN_REQUEST_URL"],
            oidc_request_token=environ["ACTIONS_ID_TOKEN_REQUEST_TOKEN"],
            azure_tenant_id=azure.tenant,
            azure_client_id=azure.client_id,
            azure_authority_url=azure.url,
        ),
        fake_cirun,
    )


def test_a_token_reset_request_gets_three_scoped_tokens_and_azure_then_loses_them_all(
    world: World,
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger().addHandler(handler)
    loaded = load("action: token_reset\nfeedstocks: [foo]\n")
    try:
        with open_broker(world.settings, world.credentials, retrier=NO_WAIT) as broker:
            reader = None
            access = loaded.kind.access(loaded.model, _settings_only(world.settings))
            with broker.request_services(access, world.settings, label="reset.yml") as services:
                reader = services
                assert services.github_for("feedstock-tokens") is not services.github
                assert services.azure_devops is not None
                [outcome] = [loaded.kind.execute(i, services) for i in loaded.items]
            assert outcome.status is OutcomeStatus.DONE, outcome.detail
            ledger = broker.ledger
    finally:
        logging.getLogger().removeHandler(handler)
    gh = world.github
    assert gh.effects["mint_token"] == 3
    assert gh.effects["revoke_token"] == 3
    kinds = [r.kind for r in ledger.records]
    assert kinds.count("github-installation-token") == 3
    assert kinds.count("azure-access-token") == 1
    assert ledger.outstanding() == []
    scopes = sorted(r.scope for r in ledger.records if r.kind == "github-installation-token")
    assert scopes == [
        "repositories=[feedstock-outputs]; contents:read",
        "repositories=[feedstock-tokens]; contents:write",
        "repositories=[foo-feedstock]; contents:read, secrets:write",
    ]
    for token in (
        gh.actions_secret("foo-feedstock", "FEEDSTOCK_TOKEN"),
        world.azure.pipeline("foo-feedstock").variables["FEEDSTOCK_TOKEN"]["value"],
    ):
        assert token not in stream.getvalue()
    assert reader is not None
    # Every GitHub token of the request is dead once it ended.
    for client in [reader.github, *reader.github_by_repository.values()]:
        with pytest.raises(Exception, match="401"):
            client.repository("foo-feedstock")


def test_a_ci_resource_request_borrows_the_installations_credential_for_its_duration(
    world: World,
) -> None:
    loaded = load("action: blacksmith\nfeedstocks: [foo]\n")
    with open_broker(world.settings, world.credentials, retrier=NO_WAIT) as broker:
        access = loaded.kind.access(loaded.model, _settings_only(world.settings))
        with broker.request_credentials(access, label="blacksmith.yml") as creds:
            borrowed = creds.installations_token
            assert borrowed is not None
            assert creds.azure_token is None
        assert borrowed.cleared
        with broker.request_services(access, world.settings, label="blacksmith.yml") as services:
            [outcome] = [loaded.kind.execute(i, services) for i in loaded.items]
    assert outcome.status is OutcomeStatus.DONE, outcome.detail
    assert world.github.installation_repositories(900) == {"foo-feedstock"}
    assert "blacksmith" in world.github.repo("ci-access-control").file_text(".access_control.yml")


def test_a_cirun_request_borrows_the_cirun_key_for_its_duration_only(world: World) -> None:
    loaded = load(
        "action: cirun\nfeedstocks: [foo]\nresources: [cirun-openstack-gpu-large]\nsend_pr: false\n"
    )
    with open_broker(world.settings, world.credentials, retrier=NO_WAIT) as broker:
        access = loaded.kind.access(loaded.model, _settings_only(world.settings))
        with broker.request_credentials(access, label="cirun.yml") as creds:
            borrowed = creds.cirun_api_key
            assert borrowed is not None
            assert borrowed.reveal() == CIRUN_KEY
        assert borrowed.cleared
        with broker.request_services(access, world.settings, label="cirun.yml") as services:
            assert services.cirun is not None
            [outcome] = [loaded.kind.execute(i, services) for i in loaded.items]
        # Other kinds never see it.
        other = load("action: blacksmith\nfeedstocks: [foo]\n")
        other_access = other.kind.access(other.model, _settings_only(world.settings))
        with broker.request_services(other_access, world.settings, label="b.yml") as services:
            assert services.cirun is None
    assert outcome.status is OutcomeStatus.DONE, outcome.detail
    assert world.cirun.resources_of("foo-feedstock-policy") == ["cirun-openstack-gpu-large"]
    assert world.cirun.repos == {"conda-forge/foo-feedstock": True}
    assert world.github.installation_repositories(901) == {"foo-feedstock"}


def _settings_only(settings: Settings) -> object:
    @dataclass
    class Only:
        settings: Settings

    return Only(settings)


def test_a_request_gets_the_render_jobs_renderings_with_its_own_token_and_no_conda_smithy(
    world: World, tmp_path: Path
) -> None:
    """Issue 16: the processing job never runs conda-smithy; it pushes checked patches."""
    settings = dataclasses.replace(
        world.settings, rendered_dir=str(tmp_path), conda_smithy="/opt/smithy/bin/conda-smithy"
    )
    loaded = load(
        "action: cirun\nfeedstocks: [foo]\nresources: [cirun-openstack-gpu-large]\nsend_pr: true\n"
    )
    with open_broker(settings, world.credentials, retrier=NO_WAIT) as broker:
        access = loaded.kind.access(loaded.model, _settings_only(settings))
        assert access.github_permissions["workflows"] == "write"
        with broker.request_services(access, settings, label="cirun.yml") as services:
            rerenderer = services.rerenderer
            assert isinstance(rerenderer, RenderedPatches)
            assert rerenderer.directory == tmp_path
            assert rerenderer.token.reveal().startswith("ghs_")
        assert rerenderer.token.cleared  # revoked with the request's other credentials
    without = dataclasses.replace(world.settings, conda_smithy="/opt/smithy/bin/conda-smithy")
    with open_broker(without, world.credentials, retrier=NO_WAIT) as broker:
        access = loaded.kind.access(loaded.model, _settings_only(without))
        with broker.request_services(access, without, label="cirun.yml") as services:
            assert services.rerenderer is None


# -- big requests outlive their tokens (issue 16, finding 4) ----------------------------


@pytest.mark.vault
def test_the_broker_says_when_a_requests_credentials_near_their_end(run: Run) -> None:
    from datetime import timedelta

    from tests.fakes.clock import FakeClock

    with run.broker() as broker:
        clock = FakeClock()
        broker.ledger.clock = clock  # the minted tokens' records are dated by it
        with broker.request_services(MARK_BROKEN, run.settings, label="r.yml") as services:
            # The anaconda.org token ends first (900 s); renewal is due 3 minutes before.
            clock.advance(timedelta(seconds=719))
            assert not services.credentials_expiring()
            clock.advance(timedelta(seconds=1))
            assert services.credentials_expiring()


@pytest.mark.vault
def test_a_request_that_outlives_its_anaconda_token_gets_a_fresh_one_and_completes(
    run: Run, tmp_path: Path
) -> None:
    """Each item takes longer than the token lives: every item after the first is refused
    with 401, gets a fresh mint and goes through. Before, the 401 was a permanent failure
    and the request was parked on its first attempt."""
    from admin_requests.cli.run import scoped_services
    from admin_requests.kinds import REGISTRY
    from admin_requests.queue.dispatch import QueueConfig, QueueRunner
    from admin_requests.queue.gitops import Git
    from admin_requests.queue.report import Disposition
    from tests.fakes.clock import FakeClock
    from tests.fakes.github import REPODATA_PATCHES_FILES
    from tests.fakes.wiring import unreachable_services
    from tests.queue.support import BOT, Repo, registry_with

    packages = [f"linux-64/pkg{n}-1.0-h0_0.conda" for n in range(3)]
    for package in packages:
        run.anaconda.add_file("conda-forge", package)
    run.github.add_repo("conda-forge-repodata-patches-feedstock", files=REPODATA_PATCHES_FILES)
    run.github.add_token("job-github-token", permissions={"metadata": "read"})
    broken = REGISTRY["broken"]

    class OutlivesItsToken(type(broken)):  # type: ignore[misc]
        def execute(self, item: Any, services: Any) -> Any:
            outcome = super().execute(item, services)
            run.anaconda.advance(901)  # anaconda.org's token lived 900 s meanwhile
            return outcome

    kind = OutlivesItsToken("broken", broken.summary, add_label=True)
    repo = Repo(tmp_path / "queue")
    repo.add_request(
        "big.yml", "action: broken\npackages:\n" + "".join(f"  - {p}\n" for p in packages)
    )
    with run.broker() as broker:
        runner = QueueRunner(
            repo.root,
            services=unreachable_services(),
            git=Git(repo.root, BOT),
            clock=FakeClock(),
            config=QueueConfig(max_parallel_items=1),
            services_for=scoped_services(broker, run.settings, "job-github-token"),
            registry=registry_with(kind),
        )
        report = runner.run()

    [result] = report.results
    assert result.disposition is Disposition.COMPLETED, [r.outcome for r in result.items]
    assert all("broken" in run.anaconda.file("conda-forge", p).labels for p in packages)
    minted = [r for r in broker.ledger.records if r.kind == "anaconda-token"]
    assert len(minted) == 3  # one, then a fresh one for each refused item
    assert broker.ledger.outstanding() == []
