"""The generated request reference: complete, and impossible to build when it would drift."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, ClassVar

import pytest
from ruamel.yaml import YAML

from admin_requests.config import Settings
from admin_requests.kinds import REGISTRY
from admin_requests.kinds.archive import ArchiveKind, FeedstocksRequest
from admin_requests.kinds.contract import RequestModel
from admin_requests.kinds.folders import KINDS_DIR, REFERENCE, shown
from admin_requests.kinds.reference import (
    describe_type,
    render_app_permissions,
    render_reference,
)
from admin_requests.kinds.reference_notes import SHARED_NOTES
from admin_requests.validation.fields import Text
from tests.kinds.notes_support import ROOT, notes_copy, problems_of


def test_every_kind_key_and_example_is_in_the_reference() -> None:
    text = render_reference(ROOT)
    for action, kind in REGISTRY.items():
        assert f"## `{action}`" in text
        section = text.split(f"## `{action}`", 1)[1].split("\n## ", 1)[0]
        for key in (*kind.required_keys, *kind.optional_keys):
            assert f"| `{key}` |" in section, (action, key)
        example = (ROOT / "docs" / "examples" / f"{action}.yml").read_text()
        assert example.strip() in section
        assert "**GitHub**" in section
        assert "**anaconda.org**" in section
        assert f"requests/{action}-wrong.yml:" in section  # the checker's real output


def test_generated_facts_come_from_the_code() -> None:
    text = render_reference(ROOT)
    archive = text.split("## `archive`", 1)[1].split("\n## ", 1)[0]
    assert "`python-wget-feedstock`, `coreapi-feedstock` with `administration: write`" in archive
    assert "[archive:python-wget] archive the repository python-wget-feedstock" in archive
    cirun = text.split("## `cirun`", 1)[1].split("\n## ", 1)[0]
    assert "| `send_pr` | optional | `true` or `false` | `true` |" in cirun
    # The extra grants and credentials come from access().
    assert "**CI providers' GitHub Apps**" in cirun
    token_reset = text.split("## `token_reset`", 1)[1].split("\n## ", 1)[0]
    assert "3 installation tokens" in token_reset
    assert "`feedstock-tokens` with `contents: write`" in token_reset
    assert "**Azure DevOps**" in token_reset


def test_a_key_without_a_description_fails(tmp_path: Path) -> None:
    path = notes_copy(tmp_path, lambda d: d["kinds"]["token_reset"]["fields"].pop("skip_providers"))
    found = problems_of(notes_dir=path)
    assert found == [
        "token_reset: key 'skip_providers' has no description; add "
        f"'fields.skip_providers' to {shown(path / 'token_reset' / REFERENCE)}"
    ]


@dataclasses.dataclass(frozen=True)
class WiderRequest(FeedstocksRequest):
    reason: str = ""


class WiderArchiveKind(ArchiveKind):
    model_type: ClassVar[type[RequestModel]] = WiderRequest
    optional_keys: ClassVar[tuple[str, ...]] = ("reason",)


def test_a_field_added_to_a_model_and_a_kind_without_docs_fails() -> None:
    registry = {**REGISTRY, "archive": WiderArchiveKind("archive", "Archive.", archived=True)}
    found = problems_of(registry=registry)
    assert "archive: key 'reason' has no description; add 'fields.reason' to " in "\n".join(found)


def test_a_model_field_no_kind_accepts_fails() -> None:
    registry = {**REGISTRY, "archive": WiderArchiveKind("archive", "Archive.", archived=True)}
    WiderArchiveKind.optional_keys = ()
    try:
        found = problems_of(registry=registry)
    finally:
        WiderArchiveKind.optional_keys = ("reason",)
    assert any(p.startswith("WiderRequest.reason is a model field but no kind") for p in found)


def test_a_description_of_a_key_that_does_not_exist_fails(tmp_path: Path) -> None:
    path = notes_copy(tmp_path, lambda d: d["kinds"]["archive"]["fields"].update(reason="why"))
    (found,) = problems_of(notes_dir=path)
    assert "archive: " in found
    assert "describes 'reason', which is not a key" in found


def test_an_invalid_example_that_the_checker_accepts_fails(tmp_path: Path) -> None:
    valid = (ROOT / "docs" / "examples" / "depot.yml").read_text()
    path = notes_copy(tmp_path, lambda d: d["kinds"]["depot"].update(invalid_example=valid))
    (found,) = problems_of(notes_dir=path)
    assert "invalid_example" in found
    assert "passes the checker" in found


def test_a_kind_without_notes_and_notes_without_a_kind_fail(tmp_path: Path) -> None:
    def rename(data: Any) -> None:
        data["kinds"]["depots"] = data["kinds"].pop("depot")

    found = problems_of(notes_dir=notes_copy(tmp_path, rename))
    assert f"depot: no {shown(tmp_path / 'depot' / REFERENCE)}; every kind needs one " in (
        "\n".join(found)
    )
    assert any("notes for 'depots', which is not a registered kind" in p for p in found)


def test_types_are_described_in_yaml_words() -> None:
    assert describe_type(tuple[Text, ...]) == "list of texts"
    assert describe_type(int | None) == "whole number or `null`"
    assert describe_type(tuple[tuple[Text, tuple[Text, ...]], ...]) == (
        "mapping from text to list of texts"
    )
    with pytest.raises(ValueError, match="no description for the type"):
        describe_type(float)


def section(text: str, action: str) -> str:
    return text.split(f"## `{action}`", 1)[1].split("\n## ", 1)[0]


def test_a_shared_note_has_one_source_and_reads_the_same_in_each_kind() -> None:
    shared = YAML(typ="safe").load((KINDS_DIR / SHARED_NOTES).read_text())
    text = render_reference(ROOT)
    packages = " ".join(shared["packages"].split())
    assert f"| {packages} |" in section(text, "broken")
    assert f"| {packages} |" in section(text, "not_broken")
    steps = [" ".join(step.split()) for step in shared["ci-grant-steps"]]
    for action in ("travis", "blacksmith", "namespace", "depot", "cirrus_runners"):
        assert all(f". {step}" in section(text, action) for step in steps), action
    # Written once: no kind's reference.yml repeats a shared text.
    for path in KINDS_DIR.glob(f"*/{REFERENCE}"):
        assert "Feedstock names without the `-feedstock` suffix" not in path.read_text(), path


def test_the_app_permissions_include_contents_write_for_the_runs_pushes() -> None:
    # The App pushes processing's results to this repository (the ruleset's only bypass
    # actor), so an App set up from this list must be able to: contents: write, even
    # with no kind registered that asks for it.
    table = render_app_permissions(
        ROOT, registry={}, settings=Settings(repository="acme/admin-requests")
    )
    assert (
        "| Contents | write | the processing run's pushes (on acme/admin-requests only) |"
        in table.splitlines()
    )
