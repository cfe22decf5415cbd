"""Several param groups at different learning rates (discriminative rates, a backbone at a
tenth of the head): the range test sweeps them all and keeps the ratios between them.

With the optimizer's own rates lr_0, lr_1, ... (group 0 first), the sweep's rate r_t goes to

    group i:  lr = r_t * (lr_i / lr_0)

so group 0 takes exactly the swept rate (the curve's x axis) and every other group moves in
step with it, as the user's training will move them. This is fastai's per-group start/end
convention (``lr_find(start_lr=[...], end_lr=[...])``) with start_i / start_0 = end_i / end_0,
the one case that keeps the ratios of the training; one x axis and one suggestion then carry
over to every group by the same ratios (``RangeTestResult.apply``).
"""

from __future__ import annotations

import math

import torch

from .loop import set_lr


def lr_ratios(optimizer: torch.optim.Optimizer | None) -> tuple[float, ...]:
    """lr_i / lr_0 for every param group (``(1.0,)`` for the default optimizer or one group).

    Raises ValueError if there are several groups and group 0's lr is not a finite number > 0
    (no ratio to keep).
    """
    if optimizer is None or len(optimizer.param_groups) == 1:
        return (1.0,)
    rates = [float(group["lr"]) for group in optimizer.param_groups]
    if not math.isfinite(rates[0]) or rates[0] <= 0:
        raise ValueError(
            f"optimizer param group 0 has lr={rates[0]!r}; it must be a finite number > 0, "
            "because the range test keeps the ratios lr_i / lr_0 between the groups"
        )
    return tuple(rate / rates[0] for rate in rates)


def set_group_lrs(optimizer: torch.optim.Optimizer, lr: float, ratios: tuple[float, ...]) -> None:
    """Group i gets ``lr * ratios[i]`` (every group ``lr`` when there is one ratio)."""
    if len(ratios) == 1:
        set_lr(optimizer, lr)
        return
    for group, ratio in zip(optimizer.param_groups, ratios, strict=True):
        group["lr"] = lr * ratio
