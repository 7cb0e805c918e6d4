"""What a request may use: ``grants_nothing`` decides whether the broker mints anything."""

from __future__ import annotations

import pytest

from admin_requests.access import Access, GitHubGrant


def test_the_default_access_grants_nothing() -> None:
    assert Access().grants_nothing


@pytest.mark.parametrize(
    "access",
    [
        Access(github_repositories=("numpy-feedstock",)),
        Access(github_permissions={"administration": "write"}),
        Access(anaconda_scopes=("channel:conda-forge",)),
        Access(github_extra=(GitHubGrant(("feedstock-tokens",), {"contents": "write"}),)),
        Access(azure_devops=True),
        Access(github_app_installations=True),
        Access(cirun=True),
    ],
    ids=["repositories", "permissions", "anaconda", "extra", "azure", "installations", "cirun"],
)
def test_any_one_grant_is_something(access: Access) -> None:
    """Each field alone is enough: forgetting one would run a request without its token."""
    assert not access.grants_nothing


def test_access_is_a_value() -> None:
    one = Access(("a",), {"contents": "read"})
    assert one == Access(("a",), {"contents": "read"})
    assert one != Access(("a",), {"contents": "write"})
    with pytest.raises(AttributeError):
        one.azure_devops = True  # type: ignore[misc]
