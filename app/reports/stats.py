"""Percentiles as PostgreSQL's percentile_cont computes them (linear interpolation). Pure."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile_cont(ordered: Sequence[float], fraction: float) -> float | None:
    """The value at `fraction` (0-1) of the sorted values, interpolating between neighbours:
    position fraction * (n - 1), as `percentile_cont(fraction) WITHIN GROUP (ORDER BY x)`."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole
