"""Test doubles for the queue runner: a scripted request kind, an in-memory issue
tracker, a controllable clock and a throwaway git repository."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from ruamel.yaml.nodes import Node

from admin_requests.access import Access
from admin_requests.kinds import REGISTRY
from admin_requests.kinds.contract import Item, Outcome, RequestKind, RequestModel, feedstock_list
from admin_requests.kinds.layout import EntryLayout, ListEntries
from admin_requests.queue.gitops import Git, Identity
from admin_requests.queue.notify import TrackedIssue
from admin_requests.queue.runner import QueueConfig, QueueRunner, ServicesFactory
from admin_requests.queue.state import RetryPolicy
from admin_requests.validation.fields import Decoder, Text
from admin_requests.validation.problems import Problem

START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
BOT = Identity("test-bot", "bot@example.invalid")


class FakeClock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass(frozen=True)
class ThingsRequest(RequestModel):
    things: tuple[Text, ...]


@dataclass(frozen=True)
class ThingParams:
    thing: str


Scripted = Outcome | BaseException


class ScriptedKind(RequestKind[ThingsRequest, ThingParams]):
    """Items are the entries of 'things'; execute plays back scripted outcomes.

    ``script[thing]`` is consumed first to last; once empty, the item is done.
    """

    required_keys: ClassVar[tuple[str, ...]] = ("things",)
    item_entries: ClassVar[EntryLayout | None] = ListEntries("things")

    def __init__(self, action: str = "fake") -> None:
        super().__init__(action, "a scripted kind for tests")
        self.script: dict[str, list[Scripted]] = {}
        self.calls: list[str] = []
        self.after_runs: list[list[str]] = []
        self.after_run_services: list[Any] = []
        self.access_asked: list[Any] = []

    def build(self, fields: dict[str, Node], decoder: Decoder) -> ThingsRequest | None:
        things = feedstock_list(decoder, fields["things"], "things") if "things" in fields else None
        return ThingsRequest(decoder.path, self.action, tuple(things)) if things else None

    def validate(self, model: ThingsRequest) -> list[Problem]:
        return []

    def plan(self, model: ThingsRequest) -> list[Item[ThingParams]]:
        return [
            Item(f"{self.action}:{t}", self.action, str(t), f"do {t}", ThingParams(str(t)))
            for t in model.things
        ]

    def access(self, model: ThingsRequest, services: Any) -> Access:
        self.access_asked.append(model.things)
        return Access(github_repositories=tuple(f"{t}-feedstock" for t in model.things))

    def execute(self, item: Item[ThingParams], services: Any) -> Outcome:
        self.calls.append(item.target)
        queue = self.script.get(item.target, [])
        if queue:
            step = queue.pop(0)
            if isinstance(step, BaseException):
                raise step
            return step
        return Outcome.done(f"did {item.target}")

    def follow_up_access(self, done: list[Item[ThingParams]], services: Any) -> Access:
        return Access(github_repositories=("follow-up-repo",), github_permissions={"x": "write"})

    def after_run(self, done: list[Item[ThingParams]], services: Any) -> None:
        self.after_runs.append([item.target for item in done])
        self.after_run_services.append(services)

    def always(self, thing: str, outcome: Scripted, times: int = 100) -> None:
        self.script[thing] = [outcome] * times


@dataclass
class FakeIssue:
    number: int
    title: str
    body: str
    labels: list[str]
    state: str = "open"
    comments: list[str] = field(default_factory=list)


class MemoryTracker:
    """An in-memory IssueTracker, for tests that do not need HTTP."""

    def __init__(self) -> None:
        self.issues: dict[int, FakeIssue] = {}
        self.pulls: dict[str, list[str]] = {}
        self.fail = False

    def _check(self) -> None:
        if self.fail:
            raise ConnectionError("the tracker is down")

    def open_issues_with_label(self, label: str) -> Sequence[TrackedIssue]:
        self._check()
        return [
            TrackedIssue(i.number, i.title, i.body)
            for i in self.issues.values()
            if i.state == "open" and label in i.labels
        ]

    def create_issue(self, title: str, body: str, labels: Sequence[str]) -> int:
        self._check()
        number = len(self.issues) + 1
        self.issues[number] = FakeIssue(number, title, body, list(labels))
        return number

    def comment_on_issue(self, number: int, body: str) -> None:
        self._check()
        self.issues[number].comments.append(body)

    def close_issue(self, number: int) -> None:
        self._check()
        self.issues[number].state = "closed"

    def pull_request_authors(self, commit_sha: str) -> Sequence[str]:
        self._check()
        return self.pulls.get(commit_sha, [])

    def open_issues(self) -> list[FakeIssue]:
        return [i for i in self.issues.values() if i.state == "open"]


class Repo:
    """A throwaway git repository with a fixed identity."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True)
        self.git("init", "--quiet", "--initial-branch=main")
        (root / "requests").mkdir()
        (root / "requests" / "README.md").write_text("the queue\n")
        self.commit("initial", author="Core <core@example.invalid>")

    def git(self, *args: str) -> str:
        return subprocess.run(
            [
                "git",
                "-c",
                "user.name=Someone",
                "-c",
                "user.email=someone@example.invalid",
                "-c",
                "commit.gpgsign=false",
                *args,
            ],
            cwd=self.root,
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def commit(self, message: str, author: str = "Alice <alice@example.invalid>") -> str:
        self.git("add", "--all")
        self.git("commit", "--quiet", "--allow-empty", "-m", message, f"--author={author}")
        return self.head()

    def add_request(
        self, name: str, text: str, author: str = "Alice <alice@example.invalid>"
    ) -> str:
        """Add a request file as a merged pull request would; returns the commit."""
        (self.root / "requests" / name).write_text(text)
        return self.commit(f"Add {name}", author)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def subjects(self) -> list[str]:
        return self.git("log", "--format=%s").splitlines()

    def status(self) -> str:
        return self.git("status", "--porcelain", "--untracked-files=all")

    def read(self, path: str) -> str:
        return (self.root / path).read_text()

    def exists(self, path: str) -> bool:
        return (self.root / path).exists()


def bare_of(repo: Repo, tmp_path: Path) -> Path:
    """A bare clone of ``repo``: the remote a processing run fetches from and pushes to."""
    remote = tmp_path / "remote.git"
    subprocess.run(
        ["git", "clone", "--quiet", "--bare", str(repo.root), str(remote)],
        check=True,
        capture_output=True,
    )
    return remote


def clone_of(remote: Path, target: Path) -> Repo:
    """A working clone of ``remote`` (another run's checkout, or somebody else's)."""
    subprocess.run(
        ["git", "clone", "--quiet", str(remote), str(target)], check=True, capture_output=True
    )
    cloned = Repo.__new__(Repo)
    cloned.root = target
    return cloned


def things(*names: str, action: str = "fake") -> str:
    return f"action: {action}\nthings:\n" + "".join(f"  - {n}\n" for n in names)


@pytest.fixture
def kind(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedKind]:
    scripted = ScriptedKind()
    monkeypatch.setitem(REGISTRY, scripted.action, scripted)
    return scripted


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path / "repo")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def tracker() -> MemoryTracker:
    return MemoryTracker()


POLICY = RetryPolicy()


def make_runner(
    repo: Repo,
    clock: FakeClock,
    tracker: Any,
    *,
    dry_run: bool = False,
    retry: Sequence[str] = (),
    services: Any = None,
    services_for: ServicesFactory | None = None,
) -> QueueRunner:
    return QueueRunner(
        repo.root,
        services=services,
        git=Git(repo.root, BOT),
        clock=clock,
        tracker=tracker,
        config=QueueConfig(dry_run=dry_run, retry=frozenset(retry), policy=POLICY),
        services_for=services_for,
    )
