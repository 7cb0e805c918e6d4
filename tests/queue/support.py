"""Helpers for the queue tests: a scripted request kind, a throwaway git repository and
a runner built on them. The clock and the issue tracker are in tests/fakes/; the
fixtures (``repo``, ``clock``, ``tracker``, ``kind``) in tests/conftest.py."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ruamel.yaml.nodes import Node

from admin_requests.access import Access
from admin_requests.kinds import REGISTRY
from admin_requests.kinds.contract import Item, Outcome, RequestKind, RequestModel, feedstock_list
from admin_requests.kinds.layout import EntryLayout, ListEntries
from admin_requests.queue.dispatch import QueueConfig, QueueRunner
from admin_requests.queue.execute import ServicesFactory
from admin_requests.queue.gitops import Git, Identity
from admin_requests.queue.notify import IssueTracker
from admin_requests.queue.state import RetryPolicy
from admin_requests.services import Services
from admin_requests.validation.fields import Decoder, Text
from admin_requests.validation.problems import Problem
from tests.fakes.clock import FakeClock
from tests.fakes.wiring import unreachable_services

BOT = Identity("test-bot", "bot@example.invalid")


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
        # Kinds given the same key share one follow-up (as broken and not_broken do).
        self.follow_up: str | None = None

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

    def follow_up_key(self) -> str:
        return self.follow_up or self.action

    def after_run(self, done: list[Item[ThingParams]], services: Any) -> None:
        self.after_runs.append([item.target for item in done])
        self.after_run_services.append(services)

    def always(self, thing: str, outcome: Scripted, times: int = 100) -> None:
        self.script[thing] = [outcome] * times


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


# The state file of requests/a.yml, the request most queue tests add.
STATE = "queue-state/a.yml.json"


def state_of(repo: Repo, path: str = STATE) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(repo.read(path))
    return data


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


POLICY = RetryPolicy()


def registry_with(*kinds: RequestKind) -> dict[str, RequestKind]:
    """The real kinds plus these (a test's own), for a runner or the checker."""
    return {**REGISTRY, **{kind.action: kind for kind in kinds}}


def make_runner(
    repo: Repo,
    clock: FakeClock,
    tracker: IssueTracker | None,
    *,
    kinds: Sequence[RequestKind] = (),
    dry_run: bool = False,
    retry: Sequence[str] = (),
    services: Services | None = None,
    services_for: ServicesFactory | None = None,
) -> QueueRunner:
    return QueueRunner(
        repo.root,
        services=services or unreachable_services(),
        git=Git(repo.root, BOT),
        clock=clock,
        tracker=tracker,
        config=QueueConfig(dry_run=dry_run, retry=frozenset(retry), policy=POLICY),
        services_for=services_for,
        registry=registry_with(*kinds),
    )
