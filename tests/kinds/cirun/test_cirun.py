"""The cirun kind against FakeGitHub: its App installation, Cirun's .access.yml, the records
and the pull request that turns the runners on."""

from __future__ import annotations

import pytest

from admin_requests.access import Access
from admin_requests.kinds.contract import OutcomeStatus
from tests.fakes import FakeGitHub
from tests.kinds.ci_resources_world import (
    ACCESS_CONTROL,
    CBC,
    CIRUN_ACCESS,
    CONDA_FORGE_YML,
    RECORDS,
    RecordingRerenderer,
    records,
    services,
    with_ci_repositories,
)
from tests.kinds.helpers import load, run
from tests.kinds.scoped import scoped_services


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:
    return with_ci_repositories(fake_github)


CIRUN = """\
action: cirun
feedstocks: [foo]
resources:
  - cirun-openstack-gpu-large
  - cirun-openstack-cpu-large
pull_request: true
send_pr: true
"""


def test_cirun_grant_sets_policy_records_and_opens_one_pull_request(gh: FakeGitHub) -> None:
    loaded = load(CIRUN)
    [outcome] = run(loaded, services(gh, loaded))
    assert outcome.status is OutcomeStatus.DONE, outcome.detail
    assert "foo-feedstock" in gh.installation_repositories(506)
    assert gh.repo(".cirun").file_text(".access.yml") == CIRUN_ACCESS.replace(
        "    pull_request: false\n\naccess_control:",
        "    pull_request: false\n"
        "  - id: foo-feedstock\n    repo: foo-feedstock\n    teams:\n      - foo\n"
        "    pull_request: true\n\naccess_control:",
    ) + (
        "      - foo-feedstock\n  - resource: cirun-openstack-cpu-large\n"
        "    policies:\n      - foo-feedstock\n"
    )
    assert (
        records(gh)
        == ACCESS_CONTROL.replace(
            "      pull_request: false\n",
            "      pull_request: false\n    - feedstock: foo-feedstock\n      pull_request: true\n",
        )
        + "  cirun-openstack-cpu-large:\n    - feedstock: foo-feedstock\n      pull_request: true\n"
    )
    [pull] = gh.pulls("foo-feedstock")
    assert pull.base == "main"
    assert "cirun-openstack-gpu-large, cirun-openstack-cpu-large" in pull.body
    branch = gh.repo("foo-feedstock").branch_files[pull.head]
    assert branch["conda-forge.yml"].decode() == (
        CONDA_FORGE_YML + "github_actions:\n  self_hosted: true\n  triggers:\n    - push\n"
        "    - pull_request\nprovider:\n  linux_64: github_actions\n"
    )
    assert branch["recipe/conda_build_config.yaml"].decode() == CBC + (
        "github_actions_labels:\n  - cirun-openstack-gpu-large\n  - cirun-openstack-cpu-large\n"
    )
    assert gh.repo("foo-feedstock").files["conda-forge.yml"].decode() == CONDA_FORGE_YML
    assert [c["body"] for c in pull.comments] == ["@conda-forge-admin, please rerender"]
    effects = dict(gh.effects)
    [again] = run(loaded, services(gh, loaded))
    assert (again.status, again.changed) == (OutcomeStatus.DONE, False)
    assert dict(gh.effects) == effects
    assert len(gh.pulls("foo-feedstock")) == 1


def test_cirun_with_conda_smithy_rerenders_instead_of_asking_the_bot(gh: FakeGitHub) -> None:
    loaded = load(CIRUN)
    rerenderer = RecordingRerenderer()
    svc = services(gh, loaded)
    svc.rerenderer = rerenderer
    [outcome] = run(loaded, svc)
    [pull] = gh.pulls("foo-feedstock")
    assert rerenderer.calls == [("foo-feedstock", pull.head)]
    assert "(rerendered)" in outcome.detail
    assert "rerendered with conda-smithy" in pull.body
    assert pull.comments == []


def test_cirun_sends_no_pull_request_to_a_feedstock_that_has_the_runners(gh: FakeGitHub) -> None:
    gh.repo("foo-feedstock").files["recipe/conda_build_config.yaml"] = (
        b"github_actions_labels:\n- cirun-openstack-gpu-large\n- cirun-openstack-cpu-large\n"
    )
    loaded = load(CIRUN)
    run(loaded, services(gh, loaded))
    assert gh.pulls("foo-feedstock") == []


def test_cirun_revoke_keeps_the_app_while_another_resource_remains(gh: FakeGitHub) -> None:
    run(grant := load(CIRUN.replace("send_pr: true", "send_pr: false")), services(gh, grant))
    one = load(
        "action: cirun\nfeedstocks: [foo]\nresources: [cirun-openstack-cpu-large]\nrevoke: true\n"
    )
    [outcome] = run(one, services(gh, one))
    assert outcome.status is OutcomeStatus.DONE
    assert "foo-feedstock" in gh.installation_repositories(506)
    assert "id: foo-feedstock" in gh.repo(".cirun").file_text(".access.yml")
    assert records(gh).endswith("  cirun-openstack-cpu-large: []\n")
    rest = load(
        "action: cirun\nfeedstocks: [foo]\nresources: [cirun-openstack-gpu-large]\nrevoke: true\n"
    )
    [outcome] = run(rest, services(gh, rest))
    assert "removed from the cirun runners App installation" in outcome.detail
    assert gh.installation_repositories(506) == {"old-feedstock"}
    assert gh.repo(".cirun").file_text(".access.yml") == CIRUN_ACCESS
    assert "foo-feedstock" not in records(gh)
    assert gh.pulls("foo-feedstock") == []


def test_cirun_access_asks_for_pull_request_rights_only_to_send_one(gh: FakeGitHub) -> None:
    reader = scoped_services(gh, Access())
    sending = load(CIRUN)
    access = sending.kind.access(sending.model, reader)
    assert access.github_permissions == {"contents": "write", "pull_requests": "write"}
    assert access.github_extra[0].repositories == (RECORDS, ".cirun")
    quiet = load(CIRUN.replace("send_pr: true", "send_pr: false"))
    assert quiet.kind.access(quiet.model, reader).github_permissions == {"metadata": "read"}
    with_smithy = scoped_services(gh, Access(), conda_smithy="/opt/smithy/bin/conda-smithy")
    assert sending.kind.access(sending.model, with_smithy).github_permissions == {
        "contents": "write",
        "pull_requests": "write",
        "workflows": "write",
    }
