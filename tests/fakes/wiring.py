"""Build the real clients against the fakes, with a clock that never really sleeps."""

from __future__ import annotations

import random

from admin_requests.config import Settings
from admin_requests.services import Services
from admin_requests.services.http import Retrier, RetryPolicy

from .anaconda import FakeAnaconda
from .clock import FakeClock
from .github import FakeGitHub

# Short enough that Fault.timeout(1.0) outlasts it; long enough for a loaded machine.
TEST_TIMEOUT = 0.5


def settings_for(
    github: FakeGitHub | None, anaconda: FakeAnaconda | None, **overrides: object
) -> Settings:
    values: dict[str, object] = {
        "organisation": "conda-forge",
        "repository": "conda-forge/admin-requests",
        "github_api_url": github.url if github else "http://127.0.0.1:9",
        "anaconda_api_url": anaconda.url if anaconda else "http://127.0.0.1:9",
        "channel_url": anaconda.url if anaconda else "http://127.0.0.1:9",
        # Never the real Cirun: tests that use it pass a FakeCirun's api_url.
        "cirun_api_url": "http://127.0.0.1:9",
        "http_timeout_seconds": TEST_TIMEOUT,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def retrier_for(clock: FakeClock, policy: RetryPolicy | None = None) -> Retrier:
    return Retrier(
        policy
        or RetryPolicy(
            max_attempts=4,
            base_delay=1.0,
            max_delay=30.0,
            max_total_wait=60.0,
            mutation_spacing=0.0,
            github_points_per_minute=0,
        ),
        sleep=clock.sleep,
        clock=clock.time,
        rng=random.Random(0),
    )


def services_for(
    github: FakeGitHub | None,
    anaconda: FakeAnaconda | None,
    *,
    github_token: str = "gh-admin",
    anaconda_token: str | None = "ac-admin",
    clock: FakeClock | None = None,
    policy: RetryPolicy | None = None,
    **settings: object,
) -> Services:
    """Services against the fakes; the default tokens must be registered by the caller."""
    return Services.build(
        settings_for(github, anaconda, **settings),
        github_token=github_token,
        anaconda_token=anaconda_token,
        retrier=retrier_for(clock or FakeClock(), policy),
    )


def unreachable_services() -> Services:
    """Services for runs whose kinds never call out (scripted kinds in the queue tests).

    Every URL is a closed local port, so a call that was not meant to happen fails at
    once instead of reaching a real service.
    """
    return services_for(None, None, github_token="unused", anaconda_token=None)
