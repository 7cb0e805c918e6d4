"""The contract with anaconda.org, as anaconda-client (``binstar_client``) speaks it.

What binstar_client sends is read from its installed source, not from a table kept
here: for every method of ``binstar_client.Binstar`` (and its mixins) the ``ast`` gives
the HTTP verb it calls on its session, the URL it builds, the keys of the JSON body it
sends and the statuses ``_check_response`` accepts. Then:

- every anaconda.org request the project makes (each public method of AnacondaClient
  and AnacondaTokens, run against FakeAnaconda) is sent from inside binstar_client,
  through the project's ProjectAdapter (timeout and retries), and has the verb, path
  and body keys of exactly one binstar_client call, and a success status that call
  accepts;
- every route FakeAnaconda serves is one binstar_client call (the channel CDN's routes
  are none, as binstar_client never calls them), reads no body key binstar_client does
  not send, and answers with a status that call accepts.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
import sys
import textwrap
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import binstar_client
import pytest
import requests
from requests.adapters import HTTPAdapter

from admin_requests.credentials.anaconda_token import AnacondaToken, AnacondaTokens
from admin_requests.credentials.ledger import CredentialLedger
from admin_requests.credentials.redact import Masker, Secret
from admin_requests.services.anaconda import AnacondaClient, ProjectAdapter
from admin_requests.services.http import Retrier, RetryPolicy
from tests.fakes.anaconda import MINT_KEYS, FakeAnaconda
from tests.fakes.server import Request
from tests.fakes.wiring import settings_for

VERBS = ("get", "post", "put", "patch", "delete", "head")
HOLE = "{}"  # a value in a URL template


# -- binstar_client's calls, from its source ---------------------------------------------


@dataclass(frozen=True)
class BinstarCall:
    function: str  # e.g. "Binstar._authenticate"
    verb: str
    path: str  # after the domain, with HOLE for each value: "/dist/{}/{}/{}/{}"
    payload: frozenset[str] | None  # the JSON body's keys; None: no JSON body
    allowed: tuple[int, ...]  # what _check_response accepts

    @property
    def regex(self) -> re.Pattern[str]:
        return re.compile("^" + ".+".join(map(re.escape, self.path.split(HOLE))) + "$")

    @property
    def literal(self) -> int:
        return len(self.path.replace(HOLE, ""))


def _is_self_attr(node: ast.AST, *names: str) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr in names
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    )


def _template(node: ast.AST, env: dict[str, str]) -> str:
    """A URL expression as a template: ``self.domain`` is "", any other value is HOLE."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if _is_self_attr(node, "domain"):
        return ""
    if isinstance(node, ast.Name):
        return env.get(node.id, HOLE)
    if isinstance(node, ast.JoinedStr):
        return "".join(
            _template(part.value if isinstance(part, ast.FormattedValue) else part, env)
            for part in node.values
        )
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Mod)
        and isinstance(node.left, ast.Constant)
    ):
        args = node.right.elts if isinstance(node.right, ast.Tuple) else [node.right]
        return _interleave(str(node.left.value).split("%s"), args, env)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        owner = node.func.value
        if isinstance(owner, ast.Constant) and isinstance(owner.value, str):
            if node.func.attr == "format":
                return _interleave(re.split(r"\{\d*\}", owner.value), node.args, env)
            if node.func.attr == "join" and node.args and isinstance(node.args[0], ast.Tuple):
                return owner.value.join(_template(e, env) for e in node.args[0].elts)
    return HOLE


def _interleave(pieces: list[str], args: list[ast.expr], env: dict[str, str]) -> str:
    assert len(pieces) == len(args) + 1, ast.dump(args[0]) if args else pieces
    out = pieces[0]
    for arg, piece in zip(args, pieces[1:], strict=True):
        out += _template(arg, env) + piece
    return out


def _keys(node: ast.AST) -> frozenset[str] | None:
    if isinstance(node, ast.Dict):
        keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
        if len(keys) == len(node.keys):
            return frozenset(str(k) for k in keys)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        return frozenset(k.arg for k in node.keywords if k.arg)
    return None


