"""Exponentially weighted moving averages of a loss curve.

Three conventions meet learners, and the widgets can draw all three:

- ``ewma(x, beta, debias=True)``: fastai's, the average started at 0 and divided by 1 - beta**t.
- ``ewma(x, beta, debias=False)``: the same average without the correction; it starts near 0
  because avg_0 = 0 pulls the first values down.
- ``ewma_from_first(x, beta)`` ("from-first"): torch-lr-finder's, started at the first loss
  instead of 0
  (its ``smooth_f`` is 1 - beta); no correction is needed, but the first loss weighs too much.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .checks import check_beta, check_bool, check_number
from .defaults import BETA


def _as_1d(values: Sequence[float] | np.ndarray) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"values must be one-dimensional, got shape {x.shape}")
    return x


class EWMA:
    """The streaming form: feed one value at a time, as a training loop does (fastai's
    ``AvgSmoothLoss``). ``ewma()`` and the range test's loop both use it, so the formula is
    written once::

        avg_0 = 0,   avg_t = beta * avg_{t-1} + (1 - beta) * x_t,   value_t = avg_t / (1 - beta**t)

    (``value_t = avg_t`` without ``debias``).

    >>> smoother = EWMA(beta=0.5)
    >>> smoother.update(2.0), smoother.update(4.0)  # 1.0 / 0.5, then 2.5 / 0.75
    (2.0, 3.3333333333333335)
    """

    def __init__(self, beta: float = BETA, debias: bool = True) -> None:
        self.beta = check_beta("beta", beta)
        self.debias = check_bool("debias", debias)
        self.avg = 0.0
        self.t = 0

    def update(self, value: float) -> float:
        """Take x_t and return the smoothed value at step t."""
        self.t += 1
        self.avg = self.beta * self.avg + (1.0 - self.beta) * value
        return self.avg / (1.0 - self.beta**self.t) if self.debias else self.avg


def ewma(
    values: Sequence[float] | np.ndarray, beta: float = BETA, debias: bool = True
) -> np.ndarray:
    """Exponentially weighted moving average of ``values``.

    avg_0 = 0,   avg_t = beta * avg_{t-1} + (1 - beta) * x_t   for t = 1, 2, ...

    With ``debias`` the result at step t is avg_t / (1 - beta**t): avg_t gives the weights
    (1 - beta) * beta**(t-k) to x_k, which sum to 1 - beta**t, not 1; dividing restores a true
    weighted mean, so the first smoothed values are no longer pulled towards 0.

    >>> ewma([2.0, 2.0, 2.0], beta=0.9)                 # a constant stays constant
    array([2., 2., 2.])
    >>> ewma([2.0, 2.0, 2.0], beta=0.9, debias=False)   # pulled towards avg_0 = 0
    array([0.2  , 0.38 , 0.542])
    """
    smoother = EWMA(beta, debias)
    return np.array([smoother.update(value) for value in _as_1d(values)])


def ewma_from_first(values: Sequence[float] | np.ndarray, beta: float = BETA) -> np.ndarray:
    """torch-lr-finder's smoothing: s_1 = x_1,  s_t = beta * s_{t-1} + (1 - beta) * x_t."""
    x = _as_1d(values)
    beta = check_beta("beta", beta)
    out = np.empty_like(x)
    for t, value in enumerate(x):
        out[t] = value if t == 0 else beta * out[t - 1] + (1.0 - beta) * value
    return out


def torch_lr_finder_curve(
    values: Sequence[float] | np.ndarray, smooth_f: float = 0.05, diverge_th: float = 5.0
) -> tuple[np.ndarray, bool]:
    """The curve torch-lr-finder's ``LRFinder.range_test`` records from these raw losses, and
    whether it stopped there.

    It smooths from the first loss, ``ewma_from_first(values, beta=1 - smooth_f)`` (the raw
    losses when ``smooth_f`` is 0), and stops after the first step t with
    s_t > diverge_th * min(s_1 .. s_t), keeping that step. A NaN stops nothing (every
    comparison with NaN is False).

    >>> torch_lr_finder_curve([4.0, 2.0, 1.0, 9.0, 3.0], smooth_f=0.5, diverge_th=2.0)
    (array([4. , 3. , 2. , 5.5]), True)
    """
    smooth_f = check_number("smooth_f", smooth_f)
    if not 0.0 <= smooth_f < 1.0:
        raise ValueError(f"smooth_f must be in [0, 1), got {smooth_f!r}")
    diverge_th = check_number("diverge_th", diverge_th)
    x = _as_1d(values)
    curve = ewma_from_first(x, 1.0 - smooth_f) if smooth_f > 0 else x.copy()
    over = np.flatnonzero(curve > diverge_th * np.fmin.accumulate(curve))
    if len(over):
        return curve[: over[0] + 1], True
    return curve, False


SMOOTHING_CONVENTIONS = ("debiased", "biased", "from-first")


def smooth(values: Sequence[float] | np.ndarray, beta: float, convention: str) -> np.ndarray:
    """Smooth with one of the three conventions by name ("debiased", "biased", "from-first")."""
    if convention == "debiased":
        return ewma(values, beta, debias=True)
    if convention == "biased":
        return ewma(values, beta, debias=False)
    if convention == "from-first":
        return ewma_from_first(values, beta)
    choices = ", ".join(repr(c) for c in SMOOTHING_CONVENTIONS)
    raise ValueError(f"convention must be one of {choices}, got {convention!r}")
