"""token_reset through the queue runner: partial success is written back, and the
requester's issue explains the usual confusion (an output not registered)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

from admin_requests.access import Access
from admin_requests.config import Settings
from admin_requests.queue.notify import GitHubIssueTracker
from admin_requests.queue.report import Disposition
from admin_requests.services import GitHubClient, Services
from tests.fakes import FakeGitHub
from tests.fakes.clock import FakeClock
from tests.kinds.scoped import scoped_services
from tests.queue.support import Repo, make_runner

HOME = "admin-requests"


def test_a_failed_feedstock_is_kept_and_its_issue_points_at_add_feedstock_output(
    fake_github: FakeGitHub, repo: Repo, clock: FakeClock
) -> None:
    gh = fake_github
    gh.add_repo(HOME)
    gh.add_repo(
        "foo-feedstock",
        files={
            # foo builds on travis too: admin-requests cannot reset it there.
            "conda-forge.yml": "provider:\n  linux_aarch64: travis\n",
            "recipe/recipe.yaml": "context:\n  name: foo\npackage:\n  name: ${{ name }}\n"
            "outputs:\n  - package:\n      name: lib${{ name }}\n",
        },
    )
    gh.add_repo(
        "bar-feedstock",
        files={
            "conda-forge.yml": "provider:\n  linux_64: github_actions\n"
            "  osx_64: github_actions\n  win_64: github_actions\n"
        },
    )
    gh.add_repo("feedstock-tokens")
    gh.add_repo(
        "feedstock-outputs",
        files={
            "config.json": json.dumps(
                {"outputs_path": "outputs", "shard_level": 3, "shard_fill": "z"}
            ),
            "outputs/f/o/o/foo.json": json.dumps({"feedstocks": ["foo"]}),
            "outputs/l/i/b/libfoo.json": json.dumps({"feedstocks": ["libfoo-legacy"]}),
        },
    )
    settings = Settings(github_api_url=gh.url, repository=f"conda-forge/{HOME}")
    job = gh.add_token(
        "job", repositories=[HOME], permissions={"issues": "write", "pull_requests": "read"}
    )
    tracker = GitHubIssueTracker(GitHubClient.build(settings, job), settings.repository)

    @contextmanager
    def scoped(access: Access, label: str) -> Iterator[Services]:
        yield scoped_services(gh, access)

    added = repo.add_request(
        "reset.yml", "action: token_reset\nfeedstocks:\n  - foo\n  - bar   # ours\n"
    )
    gh.add_commit_pull(HOME, added, 7, user="maintainer-gh")

    shared = Services.build(settings, github_token=job, anaconda_token=None)
    report = make_runner(repo, clock, tracker, services=shared, services_for=scoped).run()

    assert report.results[0].disposition is Disposition.PARKED
    assert repo.read("requests/reset.yml") == "action: token_reset\nfeedstocks:\n  - foo\n"
    assert "FEEDSTOCK_TOKEN" in gh.repo("bar-feedstock").secrets
    assert "FEEDSTOCK_TOKEN" not in gh.repo("foo-feedstock").secrets
    [issue] = gh.issues(HOME)
    assert "@maintainer-gh" in issue.body
    assert "builds on travis" in issue.body
    text = issue.body.replace("\\", "")  # markdown escapes
    assert "'libfoo' (registered to libfoo-legacy-feedstock)" in text
    assert "action: add_feedstock_output, feedstock_to_output_mapping: {foo: [libfoo]}" in text
