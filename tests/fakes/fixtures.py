"""pytest fixtures for the fakes; ``tests/conftest.py`` imports them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from . import openapi
from .anaconda import FakeAnaconda
from .cirun import FakeCirun
from .github import FakeGitHub


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    """A started FakeGitHub for the organisation 'conda-forge', no repos or tokens yet."""
    with FakeGitHub(org="conda-forge") as fake:
        yield fake


@pytest.fixture
def fake_anaconda() -> Iterator[FakeAnaconda]:
    """A started FakeAnaconda with no files or tokens yet."""
    with FakeAnaconda() as fake:
        yield fake


@pytest.fixture
def fake_cirun() -> Iterator[FakeCirun]:
    """A started FakeCirun for 'conda-forge': no keys, repositories or access control yet."""
    with FakeCirun(org="conda-forge") as fake:
        yield fake


# -- the GitHub contract (tests/fakes/openapi.py) ---------------------------------------


@pytest.fixture(autouse=True)
def _github_contract(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test during which any FakeGitHub saw a call, or gave an answer, that
    GitHub's published description does not allow (tests/fakes/openapi.py)."""
    before = len(openapi.CONTRACT.violations)
    yield
    found = openapi.CONTRACT.violations[before:]
    if found and request.node.get_closest_marker("github_contract_violations") is None:
        pytest.fail(
            "calls to the fake GitHub that differ from GitHub's OpenAPI description "
            "(tests/data/openapi/): fix the caller or the fake, or add the operation to "
            "github-operations.txt and regenerate:\n  " + "\n  ".join(found[:20]),
            pytrace=False,
        )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "github_contract_violations(reason): the test sends the fake GitHub calls GitHub's "
        "description does not allow on purpose (a test of the fake's own refusals)",
    )


def pytest_sessionfinish(session: pytest.Session) -> None:
    output = getattr(session.config, "workeroutput", None)
    if output is not None:  # a pytest-xdist worker: hand the figures to the controller
        output["github_contract"] = json.dumps(openapi.CONTRACT.snapshot())


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    figures = getattr(node, "workeroutput", {}).get("github_contract")
    if figures:
        _WORKER_FIGURES.append(json.loads(figures))


_WORKER_FIGURES: list[dict[str, Any]] = []


def contract_figures() -> dict[str, Any]:
    """This process's checks plus every xdist worker's."""
    total: dict[str, Any] = {"calls": 0, "bodies": 0, "responses": 0, "operations": {}}
    for figures in [openapi.CONTRACT.snapshot(), *_WORKER_FIGURES]:
        for key in ("calls", "bodies", "responses"):
            total[key] += figures[key]
        for name, count in figures["operations"].items():
            total["operations"][name] = total["operations"].get(name, 0) + count
    return total


def pytest_terminal_summary(terminalreporter: Any) -> None:
    figures = contract_figures()
    if not figures["calls"]:
        return
    listed = len(openapi.operation_list())
    terminalreporter.write_line(
        f"GitHub contract (tests/data/openapi/): {figures['calls']} calls to the fake "
        f"GitHub checked, {len(figures['operations'])} of {listed} listed operations "
        f"called, {figures['bodies']} request bodies and {figures['responses']} answers "
        "validated against GitHub's description"
    )
