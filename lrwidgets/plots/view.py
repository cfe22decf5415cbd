"""The view: which part of a range-test curve the loss axes show (one rule for every picture).

The widget, ``RangeTestResult.plot`` and the command line's ``--plot`` all take their y limits
from ``loss_limits``, built from what is drawn:

- the bottom is the lowest point drawn, the raw loss's dip included: the gap between a single
  batch's dip and the smoothed curve is the lag notebook 02 teaches;
- the top cuts the blown-up tail: no higher than half the fall above the level the curves fall
  from (``start + (start - lowest) / 2``), or ``divergence_limit`` of the lowest value for curves
  that never fall;
- but it is raised until at least 90% of every smoothed curve drawn is inside (a linear sweep
  spends most of its steps in the tail), and until every point that must be seen (the
  suggestion markers) is inside.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core import divergence_limit

SHOWN_FRACTION = 0.9  # of every smoothed curve drawn, at least this much is inside the axes


def loss_limits(
    curves: Sequence[np.ndarray],
    diverge_th: float,
    *,
    raw: Sequence[np.ndarray] = (),
    points: Sequence[float] = (),
) -> tuple[float, float] | None:
    """y-limits for range-test curves: ``loss_range`` with a margin, 5% of it below and 15%
    above (room for the markers). None when nothing is finite."""
    needed = loss_range(curves, diverge_th, raw=raw, points=points)
    if needed is None:
        return None
    low, high = needed
    span = high - low if high > low else abs(high) or 1.0
    return low - 0.05 * span, high + 0.15 * span


def keep_limits(
    current: tuple[float, float], needed: tuple[float, float], new: tuple[float, float]
) -> bool:
    """Whether the y-limits on screen can stay while the curves move (a beta drag): they hold
    all of ``needed`` (``loss_range``) and are at most a third wider than the ``new`` limits
    the rule would give. Steady axes let the eye follow the curve bend, and spare a redraw of
    the whole figure."""
    (c0, c1), (n0, n1), (new0, new1) = current, needed, new
    return c0 <= n0 and c1 >= n1 and (c1 - c0) <= 4 / 3 * (new1 - new0)


def loss_range(
    curves: Sequence[np.ndarray],
    diverge_th: float,
    *,
    raw: Sequence[np.ndarray] = (),
    points: Sequence[float] = (),
) -> tuple[float, float] | None:
    """The y range that must be in view, from the lowest point to the top (module docstring).

    ``curves`` are the smoothed curves drawn (each keeps at least 90% of its finite points in
    view; pass the raw loss here when it is drawn alone),
    ``raw`` the raw losses drawn beside them (their dip is in view, their noisy tail may be
    cut), ``points`` y values that must be in view (markers). None when nothing is finite.

    The level a curve falls from is its highest point before its lowest (a smoothed curve);
    for ``raw``, the median of the points before its lowest, so one noisy batch does not set it.
    """
    smooth = [c[np.isfinite(c)] for c in map(np.asarray, curves)]
    smooth = [c for c in smooth if c.size]
    noisy = [c[np.isfinite(c)] for c in map(np.asarray, raw)]
    noisy = [c for c in noisy if c.size]
    marks = [float(p) for p in points if np.isfinite(p)]
    drawn = smooth + noisy
    if not drawn:
        return None
    low = min([float(c.min()) for c in drawn] + marks)
    levels = [float(c[: int(np.argmin(c)) + 1].max()) for c in smooth]
    levels += [float(np.median(c[: int(np.argmin(c)) + 1])) for c in noisy]
    start = max(levels)
    fall = start - low
    clip = start + fall / 2 if fall > 0 else max(start, divergence_limit(low, diverge_th))
    high = min(max(float(c.max()) for c in drawn), clip)
    high = max([high] + [float(np.quantile(c, SHOWN_FRACTION)) for c in smooth] + marks)
    return low, high
