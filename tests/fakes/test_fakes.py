"""The fakes behave like the real APIs where our code depends on it (auth, scopes, faults)."""

from __future__ import annotations

import time

import jwt
import pytest
import requests

from tests.fakes import FakeAnaconda, FakeGitHub, Fault

REPO = "/repos/conda-forge/foo-feedstock"


def _get(fake: FakeGitHub, path: str, token: str) -> requests.Response:
    return requests.get(fake.url + path, headers={"Authorization": f"token {token}"}, timeout=5)


def test_github_token_scope_and_permissions(fake_github: FakeGitHub) -> None:
    fake_github.add_repo("foo-feedstock")
    fake_github.add_repo("bar-feedstock")
    fake_github.add_token("other", repositories=["bar-feedstock"], permissions={"contents": "read"})
    fake_github.add_token(
        "reader", repositories=["foo-feedstock"], permissions={"contents": "read"}
    )
    assert _get(fake_github, REPO, "nope").status_code == 401
    assert _get(fake_github, REPO, "other").status_code == 404
    assert _get(fake_github, REPO, "reader").status_code == 200
    patch = requests.patch(
        fake_github.url + REPO,
        json={"archived": True},
        headers={"Authorization": "token reader"},
        timeout=5,
    )
    assert patch.status_code == 403
    assert patch.json()["message"] == "Resource not accessible by integration"
    fake_github.revoke_token("reader")
    assert _get(fake_github, REPO, "reader").status_code == 401
    assert fake_github.effects["archive"] == 0


def test_public_reads_let_any_token_read_but_never_write_elsewhere() -> None:
    with FakeGitHub(public_reads=True) as gh:
        gh.add_repo("foo-feedstock")
        gh.add_repo("admin-requests")
        gh.add_token("job", repositories=["admin-requests"], permissions={"issues": "write"})
        assert _get(gh, REPO, "job").status_code == 200
        assert _get(gh, REPO + "/git/ref/heads/main", "job").status_code == 200
        assert _get(gh, REPO, "unknown").status_code == 401
        patch = requests.patch(
            gh.url + REPO,
            json={"archived": True},
            headers={"Authorization": "token job"},
            timeout=5,
        )
        assert patch.status_code == 404
        assert not gh.repo("foo-feedstock").archived
        gh.revoke_token("job")
        token = gh.tokens["job"]
        assert token.revoked_at is not None
        assert token.revoked_at >= token.created_at


