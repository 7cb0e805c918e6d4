"""The steps' own rules, without a run: when a ruleset holds, which rendering is the
staged recipe's, and which output may be claimed (the runs are in test_engine.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from admin_requests.creation.steps import (
    RULESET,
    _claim_if_free,
    _differences,
    marker,
    ruleset_holds,
)


def test_conda_smithys_ruleset_holds() -> None:
    assert ruleset_holds({**RULESET, "id": 1})


@pytest.mark.parametrize(
    "change",
    [
        {"enforcement": "disabled"},
        {"enforcement": "evaluate"},
        {"target": "tag"},
        {"rules": [{"type": "deletion"}]},
        {"conditions": {"ref_name": {"include": ["refs/heads/other"], "exclude": []}}},
    ],
)
def test_a_weakened_ruleset_does_not_hold(change: dict[str, Any]) -> None:
    assert not ruleset_holds({**RULESET, **change})


def test_a_ruleset_with_more_rules_still_holds() -> None:
    rules = [*RULESET["rules"], {"type": "required_signatures"}]  # type: ignore[misc]
    assert ruleset_holds({**RULESET, "rules": rules})


def test_the_rendered_recipe_must_hold_every_staged_file_unchanged(tmp_path: Path) -> None:
    staged, rendered = tmp_path / "staged", tmp_path / "rendered"
    for folder in (staged, rendered):
        folder.mkdir()
        (folder / "meta.yaml").write_text("package: {name: foo}\n")
    (staged / "build.sh").write_text("make\n")
    (rendered / "conda_build_config.yaml").write_text("# conda-smithy's own\n")

    assert _differences(staged, rendered) == ["build.sh missing"]
    (rendered / "build.sh").write_text("make && curl evil\n")
    assert _differences(staged, rendered) == ["build.sh changed"]
    (rendered / "build.sh").write_text("make\n")
    assert _differences(staged, rendered) == []
    assert _differences(staged, tmp_path / "nowhere") == ["recipe/ is missing"]


def test_an_output_is_claimed_only_when_nobody_has_it() -> None:
    fresh = _claim_if_free(None, feedstock="foo", path="outputs/f/o/o/foo.json")
    assert fresh is not None
    assert json.loads(fresh) == {"feedstocks": ["foo"]}
    owned = json.dumps({"feedstocks": ["other"]}).encode()
    assert _claim_if_free(owned, feedstock="foo", path="outputs/f/o/o/foo.json") is None


def test_the_marker_names_the_recipe_and_its_version() -> None:
    assert marker("foo", "abc") != marker("foo", "abd")
    assert marker("foo", "abc") != marker("foo2", "abc")
