"""The learning rates of a range test: one per step, growing from start_lr to end_lr."""

from __future__ import annotations

import math

import numpy as np

from .checks import check_choice, check_positive, check_steps

SWEEP_MODES = ("exp", "linear")


def lr_sweep(start_lr: float, end_lr: float, num_iter: int, mode: str = "exp") -> np.ndarray:
    """Return ``num_iter`` learning rates from ``start_lr`` to ``end_lr``, both ends included.

    With i = 0 .. n-1 and n = ``num_iter``:

    - ``mode="exp"`` (geometric):  lr_i = start_lr * (end_lr / start_lr) ** (i / (n - 1))
    - ``mode="linear"`` (arithmetic): lr_i = start_lr + (end_lr - start_lr) * i / (n - 1)

    The exponential sweep spends as many steps on each decade (1e-5..1e-4, 1e-4..1e-3, ...);
    the linear one spends almost all of them near ``end_lr``.

    >>> lr_sweep(1e-3, 1.0, 4)                   # one step per decade
    array([0.001, 0.01 , 0.1  , 1.   ])
    >>> lr_sweep(1e-3, 1.0, 4, mode="linear")    # the same span in equal steps
    array([0.001, 0.334, 0.667, 1.   ])
    """
    start_lr = check_positive("start_lr", start_lr)
    end_lr = check_positive("end_lr", end_lr)
    num_iter = check_steps("num_iter", num_iter, minimum=2)
    check_choice("mode", mode, SWEEP_MODES)
    if start_lr >= end_lr:
        raise ValueError(f"start_lr must be < end_lr, got start_lr={start_lr!r}, end_lr={end_lr!r}")
    if mode == "exp" and not math.isfinite(end_lr / start_lr):
        raise ValueError(
            f"end_lr / start_lr must be a finite number, got end_lr={end_lr!r} / "
            f"start_lr={start_lr!r}, which overflows; narrow the range (e.g. 1e-7 to 10)"
        )
    fraction = np.arange(num_iter) / (num_iter - 1)
    if mode == "exp":
        lrs = start_lr * (end_lr / start_lr) ** fraction
    else:
        lrs = start_lr + (end_lr - start_lr) * fraction
    lrs[-1] = end_lr  # exact end despite rounding
    return lrs
