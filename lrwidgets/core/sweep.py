"""The learning rates of a range test: one per step, growing from start_lr to end_lr."""

from __future__ import annotations

import math

import numpy as np

from .checks import check_bool, check_choice, check_positive, check_steps

SWEEP_MODES = ("exp", "linear")


def lr_sweep(
    start_lr: float, end_lr: float, num_iter: int, mode: str = "exp", endpoint: bool = True
) -> np.ndarray:
    """Return ``num_iter`` learning rates from ``start_lr`` towards ``end_lr``.

    With i = 0 .. n-1, n = ``num_iter`` and the fraction f_i = i / (n - 1) (``endpoint=True``,
    the default) or f_i = i / n (``endpoint=False``):

    - ``mode="exp"`` (geometric):  lr_i = start_lr * (end_lr / start_lr) ** f_i
    - ``mode="linear"`` (arithmetic): lr_i = start_lr + (end_lr - start_lr) * f_i

    ``endpoint=True`` includes both ends, as torch-lr-finder sweeps (and ``np.geomspace``);
    ``endpoint=False`` stops one step short of ``end_lr``, as fastai's ``lr_find`` sweeps
    (its ``SchedExp`` at ``train_iter / num_it``): 1e-7 to 10 in 100 steps ends at 8.3.
    The rates are computed in Python floats, as both peers compute theirs, so that the same
    arguments give the same rates to the last bit (numpy's vectorised power can differ by one
    unit in the last place).

    The exponential sweep spends as many steps on each decade (1e-5..1e-4, 1e-4..1e-3, ...);
    the linear one spends almost all of them near ``end_lr``.

    >>> lr_sweep(1e-3, 1.0, 4)                   # one step per decade
    array([0.001, 0.01 , 0.1  , 1.   ])
    >>> lr_sweep(1e-3, 1.0, 4, mode="linear")    # the same span in equal steps
    array([0.001, 0.334, 0.667, 1.   ])
    >>> lr_sweep(1e-3, 1.0, 3, endpoint=False)   # fastai's: one step short of end_lr
    array([0.001, 0.01 , 0.1  ])
    """
    start_lr = check_positive("start_lr", start_lr)
    end_lr = check_positive("end_lr", end_lr)
    num_iter = check_steps("num_iter", num_iter, minimum=2)
    check_choice("mode", mode, SWEEP_MODES)
    endpoint = check_bool("endpoint", endpoint)
    if start_lr >= end_lr:
        raise ValueError(f"start_lr must be < end_lr, got start_lr={start_lr!r}, end_lr={end_lr!r}")
    if mode == "exp" and not math.isfinite(end_lr / start_lr):
        raise ValueError(
            f"end_lr / start_lr must be a finite number, got end_lr={end_lr!r} / "
            f"start_lr={start_lr!r}, which overflows; narrow the range (e.g. 1e-7 to 10)"
        )
    steps = num_iter - 1 if endpoint else num_iter
    fractions = [i / steps for i in range(num_iter)]
    if mode == "exp":
        lrs = [start_lr * (end_lr / start_lr) ** f for f in fractions]
    else:
        lrs = [start_lr + (end_lr - start_lr) * f for f in fractions]
    if endpoint:
        lrs[-1] = end_lr  # exact end despite rounding
    return np.array(lrs)