def _calls_of(function: ast.FunctionDef, owner: str) -> list[BinstarCall]:
    """The calls one method makes. Every URL it builds is paired with every verb it calls
    (a method builds one URL per branch, then sends once); a JSON body is the last
    assignment to its name before the call."""
    env: dict[str, str] = {}
    assigned: list[tuple[int, str, frozenset[str] | None]] = []  # (line, name, keys)
    urls: list[str] = []
    nodes = sorted(
        (n for n in ast.walk(function) if isinstance(n, ast.Assign | ast.Call)),
        key=lambda n: (n.lineno, n.col_offset),
    )
    for node in nodes:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                if target.id == "url":
                    urls.append(_template(node.value, env))
                else:
                    env[target.id] = _template(node.value, env)
                    assigned.append((node.lineno, target.id, _keys(node.value)))
    urls = [url for url in urls if url.startswith("/")]  # built on self.domain

    def payload_at(line: int, name: str) -> frozenset[str] | None:
        before = [keys for at, n, keys in assigned if n == name and at < line]
        return before[-1] if before else None

    verbs: list[tuple[str, frozenset[str] | None]] = []
    allowed: tuple[int, ...] = (200,)
    for node in ast.walk(function):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        if node.func.attr in VERBS and _is_self_attr(node.func.value, "session", "_session"):
            body = next((k.value for k in node.keywords if k.arg == "json"), None)
            if body is None:
                keys = None
            elif isinstance(body, ast.Name):
                keys = payload_at(node.lineno, body.id)
            else:
                keys = _keys(body)
            verbs.append((node.func.attr.upper(), keys))
        if node.func.attr == "_check_response":
            given = node.args[1:] + [k.value for k in node.keywords if k.arg == "allowed"]
            if given and isinstance(given[0], ast.List):
                allowed = tuple(int(e.value) for e in given[0].elts if isinstance(e, ast.Constant))
    calls = {
        BinstarCall(f"{owner}.{function.name}", verb, url, keys, allowed)
        for verb, keys in verbs
        for url in urls
    }
    return sorted(calls, key=lambda c: (c.verb, c.path))


def binstar_calls() -> list[BinstarCall]:
    """Every call binstar_client.Binstar's methods make on its session."""
    found: list[BinstarCall] = []
    for cls in binstar_client.Binstar.__mro__:
        if not cls.__module__.startswith("binstar_client"):
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
        [class_def] = [n for n in tree.body if isinstance(n, ast.ClassDef)]
        for function in class_def.body:
            if isinstance(function, ast.FunctionDef):
                found += _calls_of(function, cls.__name__)
    return found


CALLS = binstar_calls()


def matching(verb: str, path: str) -> list[BinstarCall]:
    """The binstar_client calls a request matches, the most specific first."""
    found = [c for c in CALLS if c.verb == verb and c.regex.match(path)]
    if not found:
        return []
    best = max(c.literal for c in found)
    return [c for c in found if c.literal == best]


def the_call(verb: str, path: str) -> BinstarCall:
    found = matching(verb, path)
    assert len(found) == 1, f"{verb} {path} matches {found or 'no binstar_client call'}"
    return found[0]


def test_the_parse_finds_what_binstar_client_sends() -> None:
    """The source reading itself, on calls whose shape the docstrings describe."""
    by_function = {c.function: c for c in CALLS}
    mint = by_function["Binstar._authenticate"]
    assert (mint.verb, mint.path, mint.allowed) == ("POST", "/authentications", (200,))
    assert mint.payload is not None
    assert {"user", "fail-if-exists", "max-age"} <= mint.payload
    assert by_function["ChannelsMixin.add_channel"].allowed == (201,)
    assert by_function["PackageMixin.copy"].path == "/copy/package/{}/{}/{}/{}"
    assert len(CALLS) >= 40


# -- what the project sends ---------------------------------------------------------------


@dataclass
class Sent:
    step: str
    verb: str
    path: str
    body: Any
    auth_scheme: str
    through_project_adapter: bool
    from_binstar_client: bool
    status: int = 0


