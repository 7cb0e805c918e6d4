"""When each request file came and went, read from the branch's git history in one pass.

A request's life on the branch: the commit that added its file (the merge of its pull
request), then the commit that removed it. The queue removes a finished request in a
commit whose subject starts ``Complete requests/x.yml:`` (``QueueRunner._complete``);
any other removal is a withdrawal. A file name may be reused, so one path can have
several lives.

Only the first-parent history counts, with merges compared to their first parent: that
is when a change reached the branch, so a pull request merged with a merge commit is
dated by its merge, not by when its author committed it. Dates are committer dates,
which squash and rebase merges also set to the time of the merge.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from admin_requests.queue.gitops import Git
from admin_requests.validation.checker import REQUEST_SUFFIXES

COMPLETE_PREFIX = "Complete "
RECORD, FIELD = "\x1e", "\x1f"
LOG_FORMAT = "%x1e%H%x1f%ct%x1f%an%x1f%P%x1f%s"


@dataclass(frozen=True)
class Commit:
    sha: str
    at: datetime
    author: str
    parents: tuple[str, ...]
    subject: str

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1


@dataclass
class Lifetime:
    """One life of a request file on the branch."""

    path: str
    added: Commit
    removed: Commit | None = None

    @property
    def completed(self) -> bool:
        """Removed by the queue because every item was done (not withdrawn)."""
        return self.removed is not None and self.removed.subject.startswith(
            f"{COMPLETE_PREFIX}{self.path}:"
        )

    @property
    def kind(self) -> str | None:
        """The action named in the queue's commit: 'Complete requests/x.yml: archive, ...'."""
        if not self.completed or self.removed is None:
            return None
        rest = self.removed.subject[len(COMPLETE_PREFIX) + len(self.path) + 1 :].strip()
        kind = rest.split(",", 1)[0].strip()
        return kind or None


@dataclass
class History:
    lifetimes: list[Lifetime] = field(default_factory=list)
    commits: int = 0  # commits that touched the queue folder
    shallow: bool = False  # a shallow clone: early lives are missing

    def current(self) -> dict[str, Lifetime]:
        """The open life of every request file still on the branch, by path."""
        return {life.path: life for life in self.lifetimes if life.removed is None}

    def completed(self) -> list[Lifetime]:
        """Completed lives, most recently completed first."""
        done = [life for life in self.lifetimes if life.completed]
        return sorted(done, key=lambda life: life.removed.at if life.removed else life.added.at)[
            ::-1
        ]


def is_request_path(path: str, queue_dir: str) -> bool:
    folder, _, name = path.rpartition("/")
    return folder == queue_dir and name.endswith(REQUEST_SUFFIXES)


def _records(output: str) -> Iterator[tuple[Commit, list[tuple[str, str]]]]:
    for record in output.split(RECORD):
        if not record.strip():
            continue
        header, _, changes = record.partition("\0")
        sha, stamp, author, parents, subject = header.split(FIELD, 4)
        commit = Commit(
            sha,
            datetime.fromtimestamp(int(stamp), UTC),
            author,
            tuple(parents.split()),
            subject,
        )
        fields = changes.lstrip("\n").split("\0")
        pairs = [(fields[i], fields[i + 1]) for i in range(0, len(fields) - 1, 2)]
        yield commit, pairs


def read_history(git: Git, queue_dir: str = "requests", rev: str = "HEAD") -> History:
    """Every life of every request file on ``rev``'s first-parent history."""
    history = History()
    shallow = git.run("rev-parse", "--is-shallow-repository", check=False).stdout.strip()
    history.shallow = shallow == "true"
    output = git.run(
        "log",
        "--first-parent",
        "-m",
        "--no-renames",
        "--name-status",
        "-z",
        "--reverse",
        f"--format={LOG_FORMAT}",
        rev,
        "--",
        f"{queue_dir}/",
    ).stdout
    open_lives: dict[str, Lifetime] = {}
    for commit, changes in _records(output):
        history.commits += 1
        for status, path in changes:
            if not is_request_path(path, queue_dir):
                continue
            if status.startswith("A"):
                life = Lifetime(path, commit)
                open_lives[path] = life
                history.lifetimes.append(life)
            elif status.startswith("D") and path in open_lives:
                open_lives.pop(path).removed = commit
    return history
