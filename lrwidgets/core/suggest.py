"""Heuristics that turn a range-test curve into one suggested learning rate.

None of them is the best learning rate for a full training run; the notebooks measure the gap.
Each takes the learning rates and the (usually smoothed) losses of one test:

- ``"minimum"``: the learning rate at the lowest loss, divided by 10 (the classic rule of thumb:
  the minimum is already at the edge of instability).
- ``"steep"``: where the loss falls fastest against log(lr), i.e. the most negative
  d loss / d log(lr) (central differences, one-sided at the ends).
- ``"valley"``: fastai's longest-valley rule: find the longest stretch over which the loss keeps
  falling (the longest decreasing subsequence), then take the point about halfway along it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .checks import check_choice, check_int

SUGGESTION_METHODS = ("minimum", "steep", "valley")
MIN_POINTS = 3


def trim_curve(
    lrs: Sequence[float] | np.ndarray,
    losses: Sequence[float] | np.ndarray,
    skip_start: int = 0,
    skip_end: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Check a curve and return the part the heuristics look at.

    Drops ``skip_start`` points at the start, ``skip_end`` at the end, and everything from the
    first non-finite loss on (a diverged tail). Raises ValueError on mismatched lengths,
    non-positive learning rates or fewer than 3 usable points.
    """
    lrs = np.asarray(lrs, dtype=float)
    losses = np.asarray(losses, dtype=float)
    if lrs.ndim != 1 or losses.ndim != 1:
        raise ValueError(f"lrs and losses must be 1-D, got shapes {lrs.shape} and {losses.shape}")
    if len(lrs) != len(losses):
        raise ValueError(
            f"lrs and losses must have the same length, got {len(lrs)} and {len(losses)}"
        )
    if not np.all(np.isfinite(lrs)) or np.any(lrs <= 0):
        raise ValueError("lrs must be finite and > 0")
    skip_start = check_int("skip_start", skip_start, minimum=0)
    skip_end = check_int("skip_end", skip_end, minimum=0)
    bad = np.flatnonzero(~np.isfinite(losses))
    stop = bad[0] if len(bad) else len(losses)
    stop = min(stop, max(len(losses) - skip_end, 0))  # a skip_end past the curve leaves 0
    lrs, losses = lrs[skip_start:stop], losses[skip_start:stop]
    if len(losses) < MIN_POINTS:
        raise ValueError(
            f"need at least {MIN_POINTS} finite losses to suggest a learning rate, "
            f"got {len(losses)} after trimming (skip_start={skip_start}, skip_end={skip_end})"
        )
    return lrs, losses


def steepest_index(lrs: np.ndarray, losses: np.ndarray) -> int:
    """Index of the most negative slope d loss / d log(lr)."""
    slope = np.gradient(losses, np.log(lrs))
    return int(np.argmin(slope))


def valley_index(losses: np.ndarray) -> int:
    """Index halfway along the longest decreasing subsequence of ``losses`` (fastai's rule).

    run[i] = length of the longest strictly decreasing subsequence that ends at i.
    The valley spans [end - run[end], end] for the end with the longest run; fastai's index
    start + int(span/3) + int(span/6) sits about halfway along it.
    """
    losses = np.asarray(losses, dtype=float)
    run = np.ones(len(losses), dtype=int)
    for i in range(1, len(losses)):
        higher_before = losses[:i] > losses[i]  # the points j < i a run can come down from
        if higher_before.any():
            run[i] = run[:i][higher_before].max() + 1
    end = int(np.argmax(run))  # first of the longest runs
    start = end - run[end]
    third = (end - start) / 3
    return max(0, start + int(third) + int(third / 2))


def suggest_lr(
    lrs: Sequence[float] | np.ndarray,
    losses: Sequence[float] | np.ndarray,
    method: str = "valley",
    *,
    skip_start: int = 0,
    skip_end: int = 0,
) -> float:
    """Suggest a learning rate from a range-test curve with ``method`` ("minimum", "steep",
    "valley"). See the module docstring for the rules; non-finite tails are trimmed first."""
    check_choice("method", method, SUGGESTION_METHODS)
    lrs, losses = trim_curve(lrs, losses, skip_start, skip_end)
    if method == "minimum":
        return float(lrs[int(np.argmin(losses))] / 10.0)
    if method == "steep":
        return float(lrs[steepest_index(lrs, losses)])
    return float(lrs[valley_index(losses)])
