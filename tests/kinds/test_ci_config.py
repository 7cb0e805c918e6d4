"""Round-trip edits of the files the CI-resource kinds keep in step (kinds/ci_config.py):
through a kind, then each edit on bytes."""

from __future__ import annotations

import pytest

from admin_requests.errors import PermanentError
from admin_requests.kinds.ci_config import (
    edit_access_control,
    enable_self_hosted,
    runner_labels,
    set_runner_labels,
)
from tests.fakes import FakeGitHub
from tests.kinds.ci_resources_world import (
    ACCESS_CONTROL,
    CBC,
    CONDA_FORGE_YML,
    records,
    services,
    with_ci_repositories,
)
from tests.kinds.helpers import load, run


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:
    return with_ci_repositories(fake_github)


def test_the_records_keep_comments_order_and_hand_written_names(gh: FakeGitHub) -> None:
    loaded = load("action: travis\nfeedstocks: [example, foo]\n")
    gh.add_repo("example-feedstock")
    run(loaded, services(gh, loaded))
    assert records(gh) == ACCESS_CONTROL.replace(
        "    - feedstock: example   # added by hand in 2023\n",
        "    - feedstock: example   # added by hand in 2023\n    - feedstock: foo-feedstock\n",
    )


# -- the edits themselves, on bytes --------------------------------------------------------


def test_a_new_records_file_starts_with_its_header_and_an_entry_is_added_once() -> None:
    first = edit_access_control(None, resource="depot", feedstock="foo-feedstock", grant=True)
    assert first is not None
    text = first.decode()
    assert text.startswith("# This file is kept by admin-requests")
    assert "version: 1\n" in text
    assert text.endswith("access_control:\n  depot:\n    - feedstock: foo-feedstock\n")
    assert (
        edit_access_control(first, resource="depot", feedstock="foo-feedstock", grant=True) is None
    )
    by_hand = b"version: 1\naccess_control:\n  depot:\n    - feedstock: foo\n"
    assert (
        edit_access_control(by_hand, resource="depot", feedstock="foo-feedstock", grant=True)
        is None
    )
    removed = edit_access_control(first, resource="depot", feedstock="foo-feedstock", grant=False)
    assert removed is not None
    assert "foo-feedstock" not in removed.decode()


def test_a_records_file_that_is_not_yaml_or_not_a_mapping_is_left_for_a_person() -> None:
    with pytest.raises(PermanentError, match=r"'.access_control.yml' is not valid YAML"):
        edit_access_control(b"a: [b\n", resource="depot", feedstock="foo", grant=True)
    with pytest.raises(PermanentError, match=r"\.access_control\.yml"):
        edit_access_control(b"- a list\n", resource="depot", feedstock="foo", grant=True)


def test_the_feedstock_edits_report_nothing_to_do_when_already_done() -> None:
    enabled = enable_self_hosted(CONDA_FORGE_YML.encode(), pull_request=False)
    assert enabled is not None
    assert "self_hosted: true" in enabled.decode()
    assert "# feedstock settings" in enabled.decode()
    assert enable_self_hosted(enabled, pull_request=False) is None
    labels = ["cirun-openstack-gpu-large"]
    labelled = set_runner_labels(CBC.encode(), resources=labels)
    assert labelled is not None
    assert runner_labels(labelled) == labels
    assert set_runner_labels(labelled, resources=labels) is None
    assert runner_labels(None) == []
