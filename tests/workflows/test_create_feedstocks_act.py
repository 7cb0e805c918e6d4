"""create-feedstocks.yml run for real under act, both jobs, against the sandbox.

One act run (a ``workflow_dispatch``; act runs are minutes) with the demo's
staged-recipes (sandbox/creation.py): an example recipe and ``tinyjson``, merged by its
pull request. The render job runs ``create-feedstocks render`` with the stand-in
conda-smithy (tests/creation/standin_smithy.py, through the ``CONDA_SMITHY`` variable):
the real conda-smithy is a conda package only, and PyPI has just a 0.0.0 placeholder,
so it cannot be installed here. The create job logs in to the real OpenBao with the
role ``admin-requests-create-feedstocks``, takes the creation lease and mints one App
installation token per step.

act cannot fetch actions offline and skips only the checkout of the repository itself,
so the checkout of staged-recipes and the artifact between the two jobs are stand-ins
(tests/workflows/standin_actions/, run with act's ``--local-repository``); everything
else is the workflow as production runs it. act hands the ``--env`` OIDC variables to
every job, whatever its ``permissions:`` say, so "the render job had no credential" is
shown from the services' records: every OIDC token the issuer signed was spent on a
vault login of the create job's role, and conda-smithy's environment held no token and
no OIDC or vault setting. Every assertion reads the fakes', the git server's and the
vault's own records, not the log.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sandbox import creation, org
from sandbox.workflow import ActResult, dispatch_event

from admin_requests.creation.steps import MAINTAINERS_FILE, RULESET_NAME
from admin_requests.queue.lease import CREATION_LEASE_REF
from tests.creation.world import install_standin

from .act import Run
from .conftest import start_run

pytestmark = [pytest.mark.act, pytest.mark.xdist_group("create_feedstocks_act")]

WORKFLOW = f"{org.REPOSITORY}/.github/workflows/create-feedstocks.yml@refs/heads/main"
ROLE = "admin-requests-create-feedstocks"
STANDINS = Path(__file__).with_name("standin_actions")
# The pinned actions of create-feedstocks.yml and their stand-ins.
LOCAL_ACTIONS = {
    "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683": STANDINS / "checkout",
    "actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f": (
        STANDINS / "upload-artifact"
    ),
    "actions/download-artifact@3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c": (
        STANDINS / "download-artifact"
    ),
}
FEEDSTOCK = f"{creation.RECIPE}-feedstock"


@dataclass
class Created:
    run: Run
    result: ActResult
    smithy_env: Path  # where the stand-in conda-smithy wrote the environment it saw
    staged_before: str  # staged-recipes' main before the run


@pytest.fixture(scope="module")
def created(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Created]:
    root = tmp_path_factory.mktemp("create-feedstocks-act")
    for run in start_run(root):
        sandbox = run.sandbox
        creation.seed_staged_recipes(sandbox, root / "seed")
        # staged-recipes is public: the job's token may fetch it (GitHub's public reads).
        sandbox.github.public_reads = True
        staged_before = creation._git("rev-parse", "main", cwd=sandbox.git.bare("staged-recipes"))
        smithy_env = root / "smithy-env"
        smithy_env.mkdir()
        artifacts = root / "artifacts"
        artifacts.mkdir()
        token = sandbox.begin_job("workflow_dispatch")
        sandbox.issuer.claim_overrides.update(
            {"job_workflow_ref": WORKFLOW, "workflow_ref": WORKFLOW}
        )
        try:
            result = run.workspace.run_act(
                "workflow_dispatch",
                dispatch_event(),
                "create-feedstocks.yml",
                env={
                    **sandbox.workflow_env(),
                    "GITHUB_SERVER_URL": sandbox.git.url,
                    "ARTIFACT_STANDIN_DIR": str(artifacts),
                    # The stand-in writes the names of its environment here (TMPDIR is
                    # on conda-smithy's allowlist); both jobs get it, only render uses it.
                    "TMPDIR": str(smithy_env),
                },
                variables={
                    **sandbox.workflow_vars(),
                    "CONDA_SMITHY": str(install_standin(root / "bin")),
                    "ADMIN_REQUESTS_GITHUB_APP_ID": str(sandbox.app.app_id),
                    "ADMIN_REQUESTS_GITHUB_APP_INSTALLATION_ID": str(sandbox.app.installation_id),
                },
                github_token=token,
                local_actions=LOCAL_ACTIONS,
            )
        finally:
            sandbox.end_job(token)
        print(f"create-feedstocks.yml under act: {result.seconds:.1f} s")
        (root / "act-output.txt").write_text(result.output)
        yield Created(run, result, smithy_env, staged_before)


def test_both_jobs_succeed(created: Created) -> None:
    output = created.result.output
    assert created.result.ok, output[-6000:]
    # The render job rendered the recipe (the example is skipped) and handed it on.
    assert "recipes/tinyjson: tinyjson-feedstock" in output
    assert "1 recipe(s) rendered, 0 failed" in output
    assert "uploaded rendered as artifact renderings" in output
    assert "downloaded artifact renderings into rendered" in output
    assert (
        "recipes/tinyjson: created: created https://github.com/conda-forge/tinyjson-feedstock"
        in (created.result.output)
    )


def test_the_merged_recipe_becomes_a_feedstock(created: Created) -> None:
    sandbox = created.run.sandbox
    gh = sandbox.github
    repo = gh.repos[FEEDSTOCK]
    assert repo.admin.settings["description"] == "A conda-smithy repository for tinyjson."
    (ruleset,) = repo.admin.rulesets.values()
    assert ruleset["name"] == RULESET_NAME
    assert ruleset["enforcement"] == "active"
    assert {r["type"] for r in ruleset["rules"]} == {"deletion", "non_fast_forward"}
    # The rendering, pushed once, then the maintainers file (GitHub's contents API).
    (push,) = [p for p in sandbox.git.pushes if p.repository == FEEDSTOCK]
    bare = sandbox.git.bare(FEEDSTOCK)
    root_message = creation._git("log", "--format=%s", push.updates[0].new, cwd=bare)
    assert root_message == "Initial feedstock commit for tinyjson [skip ci]"
    files = creation._git("ls-tree", "-r", "--name-only", push.updates[0].new, cwd=bare)
    assert "recipe/recipe.yaml" in files.splitlines()
    assert "conda-forge.yml" in files.splitlines()
    assert MAINTAINERS_FILE in repo.files
    # The feedstock token: its Actions secret and its hashed entry in feedstock-tokens.
    assert "FEEDSTOCK_TOKEN" in repo.secrets
    assert "tokens/tinyjson-feedstock.json" in gh.repo(creation.TOKENS).files
    # Both outputs registered in feedstock-outputs for the new feedstock.
    for output in ("tinyjson", "libtinyjson"):
        found = [
            path
            for path in gh.repo(org.OUTPUTS).files
            if path.startswith("outputs/") and path.endswith(f"/{output}.json")
        ]
        assert len(found) == 1, output
        assert json.loads(gh.repo(org.OUTPUTS).file_text(found[0]))["feedstocks"] == ["tinyjson"]


def test_the_recipe_is_removed_from_staged_recipes_in_one_commit(created: Created) -> None:
    sandbox = created.run.sandbox
    bare = sandbox.git.bare("staged-recipes")
    after = creation._git("log", "--format=%s", f"{created.staged_before}..main", cwd=bare)
    assert after.splitlines() == ["Removed recipe (tinyjson) after converting into feedstock."]
    assert creation.remote_recipes(sandbox) == ["example-v1"]
    # The App pushed it (the only actor past staged-recipes' pull-request rule).
    (push,) = [p for p in sandbox.git.pushes if p.repository == "staged-recipes"]
    assert sandbox.github.tokens[push.token].installation_id is not None
    pull = sandbox.github.repo("staged-recipes").pulls[creation.PULL]
    assert any("tinyjson-feedstock" in str(c["body"]) for c in pull.comments)


def test_the_create_job_held_the_creation_lease_and_released_it(created: Created) -> None:
    sandbox = created.run.sandbox
    home = [p for p in sandbox.git.pushes if p.repository == org.HOME]
    assert [(u.ref, u.kind) for p in home for u in p.updates] == [
        (CREATION_LEASE_REF, "creation"),
        (CREATION_LEASE_REF, "deletion"),
    ]  # nothing else: the recipe completed, so creation-state/ had nothing to commit
    left = created.run.workspace.remote_files("creation-state")
    assert not [name for name in left if name.endswith(".json")]


def test_the_render_job_had_no_credential(created: Created) -> None:
    sandbox = created.run.sandbox
    events = sandbox.vault.audit_events()
    logins = [e for e in events if e.is_login]
    # One vault login, the create job's, with its own role; every OIDC token the issuer
    # signed went to it (the render job asked for none).
    assert [(e.error, e.display_name, e.metadata.get("role")) for e in logins] == [
        ("", f"jwt-{WORKFLOW}", ROLE)
    ]
    assert len(sandbox.issuer.issued) == len(logins)
    # conda-smithy ran (the stand-in wrote what it saw) with no credential in reach.
    seen = [json.loads(p.read_text()) for p in created.smithy_env.glob("standin-env-*.json")]
    assert seen, "the stand-in conda-smithy did not run"
    for names in seen:
        assert not [
            n
            for n in names
            if n.startswith(("ACTIONS_ID_TOKEN", "ACTIONS_RUNTIME", "VAULT_", "GITHUB_TOKEN"))
            or n in ("GITHUB_APP_ID", "GITHUB_APP_INSTALLATION_ID", "ADMIN_REQUESTS_CREDENTIALS")
        ], names


def test_every_minted_credential_was_revoked(created: Created) -> None:
    sandbox = created.run.sandbox
    events = sandbox.vault.audit_events()
    logins = [e for e in events if e.is_login]
    revoked = {e.accessor for e in events if e.is_revoke_self and not e.error}
    assert {e.accessor for e in logins} <= revoked
    assert sandbox.vault.live_tokens("auth/jwt/login") == []
    minted = [t for t in sandbox.github.tokens.values() if t.installation_id is not None]
    # One per step and grant, one per push (the lease twice, the removal).
    assert len(minted) >= 10
    assert all(t.revoked for t in minted), [t.permissions for t in minted if not t.revoked]
    assert sandbox.git.refused == []
    [job_token] = sandbox.job_tokens
    assert not sandbox.github.is_token_valid(job_token)
    assert job_token not in created.result.output
