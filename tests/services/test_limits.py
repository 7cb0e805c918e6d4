"""The client waits rate limits out (services/http.py), as GitHub's rate-limit page says.

Against the fakes with their limits on (tests/fakes/limits.py), on one FakeClock: the
fake's windows pass when the client sleeps on it, so nothing really waits.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests

from admin_requests.credentials.http import send
from admin_requests.errors import CredentialError, TransientError
from admin_requests.services import Services
from admin_requests.services.http import HttpClient, Pacer, RetryPolicy
from tests.fakes import FakeAnaconda, FakeGitHub, Fault
from tests.fakes.clock import FakeClock
from tests.fakes.limits import AnacondaLimits, GitHubLimits
from tests.fakes.wiring import TEST_TIMEOUT, retrier_for, services_for

REPO = "foo-feedstock"
SECONDARY_403 = Fault(
    "status",
    status=403,
    body=b'{"message": "You have exceeded a secondary rate limit. Please wait a few minutes '
    b'before you try again.", "documentation_url": "https://docs.github.com/rest"}',
)
# The project's own policy, as production builds it (wiring's test default paces nothing),
# without the pacing of reads under GitHub's points (its own test), so waits are exact.
POLICY = RetryPolicy(github_points_per_minute=0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def gh(clock: FakeClock) -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.time_source = clock.time
        fake.add_token("gh-admin")
        fake.add_repo(REPO, files={"README.md": "hello\n"})
        yield fake


def services(gh: FakeGitHub, clock: FakeClock, policy: RetryPolicy = POLICY) -> Services:
    return services_for(gh, None, anaconda_token=None, clock=clock, policy=policy)


def test_a_secondary_limit_without_headers_waits_a_minute_then_doubles(
    gh: FakeGitHub, clock: FakeClock
) -> None:
    gh.faults.on_call(1, 2, 3, fault=SECONDARY_403, path="/repos/")
    assert services(gh, clock).github.repository(REPO).archived is False
    assert clock.sleeps == [60.0, 120.0, 240.0]
    assert gh.count("GET") == 4


def test_a_403_that_is_no_rate_limit_is_still_refused_at_once(
    gh: FakeGitHub, clock: FakeClock
) -> None:
    gh.faults.on_call(1, fault=Fault("status", status=403), path="/repos/")
    with pytest.raises(Exception, match="access denied"):
        services(gh, clock).github.repository(REPO)
    assert clock.sleeps == []


def test_retry_after_longer_than_a_backoff_is_waited_out(gh: FakeGitHub, clock: FakeClock) -> None:
    gh.faults.on_call(1, fault=Fault.secondary_rate_limit("120"), path="/repos/")
    assert services(gh, clock).github.repository(REPO).full_name == f"conda-forge/{REPO}"
    assert clock.sleeps == [120.0]


def test_primary_exhaustion_waits_until_the_reset(gh: FakeGitHub, clock: FakeClock) -> None:
    gh.enforce_limits(GitHubLimits(requests_per_hour=2, mutation_spacing=0.0))
    github = services(gh, clock).github
    github.repository(REPO)
    github.repository(REPO)
    clock.advance(timedelta(seconds=3000))  # the window resets in 600 s
    started = clock.time()
    assert github.repository(REPO).archived is False  # refused, waited, answered
    [wait] = clock.sleeps
    assert 600 <= wait <= 602  # until x-ratelimit-reset, and a second for its rounding
    assert clock.time() - started == wait
    assert gh.limiter is not None
    assert gh.limiter.refused == {"primary": 1}


def test_after_a_primary_refusal_other_calls_wait_for_the_reset_unsent(
    gh: FakeGitHub, clock: FakeClock
) -> None:
    reset = int(clock.time()) + 300
    gh.faults.on_call(1, fault=Fault.primary_rate_limit(reset), path="/repos/")
    github = services(gh, clock).github
    github.repository(REPO)
    # A call made while the limit is spent (another thread) waits for the same reset
    # before it is sent, instead of asking again and being refused.
    clock.advance(timedelta(seconds=-200))  # as if it started 200 s before the reset
    assert github.get_file(REPO, "README.md") is not None
    assert gh.count("GET", r"/contents/") == 1
    assert clock.sleeps[0] == pytest.approx(301.0, abs=1.0)
    assert clock.sleeps[1] == pytest.approx(200.0, abs=1.0)


def test_rate_limit_waits_are_capped_then_transient(gh: FakeGitHub, clock: FakeClock) -> None:
    gh.faults.at_rate(1.0, Fault.secondary_rate_limit("60"), path="/repos/")
    with pytest.raises(TransientError, match="after 8 waits"):
        services(gh, clock).github.repository(REPO)
    assert clock.sleeps == [60.0] * 8


def test_rate_limit_waits_are_capped_in_seconds(gh: FakeGitHub, clock: FakeClock) -> None:
    gh.faults.at_rate(1.0, Fault.secondary_rate_limit("300"), path="/repos/")
    with pytest.raises(TransientError, match="longer than one call waits"):
        services(gh, clock).github.repository(REPO)
    assert clock.sleeps == [300.0, 300.0, 300.0]  # a fourth would pass 900 s


def test_a_reset_beyond_the_cap_is_transient_at_once(gh: FakeGitHub, clock: FakeClock) -> None:
    reset = int(clock.time()) + 3000
    gh.faults.on_call(1, fault=Fault.primary_rate_limit(reset), path="/repos/")
    with pytest.raises(TransientError, match="later run"):
        services(gh, clock).github.repository(REPO)
    assert clock.sleeps == []


def test_a_rate_limited_issue_is_retried_not_taken_for_uncertain(
    gh: FakeGitHub, clock: FakeClock
) -> None:
    # A refusal by a rate limit did nothing: even a call that is not repeatable is sent again.
    gh.faults.on_call(1, fault=SECONDARY_403, path="/issues$")
    services(gh, clock).github.create_issue(REPO, "title", "body")
    assert len(gh.issues(REPO)) == 1
    assert clock.sleeps == [60.0]


def test_mutations_are_paced_a_second_apart_and_meet_no_limit(
    gh: FakeGitHub, clock: FakeClock
) -> None:
    gh.enforce_limits(GitHubLimits())
    github = services(gh, clock).github
    for n in range(5):
        github.put_file(REPO, f"f{n}.txt", b"x\n", f"add f{n}", None)
        github.get_file(REPO, f"f{n}.txt")  # reads are not paced
    assert gh.limiter is not None
    assert gh.limiter.refused == {}
    assert sum(clock.sleeps) == pytest.approx(4.0, abs=0.1)  # four gaps of a second
    assert github.retrier.pacer.waited == pytest.approx(4.0, abs=0.1)


def test_without_pacing_the_limited_fake_refuses_and_the_client_waits(
    gh: FakeGitHub, clock: FakeClock
) -> None:
    gh.enforce_limits(GitHubLimits())
    unpaced = RetryPolicy(mutation_spacing=0.0, github_points_per_minute=0)
    github = services(gh, clock, unpaced).github
    for n in range(3):
        github.put_file(REPO, f"f{n}.txt", b"x\n", f"add f{n}", None)
    assert gh.limiter is not None
    assert gh.limiter.refused == {"mutation spacing": 2}
    assert clock.sleeps == [1.0, 1.0]  # the fake's retry-after
    assert sorted(gh.repo(REPO).files) == ["README.md", "f0.txt", "f1.txt", "f2.txt"]


def test_a_burst_past_an_endpoints_points_is_waited_out(gh: FakeGitHub, clock: FakeClock) -> None:
    gh.enforce_limits(GitHubLimits(points_per_minute=20))
    github = services(gh, clock).github  # reads not paced: the fake's limit is met
    for _ in range(45):
        github.repository(REPO)
    assert gh.limiter is not None
    assert gh.limiter.refused == {"endpoint points": 2}
    assert clock.sleeps == [60.0, 60.0]


def test_mutations_take_turns_a_second_after_the_last_answer(clock: FakeClock) -> None:
    pacer = Pacer(1.0, sleep=clock.sleep, clock=clock.time)
    inside: list[int] = []
    most = [0]

    def mutate() -> None:
        with pacer.turn():
            inside.append(1)
            most[0] = max(most[0], len(inside))
            clock.advance(timedelta(seconds=0.25))  # the call's round trip
            inside.pop()

    threads = [threading.Thread(target=mutate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1  # one mutation at a time
    assert clock.sleeps == [1.0, 1.0, 1.0]  # each a second after the previous answer


def test_the_pacer_queues_threads_one_slot_each(clock: FakeClock) -> None:
    pacer = Pacer(1.0, sleep=clock.sleep, clock=clock.time)
    for _ in range(3):
        pacer.take_slot()
    assert clock.sleeps == [1.0, 1.0]
    clock.advance(timedelta(seconds=5))
    pacer.take_slot()  # long after the last: no wait
    assert clock.sleeps == [1.0, 1.0]


def test_anacondas_429_is_waited_out(clock: FakeClock) -> None:
    with FakeAnaconda(limits=AnacondaLimits(requests_per_minute=3)) as ac:
        ac.time_source = clock.time
        ac.add_file("conda-forge", "noarch/foo-1.0-pyh0_0.conda")
        client = HttpClient(ac.url, timeout=TEST_TIMEOUT, retrier=retrier_for(clock, POLICY))
        path = "/dist/conda-forge/foo/1.0/noarch/foo-1.0-pyh0_0.conda"
        for _ in range(7):
            assert client.json("GET", path)["basename"] == "noarch/foo-1.0-pyh0_0.conda"
    assert ac.limiter is not None
    assert ac.limiter.refused == 2
    assert clock.sleeps == [60.0, 60.0]


def test_a_mint_refused_by_a_rate_limit_is_retried(clock: FakeClock) -> None:
    """credentials/http.py: a refusal created no token, so the mint is sent again."""
    with FakeGitHub() as gh:
        gh.time_source = clock.time
        gh.faults.on_call(1, fault=SECONDARY_403)
        response = send(
            requests.Session(),
            "GET",
            f"{gh.url}/app/installations",
            error=CredentialError,
            timeout=TEST_TIMEOUT,
            retrier=retrier_for(clock, POLICY),
            creates_credential=True,
        )
    assert response.status_code == 401  # the second call reached the fake (no JWT here)
    assert clock.sleeps == [60.0]


def test_anaconda_calls_are_paced_under_the_modelled_limit(clock: FakeClock) -> None:
    with FakeAnaconda(limits=AnacondaLimits(requests_per_minute=60)) as ac:
        ac.time_source = clock.time
        ac.add_file("conda-forge", "noarch/foo-1.0-pyh0_0.conda")
        ac.add_token("ac-admin", scopes=["api:read"])
        policy = RetryPolicy(anaconda_requests_per_minute=60)
        anaconda = services_for(None, ac, clock=clock, policy=policy).anaconda
        for _ in range(70):
            assert anaconda.distribution("conda-forge", "foo", "1.0", "noarch/foo-1.0-pyh0_0.conda")
    assert ac.limiter is not None
    assert ac.limiter.refused == 0
    assert sum(clock.sleeps) == pytest.approx(69.0, abs=0.1)  # a second apart


def test_githubs_spent_primary_limit_does_not_hold_anaconda_calls(
    gh: FakeGitHub, clock: FakeClock
) -> None:
    with FakeAnaconda() as ac:
        ac.add_file("conda-forge", "noarch/foo-1.0-pyh0_0.conda")
        ac.add_token("ac-admin", scopes=["api:read"])
        both = services_for(gh, ac, clock=clock, policy=POLICY)
        reset = int(clock.time()) + 300
        gh.faults.on_call(1, fault=Fault.primary_rate_limit(reset), path="/repos/")
        both.github.repository(REPO)  # waits for GitHub's reset
        clock.advance(timedelta(seconds=-200))
        waits = len(clock.sleeps)
        assert both.anaconda.distribution(
            "conda-forge", "foo", "1.0", "noarch/foo-1.0-pyh0_0.conda"
        )
        assert all(wait < 1 for wait in clock.sleeps[waits:])  # pacing only, no reset wait


def test_reads_are_paced_under_githubs_points_a_minute(gh: FakeGitHub, clock: FakeClock) -> None:
    gh.enforce_limits(GitHubLimits())
    github = services(gh, clock, RetryPolicy()).github  # production pacing
    started = clock.time()
    for _ in range(950):  # more than 900 points on one endpoint, one after the other
        github.repository(REPO)
    assert gh.limiter is not None
    assert gh.limiter.refused == {}
    assert clock.time() - started == pytest.approx(949 * 60 / 880, rel=0.01)
