"""The cirun kind against FakeGitHub and FakeCirun: the Cirun App's installation, Cirun's
API as conda-smithy calls it (Cirun on for the feedstock, its ``<repo>-policy`` given the
resources), the records and the pull request that turns the runners on. Cirun starts from
an excerpt of conda-forge's real ``.access.yml`` (tests/data/cirun/)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from ruamel.yaml import YAML

from admin_requests.access import Access
from admin_requests.kinds.contract import OutcomeStatus
from admin_requests.services import Services
from tests.fakes import FakeCirun, FakeGitHub
from tests.kinds.ci_resources_world import (
    ACCESS_CONTROL,
    CBC,
    CIRUN_ACCESS,
    CONDA_FORGE_YML,
    INSTALLATIONS,
    RECORDS,
    RecordingRerenderer,
    records,
    services,
    with_ci_repositories,
    with_cirun,
)
from tests.kinds.helpers import Loaded, load, run
from tests.kinds.scoped import scoped_services

APP = INSTALLATIONS["cirun"]
OPEN_GPU_USERS = (
    "https://raw.githubusercontent.com/Quansight/open-gpu-server/main/access/conda-forge-users.json"
)
REAL = YAML(typ="safe", pure=True).load(CIRUN_ACCESS)


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:
    with_ci_repositories(fake_github)
    # conda-forge's feedstocks with Cirun runners today: the Cirun App is on them.
    for name in ("libmagma-feedstock", "pytorch-cpu-feedstock"):
        fake_github.add_repo(name)
        fake_github.installations[APP].repository_ids.add(fake_github.repo(name).id)
    return fake_github


@pytest.fixture
def cirun(fake_cirun: FakeCirun) -> FakeCirun:
    return with_cirun(fake_cirun)


def svc(gh: FakeGitHub, cirun: FakeCirun, loaded: Loaded) -> Services:
    return services(gh, loaded, cirun=cirun)


def writes(cirun: FakeCirun) -> int:
    return cirun.count("PUT") + cirun.count("POST")


def without(data: dict[str, Any], policy: str, resources: set[str]) -> dict[str, Any]:
    """``data`` with ``policy`` taken from ``resources`` (and dropped when unused)."""
    expected = copy.deepcopy(data)
    for rule in expected["access_control"]:
        if rule["resource"] in resources:
            rule["policies"] = [p for p in rule["policies"] if p != policy]
    if not any(policy in r["policies"] for r in expected["access_control"]):
        expected["policies"] = [p for p in expected["policies"] if p["id"] != policy]
    return expected


CIRUN = """\
action: cirun
feedstocks: [foo]
resources:
  - cirun-openstack-gpu-large
  - cirun-openstack-cpu-large
pull_request: true
send_pr: true
"""


def test_cirun_grant_turns_cirun_on_sets_the_policy_records_and_opens_one_pull_request(
    gh: FakeGitHub, cirun: FakeCirun
) -> None:
    loaded = load(CIRUN)
    [outcome] = run(loaded, svc(gh, cirun, loaded))
    assert outcome.status is OutcomeStatus.DONE, outcome.detail
    assert "foo-feedstock" in gh.installation_repositories(APP)
    assert cirun.repos["conda-forge/foo-feedstock"] is True
    # The policy as Cirun's API writes it for conda-forge's openstack runners.
    assert cirun.policy("foo-feedstock-policy") == {
        "id": "foo-feedstock-policy",
        "repo": "foo-feedstock",
        "roles": ["admin", "maintain", "write"],
        "pull_request": True,
        "users_from_json": OPEN_GPU_USERS,
    }
    assert cirun.resources_of("foo-feedstock-policy") == [
        "cirun-openstack-gpu-large",
        "cirun-openstack-cpu-large",
    ]
    # Cirun's bot keeps .cirun/.access.yml; admin-requests never writes it.
    assert gh.file_writes[".cirun"] == 0
    assert gh.repo(".cirun").file_text(".access.yml") == CIRUN_ACCESS
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


def test_a_grant_done_twice_is_done_once(gh: FakeGitHub, cirun: FakeCirun) -> None:
    loaded = load(CIRUN)
    run(loaded, svc(gh, cirun, loaded))
    state, effects, cirun_effects = cirun.access_yml(), dict(gh.effects), dict(cirun.effects)
    cirun_writes = writes(cirun)
    [again] = run(loaded, svc(gh, cirun, loaded))
    assert (again.status, again.changed) == (OutcomeStatus.DONE, False), again.detail
    assert writes(cirun) == cirun_writes  # looked, asked nothing
    assert cirun.access_yml() == state
    assert dict(cirun.effects) == cirun_effects == {"set_repo": 1, "access_add": 1}
    assert dict(gh.effects) == effects
    assert len(gh.pulls("foo-feedstock")) == 1


LIBMAGMA = """\
action: cirun
feedstocks: [libmagma]
resources:
  - cirun-openstack-gpu-large
  - cirun-openstack-cpu-large
