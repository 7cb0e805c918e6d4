"""What archive_branch's and unarchive_branch's tests start from: foo-feedstock with
two maintenance branches, and the request that archives both."""

from __future__ import annotations

from tests.fakes import FakeGitHub, sha

ARCHIVE = "action: archive_branch\nfeedstocks:\n  foo:\n    - 1.x\n    - 2.x\n"


def branch_github(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_token("gh-admin")
    fake_github.add_repo(
        "foo-feedstock", branches={"main": sha("main"), "1.x": sha("one"), "2.x": sha("two")}
    )
    return fake_github
