"""A simulated processing run: OIDC -> OpenBao -> per-request GitHub and anaconda tokens.

Everything is real except GitHub and anaconda.org, which are the project's stateful
fakes: the App JWT is signed by OpenBao's transit engine and verified by FakeGitHub
against the transit key's public half; tokens are checked for scope on every call.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
import requests

from admin_requests.access import Access
from admin_requests.config import Settings
from admin_requests.credentials.anaconda_token import AnacondaTokens
from admin_requests.credentials.broker import CredentialBroker, RequestCredentials
from admin_requests.credentials.factories import open_broker
from admin_requests.credentials.redact import Masker, Secret
from admin_requests.credentials.settings import CredentialSettings
from admin_requests.errors import CredentialScopeError, GitHubAppTokenError
from admin_requests.services.http import Retrier, RetryPolicy
from tests.fakes.anaconda import FakeAnaconda
from tests.fakes.faults import Fault
from tests.fakes.github import FakeGitHub
from tests.fakes.oidc import FakeOidcIssuer
from tests.vault_trust import ANACONDA_ORG_CREDENTIAL, AUDIENCE, BaoServer, trust_parameters

pytestmark = pytest.mark.vault

ARCHIVE = Access(
    github_repositories=("foo-feedstock",), github_permissions={"administration": "write"}
)
MARK_BROKEN = Access(
    github_repositories=("bar-feedstock",),
    github_permissions={"contents": "read"},
    anaconda_scopes=("api:write",),
)


@dataclass
class Run:
    github: FakeGitHub
    anaconda: FakeAnaconda
    issuer: FakeOidcIssuer
    vault: BaoServer
    settings: Settings
    credentials: CredentialSettings

    def broker(self, masker: Masker | None = None) -> CredentialBroker:
        # No real waiting between retries in tests.
        retrier = Retrier(RetryPolicy(base_delay=0.01), sleep=lambda _: None)
        return open_broker(self.settings, self.credentials, masker=masker, retrier=retrier)


@pytest.fixture
def run(
    trusted_vault: BaoServer,
    oidc_issuer: FakeOidcIssuer,
    fake_github: FakeGitHub,
    fake_anaconda: FakeAnaconda,
) -> Iterator[Run]:
    params = trust_parameters()
    public = trusted_vault.admin().transit_public_key(params.transit_mount, params.transit_key)
    fake_github.configure_app(4242, public_key_pem=public.encode(), installation_id=77)
    for name in ("foo-feedstock", "bar-feedstock", "baz-feedstock"):
        fake_github.add_repo(name)
    fake_anaconda.add_token(ANACONDA_ORG_CREDENTIAL, scopes=["all"], owners=["conda-forge"])
    fake_anaconda.add_file("conda-forge", "linux-64/bar-1.0-h0_0.conda", labels=["main"])
    return Run(
        fake_github,
        fake_anaconda,
        oidc_issuer,
        trusted_vault,
        Settings(github_api_url=fake_github.url, anaconda_api_url=fake_anaconda.url),
        CredentialSettings(
            backend="vault",
            vault_addr=trusted_vault.addr,
            audience=AUDIENCE,
            oidc_request_url=oidc_issuer.actions_environ()["ACTIONS_ID_TOKEN_REQUEST_URL"],
            oidc_request_token=oidc_issuer.request_token,
        ),
    )


def gh(run: Run, token: Secret, method: str, path: str, body: object = None) -> int:
    response = requests.request(
        method,
        f"{run.github.url}{path}",
        headers={"Authorization": f"token {token.reveal()}"},
        json=body,
        timeout=10,
    )
    return response.status_code


def label(run: Run, token: Secret, owner: str = "conda-forge") -> int:
    response = requests.post(
        f"{run.anaconda.url}/channels/{owner}/broken",
        headers={"Authorization": f"token {token.reveal()}"},
        json={"package": "bar", "version": "1.0", "basename": "linux-64/bar-1.0-h0_0.conda"},
        timeout=10,
    )
    return response.status_code


def mint_for(broker: CredentialBroker, access: Access) -> None:
    with broker.request_credentials(access, label="r.yml"):
        pass


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
        assert minted.status_code == 403
        info = run.anaconda.tokens[creds.anaconda_token.reveal()]
        assert info.scopes == frozenset({"api:write"})
        assert info.expires_at is not None
        assert info.expires_at - run.anaconda.now() <= 900
        seen.append(creds)
    return seen


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
        assert value == ANACONDA_ORG_CREDENTIAL or not run.anaconda.is_token_valid(value)
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
    assert ANACONDA_ORG_CREDENTIAL in raw_tokens
    # (Values shorter than Masker.MIN_LENGTH are the App and installation ids, which
    # are not secret and would otherwise redact every "77" in a log.)
    secrets = [value for value in raw_tokens if len(value) >= Masker.MIN_LENGTH]
    assert len(secrets) >= 6
    for value in secrets:
        assert value not in text
    print("\n".join(ledger.text_lines(job_ended)))  # the measurement, shown with -s
    for record, seconds in outliving:
        print(f"{record.kind} for {record.label} stays valid {seconds:.1f} s after the job")


def test_vault_token_is_revoked_at_the_end_of_the_job(run: Run) -> None:
    tokens: list[Secret] = []
    with run.broker() as broker:
        backend = broker.backend
        tokens.append(backend._token.secret)  # type: ignore[attr-defined]
        raw = tokens[0].reveal()
    lookup = requests.get(
        f"{run.vault.addr}/v1/auth/token/lookup-self", headers={"X-Vault-Token": raw}, timeout=10
    )
    assert lookup.status_code == 403


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


def test_minted_anaconda_token_expires_by_itself(run: Run) -> None:
    with run.broker() as broker, broker.request_credentials(MARK_BROKEN, label="r.yml") as creds:
        assert creds.anaconda_token is not None
        raw = creds.anaconda_token.reveal()
        assert run.anaconda.is_token_valid(raw)
        run.anaconda.advance(broker.settings.anaconda_token_max_age + 1)
        assert not run.anaconda.is_token_valid(raw)
        assert label(run, creds.anaconda_token) == 401


def test_org_credential_is_cleared_right_after_minting(run: Run) -> None:
    used: list[Secret] = []
    original = AnacondaTokens.mint

    def spy(self: AnacondaTokens, credential: Secret, *args: object, **kwargs: object) -> object:
        used.append(credential)
        return original(self, credential, *args, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch, run.broker() as broker:
        patch.setattr(AnacondaTokens, "mint", spy)
        with broker.request_credentials(MARK_BROKEN, label="r.yml"):
            assert len(used) == 1
            assert used[0].cleared


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


def test_permission_the_app_lacks_is_refused(run: Run) -> None:
    access = Access(github_repositories=("foo-feedstock",), github_permissions={"secrets": "write"})
    with run.broker() as broker, pytest.raises(GitHubAppTokenError):
        mint_for(broker, access)


def test_blanket_token_is_never_requested(run: Run) -> None:
    access = Access(github_permissions={"administration": "write"})  # no repositories
    with run.broker() as broker, pytest.raises(CredentialScopeError, match="no repository"):
        mint_for(broker, access)
    assert run.github.effects["mint_token"] == 0


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
        assert f"::add-mask::{ANACONDA_ORG_CREDENTIAL}" in masked
        assert f"::add-mask::{run.issuer.issued[-1]}" in masked


def test_a_long_job_logs_in_again_before_the_vault_token_expires(run: Run) -> None:
    with run.broker() as broker:
        first = next(r for r in broker.ledger.records if r.kind == "vault-token")
        real_clock = broker.ledger.clock
        broker.backend._clock = lambda: real_clock() + timedelta(minutes=10)  # type: ignore[attr-defined]
        with broker.request_credentials(ARCHIVE, label="late.yml") as creds:
            assert creds.github_token is not None
        assert first.revoked_at is not None
        assert [r.kind for r in broker.ledger.records].count("vault-token") == 2
    assert broker.ledger.outstanding() == []


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


def test_revocation_is_retried_through_transient_failures(run: Run) -> None:
    run.github.faults.on_call(1, 2, fault=Fault.server_error(), method="DELETE")
    run.anaconda.faults.on_call(1, fault=Fault.too_many_requests("0"), method="DELETE")
    with run.broker() as broker:
        mint_for(broker, MARK_BROKEN)
    assert run.github.effects["revoke_token"] == 1
    assert run.anaconda.effects["remove_token"] == 1
    assert broker.ledger.outstanding() == []


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


def test_a_failed_start_still_revokes_the_vault_login(run: Run) -> None:
    from dataclasses import replace

    from admin_requests.errors import VaultError

    run.credentials = replace(run.credentials, vault_secret_path="another-workflow")
    broker = run.broker()
    with pytest.raises(VaultError, match="403"), broker:
        pass
    [vault_token] = broker.ledger.records
    assert vault_token.kind == "vault-token"
    assert vault_token.revoked_at is not None