pull_request: true
send_pr: false
"""


def test_a_grant_for_libmagma_adds_no_second_policy_beside_its_real_one(
    gh: FakeGitHub, cirun: FakeCirun
) -> None:
    loaded = load(LIBMAGMA)
    [outcome] = run(loaded, svc(gh, cirun, loaded))
    assert outcome.status is OutcomeStatus.DONE, outcome.detail
    assert "libmagma-feedstock-policy" in outcome.detail
    assert [p for p in cirun.policy_ids() if p.startswith("libmagma")] == [
        "libmagma-feedstock-policy",
        "libmagma-feedstock-windows-policy",
    ]
    # The real policy, as it was, now with the CPU runner as well.
    [real] = [p for p in REAL["policies"] if p["id"] == "libmagma-feedstock-policy"]
    assert cirun.policy("libmagma-feedstock-policy") == real
    assert cirun.resources_of("libmagma-feedstock-policy") == [
        "cirun-openstack-gpu-large",
        "cirun-openstack-cpu-large",
    ]
    assert cirun.effects["set_repo"] == 0  # Cirun was on for it already
    assert gh.file_writes[".cirun"] == 0
    assert gh.repo(".cirun").file_text(".access.yml") == CIRUN_ACCESS
    # Again: nothing to ask.
    before = writes(cirun)
    run(loaded, svc(gh, cirun, loaded))
    assert writes(cirun) == before


def test_a_grant_libmagma_already_has_asks_cirun_nothing(gh: FakeGitHub, cirun: FakeCirun) -> None:
    loaded = load(LIBMAGMA.replace("  - cirun-openstack-cpu-large\n", ""))
    [outcome] = run(loaded, svc(gh, cirun, loaded))
    assert outcome.status is OutcomeStatus.DONE, outcome.detail
    assert writes(cirun) == 0
    assert cirun.access_yml() == REAL
    assert "recorded in" in outcome.detail  # only the record was new


def test_taking_pull_requests_away_is_asked_for_explicitly(
    gh: FakeGitHub, cirun: FakeCirun
) -> None:
    loaded = load(
        LIBMAGMA.replace("  - cirun-openstack-cpu-large\n", "").replace(
            "pull_request: true", "pull_request: false"
        )
    )
    run(loaded, svc(gh, cirun, loaded))
    policy = cirun.policy("libmagma-feedstock-policy")
    assert policy is not None
    assert policy["pull_request"] is False
    before = writes(cirun)
    run(loaded, svc(gh, cirun, loaded))
    assert writes(cirun) == before


def test_a_revoke_for_libmagma_removes_exactly_its_real_policy(
    gh: FakeGitHub, cirun: FakeCirun
) -> None:
    loaded = load(
        "action: cirun\nfeedstocks: [libmagma]\nresources: [cirun-openstack-gpu-large]\n"
        "revoke: true\n"
    )
    [outcome] = run(loaded, svc(gh, cirun, loaded))
    assert outcome.status is OutcomeStatus.DONE, outcome.detail
    assert cirun.access_yml() == without(
        REAL, "libmagma-feedstock-policy", {"cirun-openstack-gpu-large"}
    )
    assert "libmagma-feedstock-policy" not in cirun.policy_ids()
    assert cirun.resources_of("libmagma-feedstock-windows-policy") == [
        "cirun-azure-windows-2xlarge",
        "cirun-azure-windows-4xlarge",
    ]
    # The hand-written Windows policy still gives libmagma runners: the App stays.
    assert "libmagma-feedstock" in gh.installation_repositories(APP)
    assert "removed from" not in outcome.detail
    # Again: nothing left to take.
    before = writes(cirun)
    [again] = run(loaded, svc(gh, cirun, loaded))
    assert (again.status, again.changed) == (OutcomeStatus.DONE, False), again.detail
    assert writes(cirun) == before


def test_a_revoke_of_what_a_hand_written_policy_gives_fails_and_names_it(
    gh: FakeGitHub, cirun: FakeCirun
) -> None:
    loaded = load(
        "action: cirun\nfeedstocks: [libmagma]\nresources: [cirun-azure-windows-2xlarge]\n"
        "revoke: true\n"
    )
    [outcome] = run(loaded, svc(gh, cirun, loaded))
    assert outcome.status is OutcomeStatus.FAILED
    assert "'libmagma-feedstock-windows-policy'" in outcome.detail
    assert "remove it there" in outcome.detail
    assert cirun.access_yml() == REAL
    assert writes(cirun) == 0
    assert "libmagma-feedstock" in gh.installation_repositories(APP)


def test_the_cirun_app_stays_while_any_grant_remains(gh: FakeGitHub, cirun: FakeCirun) -> None:
    grant = load(CIRUN.replace("send_pr: true", "send_pr: false"))
    run(grant, svc(gh, cirun, grant))
    one = load(
        "action: cirun\nfeedstocks: [foo]\nresources: [cirun-openstack-cpu-large]\nrevoke: true\n"
    )
    [outcome] = run(one, svc(gh, cirun, one))
    assert outcome.status is OutcomeStatus.DONE, outcome.detail
    assert "foo-feedstock" in gh.installation_repositories(APP)
    assert cirun.resources_of("foo-feedstock-policy") == ["cirun-openstack-gpu-large"]
    assert records(gh).endswith("  cirun-openstack-cpu-large: []\n")
    rest = load(
        "action: cirun\nfeedstocks: [foo]\nresources: [cirun-openstack-gpu-large]\nrevoke: true\n"
    )
    [outcome] = run(rest, svc(gh, cirun, rest))
    assert "removed from the cirun runners App installation" in outcome.detail
    assert gh.installation_repositories(APP) == {
        "old-feedstock",
        "libmagma-feedstock",
        "pytorch-cpu-feedstock",
    }
    assert cirun.access_yml() == REAL
    assert "foo-feedstock" not in records(gh)
    assert gh.pulls("foo-feedstock") == []


def test_pytorch_cpu_keeps_the_app_through_its_hand_written_policies(
    gh: FakeGitHub, cirun: FakeCirun
) -> None:
    """pytorch-cpu has no ``<repo>-policy`` at all (its policies were renamed by hand):
    a revoke has nothing to ask Cirun, and the App stays for the policies it has."""
    loaded = load(
        "action: cirun\nfeedstocks: [pytorch-cpu]\nresources: [cirun-openstack-gpu-4xlarge]\n"
        "revoke: true\n"
    )
    [outcome] = run(loaded, svc(gh, cirun, loaded))
    assert outcome.status is OutcomeStatus.DONE, outcome.detail
    assert writes(cirun) == 0
    assert "pytorch-cpu-feedstock" in gh.installation_repositories(APP)


def test_runners_of_other_providers_get_roles_without_the_open_gpu_list(
    gh: FakeGitHub, cirun: FakeCirun
) -> None:
    loaded = load(
        "action: cirun\nfeedstocks: [foo]\nresources: [cirun-azure-windows-2xlarge]\n"
        "send_pr: false\n"
    )
    run(loaded, svc(gh, cirun, loaded))
    assert cirun.policy("foo-feedstock-policy") == {
        "id": "foo-feedstock-policy",
        "repo": "foo-feedstock",
        "roles": ["admin", "maintain", "write"],
        "pull_request": False,
    }


def test_while_core_has_not_merged_cirun_s_pull_request_a_rerun_asks_again(
    gh: FakeGitHub, fake_cirun: FakeCirun
) -> None:
    """Cirun proposes each change as a pull request on .cirun; until core merges it,
    Cirun's access control (what admin-requests looks at) does not have it, so a rerun of
    the same item asks for the same change again. After the merge, nothing is asked."""
    cirun = with_cirun(fake_cirun)
    cirun.review = True
    loaded = load(CIRUN.replace("send_pr: true", "send_pr: false"))
    run(loaded, svc(gh, cirun, loaded))
    assert cirun.access_yml() == REAL
    assert len(cirun.pending) == 1
    run(loaded, svc(gh, cirun, loaded))
    assert [change["resources"] for _, change in cirun.pending] == [
        ["cirun-openstack-gpu-large", "cirun-openstack-cpu-large"]
    ] * 2
    cirun.merge()
    assert cirun.resources_of("foo-feedstock-policy") == [
        "cirun-openstack-gpu-large",
        "cirun-openstack-cpu-large",
    ]
    [again] = run(loaded, svc(gh, cirun, loaded))
    assert (again.status, again.changed) == (OutcomeStatus.DONE, False)
    assert cirun.pending == []


def test_without_the_cirun_key_the_item_fails_and_says_what_is_missing(
    gh: FakeGitHub, cirun: FakeCirun
) -> None:
    loaded = load(CIRUN)
    [outcome] = run(loaded, services(gh, loaded))  # no Cirun client
    assert outcome.status is OutcomeStatus.FAILED
    assert "'cirun_api_key'" in outcome.detail


def test_cirun_with_conda_smithy_rerenders_instead_of_asking_the_bot(
    gh: FakeGitHub, cirun: FakeCirun
) -> None:
    loaded = load(CIRUN)
    rerenderer = RecordingRerenderer()
    services_ = svc(gh, cirun, loaded)
    services_.rerenderer = rerenderer
    [outcome] = run(loaded, services_)
    [pull] = gh.pulls("foo-feedstock")
    assert rerenderer.calls == [("foo-feedstock", pull.head)]
    assert "(rerendered)" in outcome.detail
    assert "rerendered with conda-smithy" in pull.body
    assert pull.comments == []


def test_cirun_sends_no_pull_request_to_a_feedstock_that_has_the_runners(
    gh: FakeGitHub, cirun: FakeCirun
) -> None:
    gh.repo("foo-feedstock").files["recipe/conda_build_config.yaml"] = (
        b"github_actions_labels:\n- cirun-openstack-gpu-large\n- cirun-openstack-cpu-large\n"
    )
    loaded = load(CIRUN)
    run(loaded, svc(gh, cirun, loaded))
    assert gh.pulls("foo-feedstock") == []


def test_cirun_access_asks_for_the_cirun_key_and_no_write_to_the_cirun_repository(
    gh: FakeGitHub,
) -> None:
    reader = scoped_services(gh, Access())
    sending = load(CIRUN)
    access = sending.kind.access(sending.model, reader)
    assert access.cirun is True
    assert access.github_app_installations is True
    assert access.github_permissions == {"contents": "write", "pull_requests": "write"}
    assert [g.repositories for g in access.github_extra] == [(RECORDS,)]
    quiet = load(CIRUN.replace("send_pr: true", "send_pr: false"))
    assert quiet.kind.access(quiet.model, reader).github_permissions == {"metadata": "read"}
    with_smithy = scoped_services(gh, Access(), conda_smithy="/opt/smithy/bin/conda-smithy")
    assert sending.kind.access(sending.model, with_smithy).github_permissions == {
        "contents": "write",
        "pull_requests": "write",
        "workflows": "write",
    }