def test_github_app_tokens_are_scoped_and_revocable(fake_github: FakeGitHub) -> None:
    fake_github.add_repo("foo-feedstock")
    fake_github.add_repo("bar-feedstock")
    app = fake_github.configure_app()
    url = f"{fake_github.url}/app/installations/{app.installation_id}/access_tokens"
    body = {"repositories": ["foo-feedstock"], "permissions": {"administration": "write"}}
    auth = {"Authorization": f"Bearer {fake_github.make_app_jwt()}"}
    minted = requests.post(url, json=body, headers=auth, timeout=5)
    assert minted.status_code == 201
    token = minted.json()["token"]
    assert _get(fake_github, REPO, token).status_code == 200
    assert _get(fake_github, "/repos/conda-forge/bar-feedstock", token).status_code == 404
    revoke = requests.delete(
        fake_github.url + "/installation/token",
        headers={"Authorization": f"token {token}"},
        timeout=5,
    )
    assert revoke.status_code == 204
    assert _get(fake_github, REPO, token).status_code == 401


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "999"},  # another App
        {"exp_offset": 1200},  # more than ten minutes ahead
        {"iat_offset": 120},  # issued in the future
    ],
)
def test_github_refuses_bad_app_jwts(fake_github: FakeGitHub, claims: dict[str, object]) -> None:
    app = fake_github.configure_app()
    now = int(time.time())
    payload = {
        "iss": claims.get("iss", str(app.app_id)),
        "iat": now + int(str(claims.get("iat_offset", -60))),
        "exp": now + int(str(claims.get("exp_offset", 500))),
    }
    assert app.private_key_pem is not None
    token = jwt.encode(payload, app.private_key_pem, algorithm="RS256")
    response = requests.post(
        f"{fake_github.url}/app/installations/{app.installation_id}/access_tokens",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert response.status_code == 401


def test_github_refuses_permissions_beyond_the_installation(fake_github: FakeGitHub) -> None:
    app = fake_github.configure_app(permissions={"contents": "read"})
    response = requests.post(
        f"{fake_github.url}/app/installations/{app.installation_id}/access_tokens",
        json={"permissions": {"contents": "write"}},
        headers={"Authorization": f"Bearer {fake_github.make_app_jwt()}"},
        timeout=5,
    )
    assert response.status_code == 422


def _mint(
    fake: FakeAnaconda, body: dict[str, object], auth: tuple[str, str] | None = None, **kw: str
) -> requests.Response:
    return requests.post(
        fake.url + "/authentications", json=body, auth=auth, headers=kw or None, timeout=5
    )


MINT_BODY = {  # what binstar_client's authenticate() sends
    "scopes": ["api:write"],
    "note": "job",
    "note_url": None,
    "hostname": "runner",
    "user": "conda-forge",
    "max-age": 60,
    "strength": "strong",
    "fail-if-exists": False,
}


def test_anaconda_minted_token_expires_and_can_be_removed(fake_anaconda: FakeAnaconda) -> None:
    fake_anaconda.add_account("machine", "its-password", organisations=["conda-forge"])
    answer = _mint(fake_anaconda, MINT_BODY, ("machine", "its-password"))
    assert answer.status_code == 200  # the only status binstar_client's authenticate accepts
    minted = answer.json()["token"]
    assert fake_anaconda.is_token_valid(minted)
    [info] = fake_anaconda.minted()
    assert info.owners == {"conda-forge"}
    assert info.minted_by == "machine"
    assert info.minted_with == MINT_BODY
    fake_anaconda.advance(61)
    assert not fake_anaconda.is_token_valid(minted)
    fake_anaconda.advance(-61)
    removed = requests.delete(
        fake_anaconda.url + "/authentications",
        headers={"Authorization": f"token {minted}"},
        timeout=5,
    )
    assert removed.status_code == 201
    assert not fake_anaconda.is_token_valid(minted)


def test_anaconda_mints_only_for_a_username_and_password(fake_anaconda: FakeAnaconda) -> None:
    fake_anaconda.add_account("machine", "its-password", organisations=["conda-forge"])
    fake_anaconda.add_token("master", scopes=["all"])
    refused = [
        _mint(fake_anaconda, MINT_BODY, Authorization="token master"),
        _mint(fake_anaconda, MINT_BODY, Authorization="Bearer master"),
        _mint(fake_anaconda, MINT_BODY),
        _mint(fake_anaconda, MINT_BODY, ("machine", "wrong")),
        _mint(fake_anaconda, MINT_BODY, ("nobody", "its-password")),
    ]
    assert [r.status_code for r in refused] == [401] * 5
    assert "username and password" in refused[0].json()["error"]
    assert fake_anaconda.effects["mint"] == 0


def test_anaconda_mint_takes_binstar_clients_fields_only(fake_anaconda: FakeAnaconda) -> None:
    fake_anaconda.add_account("machine", "its-password", organisations=["conda-forge"])
    auth = ("machine", "its-password")
    underscored = {k: v for k, v in MINT_BODY.items() if k != "fail-if-exists"}
    answer = _mint(fake_anaconda, {**underscored, "fail_if_exists": False}, auth)
    assert answer.status_code == 400
    assert "fail_if_exists" in answer.json()["error"]
    assert _mint(fake_anaconda, {**MINT_BODY, "fail-if-exists": "no"}, auth).status_code == 400
    # ``user`` names the organisation: one the account is not in is refused; none is the
    # account itself, whose token cannot act on the organisation.
    assert _mint(fake_anaconda, {**MINT_BODY, "user": "other-org"}, auth).status_code == 403
    own = _mint(fake_anaconda, {**MINT_BODY, "user": None}, auth).json()["token"]
    assert fake_anaconda.tokens[own].owners == {"machine"}
    fake_anaconda.add_file("conda-forge", "noarch/foo-1.0-pyh0_0.conda")
    label = requests.post(
        fake_anaconda.url + "/channels/conda-forge/broken",
        json={"package": "foo", "version": "1.0", "basename": "noarch/foo-1.0-pyh0_0.conda"},
        headers={"Authorization": f"token {own}"},
        timeout=5,
    )
    assert label.status_code == 404


def test_anaconda_copy_answers_200_with_the_copies(fake_anaconda: FakeAnaconda) -> None:
    basename = "noarch/foo-1.0-pyh0_0.conda"
    fake_anaconda.add_file("cf-staging", basename)
    fake_anaconda.add_token("writer", scopes=["api:write"], owners=["conda-forge"])
    answer = requests.post(
        f"{fake_anaconda.url}/copy/package/cf-staging/foo/1.0/{basename}",
        json={"to_owner": "conda-forge", "from_channel": "main", "to_channel": "main"},
        headers={"Authorization": "token writer"},
        timeout=5,
    )
    assert answer.status_code == 200  # binstar_client's copy accepts only 200
    assert [copy["full_name"] for copy in answer.json()] == [f"conda-forge/foo/1.0/{basename}"]
    again = requests.post(
        f"{fake_anaconda.url}/copy/package/cf-staging/foo/1.0/{basename}",
        json={"to_owner": "conda-forge", "from_channel": "main", "to_channel": "main"},
        headers={"Authorization": "token writer"},
        timeout=5,
    )
    assert again.status_code == 409
    assert "already exists" in again.json()["error"]  # the field binstar_client reads


def test_anaconda_scope_checks(fake_anaconda: FakeAnaconda) -> None:
    fake_anaconda.add_file("conda-forge", "noarch/foo-1.0-pyh0_0.conda")
    fake_anaconda.add_token("elsewhere", scopes=["api:write"], owners=["other"])
    fake_anaconda.add_token("reader", scopes=["api:read"], owners=["conda-forge"])
    body = {"package": "foo", "version": "1.0", "basename": "noarch/foo-1.0-pyh0_0.conda"}
    url = fake_anaconda.url + "/channels/conda-forge/broken"
    for token, status in (("bad", 401), ("elsewhere", 404), ("reader", 403)):
        response = requests.post(
            url, json=body, headers={"Authorization": f"token {token}"}, timeout=5
        )
        assert response.status_code == status
    assert fake_anaconda.effects["add_label"] == 0


def test_faults_on_the_nth_call_and_by_rate(fake_anaconda: FakeAnaconda) -> None:
    fake_anaconda.add_file("conda-forge", "noarch/foo-1.0-pyh0_0.conda")
    url = fake_anaconda.url + "/dist/conda-forge/foo/1.0/noarch/foo-1.0-pyh0_0.conda"
    fake_anaconda.faults.on_call(2, fault=Fault.too_many_requests("7"), path="/dist/")
    statuses = [requests.get(url, timeout=5) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 429, 200]
    assert statuses[1].headers["Retry-After"] == "7"
    fake_anaconda.faults.clear()
    fake_anaconda.faults.seed(1)
    fake_anaconda.faults.at_rate(0.5, Fault.server_error(502))
    codes = [requests.get(url, timeout=5).status_code for _ in range(40)]
    assert 5 < codes.count(502) < 35
    assert set(codes) == {200, 502}


def test_faults_reset_and_timeout(fake_anaconda: FakeAnaconda) -> None:
    url = fake_anaconda.url + "/dist/conda-forge/foo/1.0/noarch/foo-1.0-pyh0_0.conda"
    fake_anaconda.faults.on_call(1, fault=Fault.reset())
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=5)
    # Rules count the calls made after they are added.
    fake_anaconda.faults.on_call(1, fault=Fault.timeout(0.5))
    with pytest.raises(requests.Timeout):
        requests.get(url, timeout=0.1)
    assert fake_anaconda.faults.injected == 2


