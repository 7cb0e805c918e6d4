"""The vault the credential, CLI and deploy tests log in to: OpenBao's dev server with the
project's trust policy and a fake OIDC issuer (their fixtures are in tests/conftest.py).

The trust policy is applied with the project's own ``deploy.vault.apply``, so the tests
prove the files in ``vault/`` do what docs/security.md says, not a copy of them.
"""

from __future__ import annotations

from sandbox.vault import VaultDevServer

from admin_requests.deploy.vault import TrustParameters
from tests.fakes.oidc import REPOSITORY, REPOSITORY_ID, REPOSITORY_OWNER_ID

AUDIENCE = "https://vault.admin-requests.test"

# The dev server as the sandbox runs it (sandbox/vault.py): same binary, same flags.
BaoServer = VaultDevServer

# The anaconda.org machine account whose username and password the job's secret holds
# (anaconda.org mints tokens only for them, with basic auth).
ANACONDA_ORG_USERNAME = "cf-admin-machine"
ANACONDA_ORG_PASSWORD = "org-password-" + "x7Q9" * 8
ANACONDA_JOB_SECRET = {
    "anaconda_org_username": ANACONDA_ORG_USERNAME,
    "anaconda_org_password": ANACONDA_ORG_PASSWORD,
}


def trust_parameters() -> TrustParameters:
    return TrustParameters(
        repository=REPOSITORY,
        repository_id=REPOSITORY_ID,
        repository_owner_id=REPOSITORY_OWNER_ID,
        audience=AUDIENCE,
    )
