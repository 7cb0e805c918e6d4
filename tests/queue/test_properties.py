"""Random histories of one request: the queue never churns and never duplicates issues."""

from __future__ import annotations

import json
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from admin_requests.kinds.contract import Outcome
from admin_requests.queue.report import Disposition
from tests.fakes.clock import START, FakeClock
from tests.fakes.tracker import MemoryTracker
from tests.queue.support import POLICY, Repo, ScriptedKind, make_runner

OUTCOMES = st.sampled_from(
    [Outcome.done("ok"), Outcome.retry("503 from the service"), Outcome.failed("no such thing")]
)
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("wait"), st.integers(min_value=1, max_value=600)),
        st.tuples(st.just("run"), st.just(0)),
        st.tuples(st.just("retry"), st.just(0)),
        st.tuples(st.just("edit"), st.just(0)),
    ),
    min_size=1,
    max_size=14,
)
REQUEST = "requests/r.yml"
STATE = "queue-state/r.yml.json"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS, script=st.dictionaries(st.sampled_from("abc"), st.lists(OUTCOMES, max_size=12)))
def test_random_histories_keep_the_queue_invariants(
    steps: list[tuple[str, int]], script: dict[str, list[Outcome]]
) -> None:
    kind = ScriptedKind()
    with tempfile.TemporaryDirectory() as tmp:
        kind.script = {k: list(v) for k, v in script.items()}
        repo = Repo(Path(tmp) / "repo")
        repo.add_request("r.yml", "action: fake\nthings:\n  - a\n  - b\n  - c\n")
        clock, tracker = FakeClock(START), MemoryTracker()
        edits = 0
        for step, amount in steps:
            if step == "wait":
                clock.advance(timedelta(minutes=amount))
                continue
            if step == "edit":
                if repo.exists(REQUEST):
                    edits += 1
                    with (repo.root / REQUEST).open("a") as handle:
                        handle.write(f"# edit {edits}\n")
                    repo.commit(f"edit {edits}")
                continue
            head, calls = repo.head(), len(kind.calls)
            retry = [REQUEST] if step == "retry" and repo.exists(REQUEST) else []
            report = make_runner(repo, clock, tracker, kinds=[kind], retry=retry).run()
            _check(repo, tracker, report.results, head, calls, kind)


def _check(
    repo: Repo,
    tracker: MemoryTracker,
    results: list[object],
    head: str,
    calls: int,
    kind: ScriptedKind,
) -> None:
    assert repo.status() == ""
    open_issues = tracker.open_issues()
    assert len(open_issues) <= 1  # never a duplicate issue
    if not repo.exists(REQUEST):
        assert not repo.exists(STATE)
        assert open_issues == []  # completed: its issue is closed
        return
    [result] = results
    disposition = result.disposition  # type: ignore[attr-defined]
    if disposition in (Disposition.WAITING, Disposition.STILL_PARKED):
        assert repo.head() == head  # nothing attempted, nothing committed
        assert len(kind.calls) == calls
    else:
        # At most one commit per run (none when the new state equals the old one).
        assert len(repo.git("rev-list", f"{head}..HEAD").split()) <= 1
    state = json.loads(repo.read(STATE))
    assert 1 <= state["attempts"] <= POLICY.max_attempts
    assert state["parked"] == (state["next_attempt"] is None)
    if state["parked"]:
        assert state["issue"] is not None
        assert [i.number for i in open_issues] == [state["issue"]]
