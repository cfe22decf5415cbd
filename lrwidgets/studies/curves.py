"""What the studies read off range-test curves: suggestions per run, the curve's minimum."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..core import UnreliableCurveWarning, trim_curve
from ..core.warn import warn
from ..training.result import RangeTestResult


def curve_minimum_lr(
    result: RangeTestResult,
    beta: float | None = None,
    *,
    skip_start: int | None = 0,
    skip_end: int | None = 0,
) -> float:
    """The lr at the lowest point of the smoothed range-test curve (non-finite tail trimmed).

    ``skip_start`` / ``skip_end`` points are left out first (None: fastai's ``lr_find`` trim,
    ``RangeTestResult.skips``); the default looks at the whole curve. Trim the start where the
    curve starts near its floor: the debiased EWMA's first points are single noisy batches, and
    one lucky batch there can be the lowest point of the curve.

    Why not train there? The curve is measured while the lr keeps growing, one batch per lr;
    at its minimum the loss is about to blow up, and a whole run at that lr is near or past the
    edge. Notebook 07 measures it (the curve's minimum against full training on the quadratic
    bowl, whose stability limit is known); to draw the two side by side on another problem::

        import matplotlib.pyplot as plt
        from lrwidgets import best_lr, curve_minimum_lr, get_problem, range_test, train_at_lrs

        problem = get_problem("digits-mlp")
        result = range_test(problem.make_model(0), problem.train_data, problem.loss_fn, seed=0)
        grid = train_at_lrs(problem, epochs=3, seeds=(0, 1, 2))
        fig, (top, bottom) = plt.subplots(2, 1, sharex=True)
        result.plot(ax=top)
        bottom.plot(grid.lrs, grid.mean("val_loss"), "o-", label="val loss after 3 epochs")
        for ax in (top, bottom):
            ax.axvline(curve_minimum_lr(result), color="red", ls="--", label="curve minimum")
            ax.axvline(best_lr(grid), color="green", ls=":", label="best lr")
        bottom.set_xscale("log")
        bottom.legend()

    (Gaps in the bottom curve are learning rates where a seed diverged.)
    """
    lrs, losses = trim_curve(result.lrs, result.smoothed(beta), *result.skips(skip_start, skip_end))
    return float(lrs[int(np.argmin(losses))])


def geometric_mean(values: np.ndarray) -> float:
    """exp(mean(log x)) over the finite values (NaN when there are none)."""
    logs = np.log(np.asarray(values, dtype=float))
    logs = logs[np.isfinite(logs)]
    return float(np.exp(logs.mean())) if len(logs) else math.nan


def suggestions_by_run(
    results: Sequence[RangeTestResult], method: str, beta: float | None
) -> np.ndarray:
    """Each result's suggestion by ``method``, NaN where that rule had no answer.

    One ``UnreliableCurveWarning`` counts the curves that never fall clearly, instead of one
    warning per curve.
    """
    flat = sum(r.unreliable(beta) is not None for r in results)
    if flat:
        warn(
            f"{flat} of {len(results)} range tests never fall clearly below their start: "
            "their suggestions are unreliable (RangeTestResult.unreliable() says why)",
            UnreliableCurveWarning,
        )
    return np.array([r.suggestions(beta, warn=False).get(method, np.nan) for r in results])
