"""The checks FakeGitHub makes on every call against GitHub's description (openapi.py)."""

from __future__ import annotations

import json

import pytest

from admin_requests.services.github import GitHubClient
from tests.fakes import FakeGitHub, openapi
from tests.fakes.wiring import services_for


@pytest.fixture
def description() -> openapi.Description:
    return openapi.Description.load()


def test_paths_match_the_most_literal_template_and_multi_segment_parameters(
    description: openapi.Description,
) -> None:
    secrets = "/repos/o/r/actions/secrets/"
    public_key = description.match("GET", secrets + "public-key")
    assert public_key is not None
    assert public_key.template.endswith("/secrets/public-key")
    named = description.match("GET", secrets + "TOKEN")
    assert named is not None
    assert named.template.endswith("/{secret_name}")
    ref = description.match("PATCH", "/repos/o/r/git/refs/heads/feature/x")
    assert ref is not None
    assert ref.template == "/repos/{owner}/{repo}/git/refs/{ref}"
    assert description.match("GET", "/repos/o/r/issues/1/comments/2") is None
    assert description.match("DELETE", "/repos/o/r/issues/1") is None


def test_request_bodies_need_their_required_fields_and_take_no_others(
    description: openapi.Description,
) -> None:
    label = description.match("PATCH", "/repos/o/r/labels/bug")
    assert label is not None
    assert description.request_problems(label, b'{"new_name": "Bug"}') == (True, [])
    checked, problems = description.request_problems(label, b'{"name": "Bug"}')
    assert checked
    assert problems == ["(body): Additional properties are not allowed ('name' was unexpected)"]
    pulls = description.match("POST", "/repos/o/r/pulls")
    assert pulls is not None
    assert description.request_problems(pulls, b"")[1] == ["the body is required"]
    _, problems = description.request_problems(pulls, b'{"title": "t", "base": "main"}')
    assert problems == ["(body): 'head' is a required property"]


def test_answers_may_leave_fields_out_but_not_mistype_or_invent_them(
    description: openapi.Description,
) -> None:
    ref = description.match("GET", "/repos/o/r/git/ref/heads/main")
    assert ref is not None
    assert description.response_problems(ref, 200, {"ref": "refs/heads/main"}) == (True, [])
    _, problems = description.response_problems(ref, 200, {"ref": 1, "refname": "x"})
    assert problems == [
        "(body): Additional properties are not allowed ('refname' was unexpected)",
        "ref: 1 is not of type 'string'",
    ]
    # Statuses: an undocumented success is wrong; an undocumented error has GitHub's shape.
    assert description.response_problems(ref, 201, {})[1] == [
        "status 201 is not documented for GET /repos/{owner}/{repo}/git/ref/{ref}"
    ]
    assert description.response_problems(ref, 403, {"message": "no"}) == (True, [])
    assert description.response_problems(ref, 403, {"message": 3})[1] == [
        "message: 3 is not of type 'string'"
    ]


def test_query_parameters_must_be_the_operations_own(description: openapi.Description) -> None:
    runs = description.match("GET", "/repos/o/r/actions/workflows/1/runs")
    assert runs is not None
    assert description.query_problems(runs, {"per_page": "5", "status": "success"}) == []
    assert description.query_problems(runs, {"state": "x", "status": "green"}) == [
        "query parameter 'state' is not documented",
        "query parameter status='green' is not one of " + str(runs_status_enum(description, runs)),
    ]


def runs_status_enum(description: openapi.Description, operation: openapi.Operation) -> list[str]:
    parameters = [description._resolve(p) for p in operation.data["parameters"]]
    return next(p["schema"]["enum"] for p in parameters if p["name"] == "status")


@pytest.mark.github_contract_violations("this test makes a call outside the description")
def test_a_call_outside_the_description_is_recorded_against_the_test(
    fake_github: FakeGitHub,
) -> None:
    fake_github.add_token("gh-admin")
    fake_github.add_repo("foo-feedstock")
    client: GitHubClient = services_for(fake_github, None, anaconda_token=None).github
    before = len(openapi.CONTRACT.violations)
    with pytest.raises(Exception, match="404"):
        client._call("x", lambda: client._raw("GET", client._url("foo-feedstock", "/nothing")))
    label = client._url("foo-feedstock", "/labels")
    client._call("x", lambda: client._raw("POST", label, input={"name": "a", "colour": "f"}))
    assert fake_github.contract_violations == openapi.CONTRACT.violations[before:]
    assert [v.split(": ", 1)[1] for v in fake_github.contract_violations] == [
        "no such operation in GitHub's description (github-operations.txt)",
        "request (body): Additional properties are not allowed ('colour' was unexpected)",
    ]
    assert json.dumps(openapi.CONTRACT.snapshot())  # the figures xdist hands on
