"""Infrastructure as code for the GitHub side of a deployment: ``deploy/github/*.yml``.

    python -m admin_requests.deploy plan  --repository OWNER/NAME --backend vault --set ...
    python -m admin_requests.deploy apply --repository OWNER/NAME --backend vault --set ...
    python -m admin_requests.deploy check --repository OWNER/NAME --backend vault --set ...
    python -m admin_requests.deploy ids   --repository OWNER/NAME

``plan`` lists what differs, ``apply`` changes it (then checks again), ``check`` exits 1
when anything differs, for a scheduled drift check (read permissions suffice); with the
vault backend each also works out the OIDC subject the repository gives its jobs and
compares it with the vault role's (``oidc_subject.py``); ``ids``
prints the numeric repository and owner ids the vault role and AWS trust policy pin.
The token (``GITHUB_TOKEN``) is a repository administrator's, e.g. ``gh auth token``;
never a workflow's.
"""

from __future__ import annotations

from admin_requests.deploy.plan import Change, RepositoryApi, plan_changes
from admin_requests.deploy.spec import RepositorySpec, load_spec

__all__ = ["Change", "RepositoryApi", "RepositorySpec", "load_spec", "plan_changes"]
