"""The view: which part of a range-test curve the loss axes show (one rule for every picture)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core import divergence_limit


def loss_limits(curves: Sequence[np.ndarray], diverge_th: float) -> tuple[float, float] | None:
    """y-limits that keep the interesting part of range-test curves in view.

    From the lowest finite value up to the highest, but no higher than half the fall above where
    the curves start (start + (start - lowest) / 2), or for curves that never fall below their
    start, ``divergence_limit`` of the lowest value: the blown-up tail after divergence would
    otherwise flatten everything else. None when there is nothing finite to show.
    Pass the smoothed curves when they are drawn: a single batch's dip of the raw loss would
    otherwise set the lower limit and squeeze the curves the suggestions sit on.
    """
    finite = [c[np.isfinite(c)] for c in curves]
    finite = [c for c in finite if c.size]
    if not finite:
        return None
    low = min(float(c.min()) for c in finite)
    high = max(float(c.max()) for c in finite)
    start = max(float(c[0]) for c in finite)
    fall = start - low
    high = min(
        high, start + fall / 2 if fall > 0 else max(start, divergence_limit(low, diverge_th))
    )
    span = high - low if high > low else abs(high) or 1.0
    return low - 0.05 * span, high + 0.15 * span
