"""Facts read from a feedstock (kinds/feedstock_facts.py): which CI providers it builds on,
the outputs its recipe makes, and the CI App installations setting. The token registry's
merge rules are in tests/kinds/token_reset/test_registry.py."""

from __future__ import annotations

import pytest

from admin_requests.config import Settings, parse_installations
from admin_requests.errors import UsageError
from admin_requests.kinds.feedstock_facts import ci_providers, recipe_outputs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, {"azure"}),
        ("bot: {automerge: true}\n", {"azure"}),
        (
            "provider:\n  linux_64: github_actions\n  osx_64: github_actions\n"
            "  win_64: github_actions\n",
            {"github_actions"},
        ),
        ("provider:\n  linux_64: github_actions\n", {"azure", "github_actions"}),
        ("provider:\n  linux_aarch64: [travis, default]\n", {"azure", "travis"}),
        (
            "provider: {linux_64: [circle], osx_64: emulated, win_64: null}\n",
            {"circle", "azure"},
        ),
        ("{not: yaml: at all", {"azure"}),
    ],
)
def test_ci_providers_follow_conda_smithys_defaults(text: str | None, expected: set[str]) -> None:
    assert set(ci_providers(text)) == expected


def test_recipe_outputs_resolve_simple_templates_and_skip_the_rest() -> None:
    meta = (
        '{% set name = "PyFoo" %}\n{% set version = "1.0" %}\n'
        "package:\n  name: {{ name|lower }}\n  version: {{ version }}\n"
        "requirements:\n  host:\n    - name: not-an-output\n"
        "outputs:\n  - name: lib{{ name | lower }}  # the library\n"
        "  - name: {{ unknown }}-x\n  - name: '{{ name|lower }}-tools'\n"
    )
    assert recipe_outputs(meta, None) == ["pyfoo", "libpyfoo", "pyfoo-tools"]
    v1 = (
        "context:\n  name: foo\n  version: '1'\npackage:\n  name: ${{ name }}-split\n"
        "outputs:\n  - package:\n      name: lib${{ name }}\n  - package:\n"
        "      name: ${{ name | upper }}\n"
    )
    assert recipe_outputs(None, v1) == ["foo-split", "libfoo", "foo"]
    assert recipe_outputs(None, None) == []


def test_ci_app_installations_come_from_one_variable() -> None:
    settings = Settings.from_environ({"ADMIN_REQUESTS_CI_APPS": "cirun=18453316, depot=42"})
    assert settings.ci_app_installation("cirun") == 18453316
    assert settings.ci_app_installation("travis") is None
    assert parse_installations("") == ()
    with pytest.raises(UsageError, match="'kind=installation-id'"):
        parse_installations("cirun")
