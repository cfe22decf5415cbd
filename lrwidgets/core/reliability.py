"""When a range-test curve, or one of its suggestions, cannot be trusted.

A rule always returns *some* learning rate, also on a curve that is flat noise. Two checks say
when the answer means little:

- ``unreliable_reason``: the smoothed loss never falls clearly below where it starts. "Clearly"
  is measured against the batch-to-batch noise of the raw loss, so the test works for losses of
  any sign, offset or scale::

      noise = 1.4826 * median(|d - median(d)|) / sqrt(2),   d = raw[t+1] - raw[t]
      noise = max(noise, eps32 * median(|raw|))
      unreliable  when  smoothed[first] - min(smoothed) <= clear * noise   (clear = 3)

  over the part of the curve the rules look at (``trim_curve``). The noise is a robust standard
  deviation of one batch's loss (the median absolute deviation of the step-to-step differences,
  whose variance is twice the loss's); the blown-up tail barely moves a median. It is never
  below float32's resolution at the size of the loss (eps32 = 1.2e-7: torch computes losses in
  float32), so a constant curve, whose smoothed values differ only by rounding, or one that
  moves by 1e-12, is flagged rather than read as a clear fall. The message states both numbers,
  the fall and the noise; notebook 01 ("When the test fails") prints them live for a curve that
  is flagged (the spirals in 100 steps) and for the same problem in 400.
- ``minimum_caveat``: the "minimum" rule answers lr_min / 10, which can lie below the first
  learning rate tested, and lr_min can sit at the very end of a sweep that never turned up, where
  the true minimum may lie beyond ``end_lr``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .suggest import trim_curve

CLEAR_FALL = 3.0  # how many noise standard deviations make a fall "clear"
RESOLUTION = float(np.finfo(np.float32).eps)  # smaller relative changes of a loss are rounding


class UnreliableCurveWarning(UserWarning):
    """The range-test curve never falls clearly: its suggestions are noise, not signal."""


def batch_noise(losses: Sequence[float] | np.ndarray) -> float:
    """Robust standard deviation of one batch's loss: 1.4826 * MAD(diff(losses)) / sqrt(2),
    over the finite losses, and at least ``RESOLUTION * median(|losses|)`` (float32 rounding);
    0.0 with fewer than 3 of them.

    >>> round(batch_noise(np.random.default_rng(0).normal(5.0, 0.2, size=10_000)), 2)
    0.2
    >>> batch_noise(np.full(100, 2.0)) == 2.0 * RESOLUTION  # no noise: the rounding floor
    True
    """
    losses = np.asarray(losses, dtype=float)
    finite = losses[np.isfinite(losses)]
    steps = np.diff(finite)
    if len(steps) < 2:
        return 0.0
    spread = 1.4826 * np.median(np.abs(steps - np.median(steps))) / np.sqrt(2.0)
    return float(max(spread, RESOLUTION * np.median(np.abs(finite))))


def unreliable_reason(
    lrs: Sequence[float] | np.ndarray,
    raw: Sequence[float] | np.ndarray,
    smoothed: Sequence[float] | np.ndarray,
    skip_start: int = 0,
    skip_end: int = 0,
    clear: float = CLEAR_FALL,
) -> str | None:
    """Why suggestions on this curve are unreliable (see the module docstring), or None.

    ``raw`` gives the noise, ``smoothed`` the fall, trimmed as the rules trim it.
    """
    _, window = trim_curve(lrs, smoothed, skip_start, skip_end)
    fall = float(window[0] - window.min())
    noise = batch_noise(raw)
    if fall > clear * noise:
        return None
    return (
        f"the smoothed loss never falls clearly below its start (by {fall:.2g}, against a "
        f"batch-to-batch noise of {noise:.2g}): the suggestions are unreliable; "
        "try more steps (num_iter) or a wider range (end_lr)"
    )


def turned_up(
    raw: Sequence[float] | np.ndarray,
    smoothed: Sequence[float] | np.ndarray,
    clear: float = CLEAR_FALL,
) -> bool:
    """Whether the curve blew up: the loss went non-finite, or the smoothed loss rose after its
    lowest point by more than ``clear`` x ``batch_noise(raw)``."""
    smoothed = np.asarray(smoothed, dtype=float)
    finite = np.isfinite(smoothed)
    if not finite.all():
        return True
    low = int(np.argmin(smoothed))
    return bool(smoothed[low:].max() - smoothed[low] > clear * batch_noise(raw))


def minimum_caveat(
    lrs: Sequence[float] | np.ndarray,
    raw: Sequence[float] | np.ndarray,
    smoothed: Sequence[float] | np.ndarray,
    start_lr: float,
    skip_start: int = 0,
    skip_end: int = 0,
) -> str | None:
    """Why the "minimum" suggestion is not firm, or None.

    Flagged when lr_min / 10 < ``start_lr`` (below the sweep), or when lr_min is the last point
    the rules look at and the curve never ``turned_up`` (it may fall further beyond end_lr).
    """
    window_lrs, window = trim_curve(lrs, smoothed, skip_start, skip_end)
    at = int(np.argmin(window))
    if window_lrs[at] / 10.0 < start_lr:
        return "below the sweep's start_lr"  # the rule divides lr_min by 10
    if at == len(window) - 1 and not turned_up(raw, smoothed):
        return "at the end of a sweep that never turned up"
    return None
