"""Merge-to-done statistics: the percentile definition and the summary of durations."""

from __future__ import annotations

import statistics
from datetime import timedelta

import pytest

from admin_requests.status.latency import percentile, summarise


@pytest.mark.parametrize(
    "values",
    [[5.0], [1.0, 2.0], [3.0, 1.0, 2.0], [float(x * x % 97) for x in range(1, 200)]],
)
def test_percentile_matches_the_inclusive_definition(values: list[float]) -> None:
    ordered = sorted(values)
    assert percentile(ordered, 0.5) == pytest.approx(statistics.median(values))
    if len(values) > 1:
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        assert percentile(ordered, 0.9) == pytest.approx(cuts[89])
        assert percentile(ordered, 0.99) == pytest.approx(cuts[98])
    assert percentile(ordered, 0.0) == ordered[0]
    assert percentile(ordered, 1.0) == ordered[-1]


def test_percentile_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        percentile([1.0], 1.5)
    assert summarise([]) is None


def test_summarise_gives_median_p90_and_p99_as_durations() -> None:
    minutes = [timedelta(minutes=m) for m in range(1, 102)]  # 1 .. 101 minutes
    assert summarise(minutes) == (
        timedelta(minutes=51),
        timedelta(minutes=91),
        timedelta(minutes=100),
    )
    assert summarise([timedelta(seconds=7)]) == (timedelta(seconds=7),) * 3
