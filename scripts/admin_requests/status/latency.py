"""Merge-to-done statistics: pure functions over durations."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile of ascending values, interpolating between neighbours.

    The same definition as numpy's default ('linear') and ``statistics.quantiles(...,
    method='inclusive')``: with one value it is that value; the median of an even
    count is the mean of the middle two.
    """
    if not sorted_values:
        raise ValueError("no values")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be between 0 and 1, not {fraction!r}")
    position = fraction * (len(sorted_values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    weight = position - low
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * weight


def summarise(durations: Sequence[timedelta]) -> tuple[timedelta, timedelta, timedelta] | None:
    """(median, p90, p99) of ``durations``, or None when there are none."""
    if not durations:
        return None
    seconds = sorted(d.total_seconds() for d in durations)
    median, p90, p99 = (timedelta(seconds=percentile(seconds, f)) for f in (0.5, 0.9, 0.99))
    return median, p90, p99