@dataclass
class Recorder:
    step: str = ""
    sent: list[Sent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _sent_from_binstar_client() -> bool:
    frame = sys._getframe()
    while frame is not None:
        if str(frame.f_globals.get("__name__", "")).startswith("binstar_client"):
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """Every request any requests session sends in this test, seen at the transport."""
    recorded = Recorder()
    original = HTTPAdapter.send

    def send(self: HTTPAdapter, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        body = json.loads(request.body) if request.body else None
        sent = Sent(
            recorded.step,
            str(request.method),
            requests.utils.urlparse(request.url).path,
            body,
            (request.headers.get("Authorization") or "none").split(" ")[0].lower(),
            isinstance(self, ProjectAdapter),
            _sent_from_binstar_client(),
        )
        response = original(self, request, **kwargs)
        sent.status = response.status_code
        with recorded.lock:
            recorded.sent.append(sent)
        return response

    monkeypatch.setattr(HTTPAdapter, "send", send)
    return recorded


FILE = "linux-64/foo-1.0-h0_0.conda"
STAGED = "linux-64/bar-1.0-h0_0.conda"
NO_WAIT = Retrier(RetryPolicy(base_delay=0.01), sleep=lambda _: None)


def _public_methods(cls: type) -> set[str]:
    return {
        f"{cls.__name__}.{name}"
        for name, value in vars(cls).items()
        if inspect.isfunction(value) and not name.startswith("_")
    }


def project_steps(ac: FakeAnaconda) -> dict[str, Callable[[], object]]:
    """One step per public method of the project's anaconda.org code."""
    settings = settings_for(None, ac)
    tokens = AnacondaTokens(
        api_url=ac.url,
        organisation="conda-forge",
        masker=Masker(in_actions=False),
        ledger=CredentialLedger(),
        max_age_seconds=900,
        timeout=5,
        retrier=NO_WAIT,
    )
    minted: list[AnacondaToken] = []

    def client() -> AnacondaClient:
        return AnacondaClient(settings, minted[0].secret.reveal(), retrier=NO_WAIT)

    return {
        "AnacondaTokens.mint": lambda: minted.append(
            tokens.mint(
                Secret("machine"), Secret("machine-password"), ("api:read", "api:write"), "r.yml"
            )
        ),
        "AnacondaClient.distribution": lambda: (
            client().distribution("conda-forge", "foo", "1.0", FILE),
            client().distribution("conda-forge", "foo", "1.0", "linux-64/foo-1.0-h9_0.conda"),
        ),
        "AnacondaClient.package_files": lambda: (
            client().package_files("conda-forge", "foo"),
            client().package_files("conda-forge", "no-such-package"),
        ),
        "AnacondaClient.add_label": lambda: client().add_label(
            "conda-forge", "broken", "foo", "1.0", FILE
        ),
        "AnacondaClient.remove_label": lambda: client().remove_label(
            "conda-forge", "broken", "foo", "1.0", FILE
        ),
        "AnacondaClient.copy": lambda: client().copy(
            "cf-staging", "bar", "1.0", STAGED, to_owner="conda-forge", from_label="rc"
        ),
        "AnacondaTokens.delete_authentication": lambda: minted[0].close(),
    }


def test_every_anaconda_call_is_binstar_clients_own(
    fake_anaconda: FakeAnaconda, recorder: Recorder
) -> None:
    ac = fake_anaconda
    ac.add_account("machine", "machine-password", organisations=["conda-forge"])
    ac.add_file("conda-forge", FILE)
    ac.add_file("cf-staging", STAGED, labels=["rc"])
    ac.served = []
    steps = project_steps(ac)
    # A new public method must join the steps, so its calls are checked too.
    assert set(steps) == _public_methods(AnacondaClient) | _public_methods(AnacondaTokens)
    for name, step in steps.items():
        recorder.step = name
        step()
    by_step: dict[str, int] = {}
    used: set[str] = set()
    for sent in recorder.sent:
        by_step[sent.step] = by_step.get(sent.step, 0) + 1
        where = f"{sent.step}: {sent.verb} {sent.path}"
        assert sent.from_binstar_client, f"{where} was not sent by binstar_client"
        assert sent.through_project_adapter, f"{where} bypassed ProjectAdapter (no timeout)"
        call = the_call(sent.verb, sent.path)
        used.add(call.function)
        keys = frozenset(sent.body) if isinstance(sent.body, dict) else None
        assert keys == call.payload, f"{where} sent {keys}, {call.function} sends {call.payload}"
        if sent.status < 300:
            assert sent.status in call.allowed, f"{where}: {sent.status} not in {call.allowed}"
        expected_auth = "basic" if call.function == "Binstar._authenticate" else "token"
        assert sent.auth_scheme == expected_auth, where
    assert set(by_step) == set(steps), f"steps that sent nothing: {set(steps) - set(by_step)}"
    # The minted token was the organisation's, and is gone.
    [token] = ac.minted()
    assert token.owners == {"conda-forge"}
    assert token.removed
    print(
        f"\nanaconda.org contract: {len(CALLS)} binstar_client calls read from its source "
        f"({len({c.function for c in CALLS})} methods); {len(recorder.sent)} project "
        f"requests from {len(steps)} public methods checked, through {len(used)} "
        f"binstar_client methods: {', '.join(sorted(used))}"
    )
    check_fake_routes(ac)


def _sample_path(pattern: str) -> str:
    return re.sub(r"\{\w+(:path)?\}", "x", pattern)


def _keys_read(request: Request) -> set[str]:
    return getattr(request, "keys_read", set())


def check_fake_routes(ac: FakeAnaconda) -> None:
    """Each route FakeAnaconda serves against binstar_client's calls (``ac.served``)."""
    assert ac.served is not None
    api = [r for r in ac.route_patterns if r not in ac.CDN_ROUTES]
    for verb, pattern in sorted(ac.CDN_ROUTES):
        assert not matching(verb, _sample_path(pattern)), f"{pattern} is an API route"
    keys_checked = 0
    for verb, pattern in api:
        call = the_call(verb, _sample_path(pattern))
        served = [s for s in ac.served if (s.method, s.pattern) == (verb, pattern)]
        assert served, f"{verb} {pattern} ({call.function}) was not exercised"
        for answer in served:
            assert answer.status in call.allowed, (
                f"{verb} {pattern} answered {answer.status}; {call.function} accepts {call.allowed}"
            )
            read = _keys_read(answer.request)
            assert read <= (call.payload or frozenset()), (
                f"{verb} {pattern} reads {sorted(read)}; {call.function} sends {call.payload}"
            )
            keys_checked += len(read)
    mint = the_call("POST", "/authentications")
    assert mint.payload == MINT_KEYS  # the fake refuses any other key (400)
    print(
        f"anaconda.org contract: {len(api)} FakeAnaconda API routes matched to binstar_client "
        f"calls, {sum(1 for s in ac.served if (s.method, s.pattern) in api)} answers and "
        f"{keys_checked} body keys read checked; {len(ac.CDN_ROUTES)} channel CDN routes "
        "(not binstar_client's) match none"
    )


@pytest.fixture(autouse=True)
def _record_keys_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """FakeAnaconda's handlers read the JSON body through a dict that notes each key."""
    original = Request.json

    class Noting(dict[str, Any]):
        def __init__(self, data: dict[str, Any], seen: set[str]) -> None:
            super().__init__(data)
            self.seen = seen

        def get(self, key: str, default: Any = None) -> Any:
            self.seen.add(key)
            return super().get(key, default)

        def __getitem__(self, key: str) -> Any:
            self.seen.add(key)
            return super().__getitem__(key)

        def __contains__(self, key: object) -> bool:
            self.seen.add(str(key))
            return super().__contains__(key)

    def noting_json(self: Request) -> Any:
        data = original(self)
        if not isinstance(data, dict):
            return data
        seen: set[str] = self.__dict__.setdefault("keys_read", set())
        return Noting(data, seen)

    monkeypatch.setattr(Request, "json", noting_json)
