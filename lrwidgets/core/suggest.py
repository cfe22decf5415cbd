"""Rules that turn a range-test curve into one suggested learning rate.

None of them is the best learning rate for a full training run; the notebooks measure the gap
(notebook 05 prints, for each rule and training budget, how far its suggestion lands from the
best constant or one-cycle rate).

Every rule has one signature, ``rule(lrs, losses) -> lr``, takes the part of the (usually
smoothed) curve that ``trim_curve`` kept, and is looked up by name in ``SUGGESTION_RULES``:

- ``valley``, ``steep``, ``minimum``, ``slide``: fastai's rules of the same names
  (``fastai.callback.schedule``), which give the answer of fastai's ``Learner.lr_find`` when the
  curve is trimmed the way ``lr_find`` trims it: the first ``num_iter // 10`` and the last 5
  points dropped, then everything from the first NaN on (``fastai_skips``).
- ``steepest``: torch-lr-finder's rule (``LRFinder.plot(suggest_lr=True)``), the most negative
  central difference per step; torch-lr-finder trims 10 points at the start and 5 at the end.
  Its *pipeline* differs from fastai's too: it smooths from the first loss with
  ``smooth_f=0.05`` (``ewma_from_first`` with beta 0.95) and stops at 5x the best, so its
  number is ``RangeTestResult.torch_lr_finder_suggestion()``, not ``steepest`` on our curve.

Where we knowingly differ from fastai: ``valley`` clamps an index of -1 to the first point, where
fastai's Python indexing would wrap round to the *last* (largest) learning rate; a curve too short
for a rule raises ValueError instead of IndexError; the cut is at the first non-finite loss
(fastai: the first NaN; an infinite loss is the last point fastai records, and the last 5 are
dropped anyway). fastai does not stop on a NaN loss but records NaN to the end of its sweep,
where a range test stops: ``RangeTestResult.skips`` trims such a curve as fastai trims its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .checks import check_choice, check_int
from .defaults import METHOD, SKIP_END

MIN_POINTS = 3
SLIDE_LR_DIFF = 15  # fastai's defaults for slide
SLIDE_THRESH = 0.005

SuggestionRule = Callable[[np.ndarray, np.ndarray], float]


def fastai_skips(num_iter: int) -> tuple[int, int]:
    """The points ``Learner.lr_find(num_it=num_iter)`` drops before its rules:
    ``(num_iter // 10, 5)`` from the start and the end of the recorded curve."""
    num_iter = check_int("num_iter", num_iter, minimum=1)
    return num_iter // 10, SKIP_END


def trim_curve(
    lrs: Sequence[float] | np.ndarray,
    losses: Sequence[float] | np.ndarray,
    skip_start: int = 0,
    skip_end: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Check a curve and return the part the rules look at.

    As fastai's ``lr_find``: keep ``[skip_start : len - skip_end]``, then drop everything from
    the first non-finite loss of that part on (a diverged tail). Raises ValueError on mismatched
    lengths, non-positive learning rates or fewer than 3 usable points.
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
    end = max(len(losses) - skip_end, 0)
    lrs, losses = lrs[skip_start:end], losses[skip_start:end]
    bad = np.flatnonzero(~np.isfinite(losses))
    if len(bad):
        lrs, losses = lrs[: bad[0]], losses[: bad[0]]
    if len(losses) < MIN_POINTS:
        raise ValueError(
            f"need at least {MIN_POINTS} finite losses to suggest a learning rate, "
            f"got {len(losses)} after trimming (skip_start={skip_start}, skip_end={skip_end})"
        )
    return lrs, losses


def valley(lrs: np.ndarray, losses: np.ndarray) -> float:
    """fastai's ``valley``: about halfway along the longest valley.

    run[i] = length of the longest strictly decreasing subsequence of ``losses`` ending at i;
    end = the first i with the longest run, start = end - run[end];
    index = start + int((end - start) / 3) + int((end - start) / 6), clamped to >= 0
    (fastai's -1 would be the last point: see the module docstring).

    >>> valley(np.arange(1.0, 13.0), -np.arange(1.0, 13.0))  # 12 falling points: -1 + 4 + 2
    6.0
    """
    run = np.ones(len(losses), dtype=int)
    for i in range(1, len(losses)):
        higher_before = losses[:i] > losses[i]  # the points j < i a run can come down from
        if higher_before.any():
            run[i] = run[:i][higher_before].max() + 1
    end = int(np.argmax(run))  # the first of the longest runs
    start = end - run[end]
    third = (end - start) / 3
    return float(lrs[max(0, start + int(third) + int(third / 2))])


def steep(lrs: np.ndarray, losses: np.ndarray) -> float:
    """fastai's ``steep``: the left point of the steepest forward difference,
    argmin_i (loss[i+1] - loss[i]) / (log lr[i+1] - log lr[i]).

    >>> lrs, losses = np.array([1e-3, 1e-2, 1e-1, 1.0]), np.array([5.0, 4.0, 1.0, 3.0])
    >>> steep(lrs, losses), steepest(lrs, losses)  # the drop 4 -> 1 starts at 1e-2
    (0.01, 0.01)
    >>> minimum(lrs, losses)
    0.01
    """
    slope = np.diff(losses) / np.diff(np.log(lrs))
    return float(lrs[int(np.argmin(slope))])


def minimum(lrs: np.ndarray, losses: np.ndarray) -> float:
    """fastai's ``minimum``: the lr at the lowest loss, divided by 10 (the minimum is already at
    the edge of instability)."""
    return float(lrs[int(np.argmin(losses))] / 10.0)


def slide(
    lrs: np.ndarray,
    losses: np.ndarray,
    lr_diff: int = SLIDE_LR_DIFF,
    thresh: float = SLIDE_THRESH,
) -> float:
    """fastai's ``slide``: walk a pair of points ``lr_diff`` steps apart leftwards from the end
    until their slopes per step (``np.gradient(losses)``) differ by at most ``thresh``.

    With g = np.gradient(losses), n points, and pairs (r, l = r - lr_diff) for r = n-1, n-2, ...:
    the answer is lr[l] of the last pair with |g[r] - g[l]| > thresh (lr[n-1-lr_diff] when the
    first pair already agrees; lr[0] when none does). ``thresh`` is in loss units, so the rule
    depends on the scale of the loss. Needs lr_diff + 1 points (ValueError otherwise).
    """
    n = len(losses)
    if n < lr_diff + 1:
        raise ValueError(f"slide needs at least {lr_diff + 1} points, got {n} after trimming")
    grad = np.gradient(losses)
    left = n - 1 - lr_diff
    answer = left
    while left >= 0 and abs(grad[left + lr_diff] - grad[left]) > thresh:
        answer = left
        left -= 1
    return float(lrs[answer])


def steepest(lrs: np.ndarray, losses: np.ndarray) -> float:
    """torch-lr-finder's rule: argmin of ``np.gradient(losses)``, the slope per step (central
    differences inside, one-sided at the ends): per log(lr) for an exponential sweep, per lr
    for a linear one.

    The rule only: torch-lr-finder runs it on its own curve, smoothed from the first loss with
    ``smooth_f=0.05`` and stopped at 5x the best, trimmed 10 / 5. On a range test's result,
    ``result.torch_lr_finder_suggestion()`` replays that pipeline and gives its number."""
    return float(lrs[int(np.argmin(np.gradient(losses)))])


SUGGESTION_RULES: dict[str, SuggestionRule] = {
    "valley": valley,
    "slide": slide,
    "minimum": minimum,
    "steep": steep,
    "steepest": steepest,
}
SUGGESTION_METHODS = tuple(SUGGESTION_RULES)


def suggest_lr(
    lrs: Sequence[float] | np.ndarray,
    losses: Sequence[float] | np.ndarray,
    method: str = METHOD,
    *,
    skip_start: int = 0,
    skip_end: int = 0,
) -> float:
    """Suggest a learning rate from a range-test curve with ``method`` (a name in
    ``SUGGESTION_RULES``; see the module docstring).

    The curve is used as given apart from ``skip_start`` / ``skip_end`` points and a non-finite
    tail (``trim_curve``). ``RangeTestResult.suggestion`` trims like fastai's ``lr_find`` by
    default; here, pass ``*fastai_skips(num_iter)`` for the same answer on a curve as fastai
    records it (after a NaN loss: NaN to the end of the sweep).
    """
    check_choice("method", method, SUGGESTION_METHODS)
    lrs, losses = trim_curve(lrs, losses, skip_start, skip_end)
    return SUGGESTION_RULES[method](lrs, losses)
