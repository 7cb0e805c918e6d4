"""The one token for all repositories: creating a feedstock's repository (issue 17).

GitHub creates a repository in an organisation only with an installation token that is
not limited to some repositories; the broker mints such a token for exactly
``administration: write`` (access.create_repository_access) and nothing else.
"""

from __future__ import annotations

import pytest

from admin_requests.access import Access, create_repository_access
from admin_requests.credentials.github_app import check_requestable
from admin_requests.errors import CredentialScopeError


def test_creating_a_repository_may_ask_for_all_repositories() -> None:
    access = create_repository_access()

    check_requestable(access)

    assert access.github_repositories == ()
    assert dict(access.github_permissions) == {"administration": "write"}
    assert not access.grants_nothing


@pytest.mark.parametrize(
    "access",
    [
        Access(
            github_permissions={"administration": "write", "contents": "write"},
            all_repositories=True,
        ),
        Access(github_permissions={"contents": "write"}, all_repositories=True),
        Access(("foo-feedstock",), {"administration": "write"}, all_repositories=True),
    ],
)
def test_nothing_else_gets_a_token_for_all_repositories(access: Access) -> None:
    with pytest.raises(CredentialScopeError, match="only minted to create a repository"):
        check_requestable(access)


def test_without_the_flag_repository_permissions_still_need_repositories() -> None:
    with pytest.raises(CredentialScopeError, match="asked for no repository"):
        check_requestable(Access(github_permissions={"administration": "write"}))
