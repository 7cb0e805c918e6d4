"""The fakes' rate limits answer as GitHub documents them (tests/fakes/limits.py).

Each test drives the fake with plain ``requests`` on a FakeClock (the fake's
``time_source``), so a window passes by moving the clock, never by sleeping.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from tests.fakes import FakeAnaconda, FakeGitHub
from tests.fakes.clock import FakeClock
from tests.fakes.limits import SECONDARY_MESSAGE, AnacondaLimits, GitHubLimits

TOKEN = "gh-admin"
AUTH = {"Authorization": f"token {TOKEN}"}
NO_LIMIT = GitHubLimits.generous()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def gh(clock: FakeClock) -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.time_source = clock.time
        fake.add_token(TOKEN)
        fake.add_repo("foo-feedstock", files={"README.md": "hello\n"})
        fake.add_repo("bar-feedstock")
        yield fake


def get(gh: FakeGitHub, path: str = "/repos/conda-forge/foo-feedstock") -> requests.Response:
    return requests.get(gh.url + path, headers=AUTH, timeout=5)


def put_file(gh: FakeGitHub, name: str, repo: str = "foo-feedstock") -> requests.Response:
    body = {"message": f"add {name}", "content": base64.b64encode(b"x\n").decode()}
    url = f"{gh.url}/repos/conda-forge/{repo}/contents/{name}"
    return requests.put(url, json=body, headers=AUTH, timeout=5)


def open_issue(gh: FakeGitHub, title: str) -> requests.Response:
    url = f"{gh.url}/repos/conda-forge/foo-feedstock/issues"
    return requests.post(url, json={"title": title, "body": ""}, headers=AUTH, timeout=5)


def limits(**changes: object) -> GitHubLimits:
    values = {**NO_LIMIT.__dict__, **changes}
    return GitHubLimits(**values)  # type: ignore[arg-type]


def test_every_answer_carries_the_primary_limits_headers(gh: FakeGitHub) -> None:
    gh.enforce_limits(GitHubLimits())
    first, second = get(gh), get(gh)
    assert first.headers["x-ratelimit-limit"] == "5000"
    assert first.headers["x-ratelimit-remaining"] == "4999"
    assert second.headers["x-ratelimit-used"] == "2"
    assert second.headers["x-ratelimit-resource"] == "core"
    assert int(second.headers["x-ratelimit-reset"]) >= int(gh.now()) + 3599


def test_primary_limit_answers_403_with_remaining_0_until_the_reset(
    gh: FakeGitHub, clock: FakeClock
) -> None:
    gh.enforce_limits(limits(requests_per_hour=3))
    assert [get(gh).status_code for _ in range(3)] == [200, 200, 200]
    refused = get(gh)
    assert refused.status_code == 403
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.headers["x-ratelimit-used"] == "3"
    assert "retry-after" not in refused.headers
    assert refused.json()["message"].startswith("API rate limit exceeded for ")
    assert refused.json()["documentation_url"].startswith("https://docs.github.com/")
    reset = int(refused.headers["x-ratelimit-reset"])
    clock.advance(timedelta(seconds=reset - clock.time() - 5))
    assert get(gh).status_code == 403  # not yet
    clock.advance(timedelta(seconds=6))
    answer = get(gh)
    assert answer.status_code == 200
    assert answer.headers["x-ratelimit-remaining"] == "2"


def test_an_installations_tokens_share_its_primary_limit(gh: FakeGitHub) -> None:
    gh.enforce_limits(limits(requests_per_hour=2))
    for token in ("ghs_one", "ghs_two"):
        gh.add_token(token)
        gh.tokens[token].installation_id = 77
    answers = [
        requests.get(
            gh.url + "/repos/conda-forge/foo-feedstock",
            headers={"Authorization": f"token {token}"},
            timeout=5,
        )
        for token in ("ghs_one", "ghs_two", "ghs_one")
    ]
    assert [a.status_code for a in answers] == [200, 200, 403]
    assert answers[2].json()["message"] == "API rate limit exceeded for installation ID 77."
    assert get(gh).status_code == 200  # another token: its own budget


def test_more_than_the_concurrent_limit_is_refused_without_retry_after(gh: FakeGitHub) -> None:
    gh.enforce_limits(limits(concurrent=2))
    gh.faults.latency = 0.5  # keeps each call in flight
    answers: list[requests.Response] = []
    threads = [threading.Thread(target=lambda: answers.append(get(gh))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 200, 403]
    [refused] = [a for a in answers if a.status_code == 403]
    assert refused.json()["message"] == SECONDARY_MESSAGE
    assert "retry-after" not in refused.headers
    assert refused.headers["x-ratelimit-remaining"] != "0"  # a secondary limit
    assert gh.limiter is not None
    assert gh.limiter.refused == {"concurrent": 1}


def test_points_per_endpoint_a_minute_reads_1_and_mutations_5(
    gh: FakeGitHub, clock: FakeClock
) -> None:
    gh.enforce_limits(limits(points_per_minute=10))
    assert [get(gh).status_code for _ in range(10)] == [200] * 10
    refused = get(gh)
    assert refused.status_code == 403
    assert refused.json()["message"] == SECONDARY_MESSAGE
    assert int(refused.headers["retry-after"]) == 60
    # Another endpoint has a budget of its own.
    assert get(gh, "/repos/conda-forge/foo-feedstock/contents/README.md").status_code == 200
    clock.advance(timedelta(seconds=61))
    assert get(gh).status_code == 200
    # Mutations cost 5: two writes fill the minute on their endpoint.
    assert [put_file(gh, f"f{n}").status_code for n in range(3)] == [201, 201, 403]


def test_content_generating_requests_80_a_minute_and_500_an_hour(
    gh: FakeGitHub, clock: FakeClock
) -> None:
    gh.enforce_limits(limits(content_per_minute=2, content_per_hour=3))
    assert [open_issue(gh, f"i{n}").status_code for n in range(2)] == [201, 201]
    refused = open_issue(gh, "i2")
    assert refused.status_code == 403
    assert refused.json()["message"] == SECONDARY_MESSAGE
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert len(gh.issues("foo-feedstock")) == 2  # a refusal changes nothing
    # Reads and writes that create no content are not counted.
    assert get(gh).status_code == 200
    clock.advance(timedelta(seconds=61))
    assert put_file(gh, "f").status_code == 201  # a file write is content too: 3 this hour
    clock.advance(timedelta(seconds=61))
    per_hour = open_issue(gh, "i3")
    assert per_hour.status_code == 403
    assert int(per_hour.headers["retry-after"]) > 3000  # the hour's oldest leaves first


def test_mutations_less_than_a_second_apart_are_refused(gh: FakeGitHub, clock: FakeClock) -> None:
    gh.enforce_limits(limits(mutation_spacing=1.0))
    assert put_file(gh, "a").status_code == 201
    refused = put_file(gh, "b", repo="bar-feedstock")
    assert refused.status_code == 403
    assert refused.headers["retry-after"] == "1"
    assert get(gh).status_code == 200  # reads are not paced
    clock.advance(timedelta(seconds=1))
    assert put_file(gh, "b", repo="bar-feedstock").status_code == 201


def test_a_secondary_limit_may_answer_429(gh: FakeGitHub) -> None:
    gh.enforce_limits(limits(points_per_minute=1, secondary_status=429))
    assert get(gh).status_code == 200
    refused = get(gh)
    assert refused.status_code == 429
    assert refused.json()["message"] == SECONDARY_MESSAGE


def test_limits_are_off_unless_asked_for(gh: FakeGitHub) -> None:
    assert gh.limiter is None
    answers = [put_file(gh, f"f{n}") for n in range(3)]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert "x-ratelimit-limit" not in answers[0].headers


def test_anaconda_models_a_limit_per_minute_answered_429_with_retry_after(
    clock: FakeClock,
) -> None:
    with FakeAnaconda(limits=AnacondaLimits(requests_per_minute=2)) as ac:
        ac.time_source = clock.time
        ac.add_file("conda-forge", "noarch/foo-1.0-pyh0_0.conda")
        url = f"{ac.url}/dist/conda-forge/foo/1.0/noarch/foo-1.0-pyh0_0.conda"
        statuses = [requests.get(url, timeout=5).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        refused = requests.get(url, timeout=5)
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert "error" in refused.json()  # binstar_client's shape
        clock.advance(timedelta(seconds=61))
        assert requests.get(url, timeout=5).status_code == 200