def test_anaconda_package_lists_each_file_as_dist_describes_it(
    fake_anaconda: FakeAnaconda,
) -> None:
    """``GET /package``'s ``files``: the records ``GET /dist`` answers, labels and all."""
    ac = fake_anaconda
    ac.add_file("conda-forge", "linux-64/foo-1.0-py312h0_3.conda", labels=["main", "broken"])
    ac.add_file("conda-forge", "noarch/foo-1.1-pyhd8ed1ab_0.tar.bz2")
    ac.add_file("conda-forge", "noarch/bar-1.0-pyh0_0.conda")
    answer = requests.get(f"{ac.url}/package/conda-forge/foo", timeout=5)
    assert answer.status_code == 200
    files = {f["basename"]: f for f in answer.json()["files"]}
    assert set(files) == {"linux-64/foo-1.0-py312h0_3.conda", "noarch/foo-1.1-pyhd8ed1ab_0.tar.bz2"}
    one = files["linux-64/foo-1.0-py312h0_3.conda"]
    assert one["labels"] == ["broken", "main"]
    assert one["version"] == "1.0"
    assert one["upload_time"] == "2026-01-01 00:00:00.000000+00:00"
    assert one["attrs"] == {
        "name": "foo",
        "version": "1.0",
        "build": "py312h0_3",
        "build_number": 3,
        "subdir": "linux-64",
    }
    dist = requests.get(
        f"{ac.url}/dist/conda-forge/foo/1.0/linux-64/foo-1.0-py312h0_3.conda", timeout=5
    )
    assert dist.json() == one
    assert requests.get(f"{ac.url}/package/conda-forge/nosuch", timeout=5).status_code == 404
