"""Linear warm-up, then cosine decay: how transformers are trained (GPT-2, nanoGPT, BERT's
schedule with a cosine tail), as PyTorch writes it with its own schedulers:

    warmup = LinearLR(optimizer, start_factor, end_factor=1.0, total_iters=warmup_steps)
    cosine = CosineAnnealingLR(optimizer, T_max=total_steps - warmup_steps, eta_min=min_lr)
    SequentialLR(optimizer, [warmup, cosine], milestones=[warmup_steps])

``warmup_cosine`` computes, step for step and to the last bit, the lr that this gives the
optimizer (whose lr is ``max_lr`` before the schedulers are built). Step t of the run:

    t <  w:  lr_t = max_lr * (start_factor + (1 - start_factor) * t / w)       (warm-up)
    t >= w:  lr_t = min_lr + (max_lr - min_lr) * (1 + cos(pi * (t - w) / (N - w))) / 2

with w = warmup_steps and N = total_steps. PyTorch reaches both by multiplying the previous lr
by a ratio at every step (its "recursive" form), so the numbers here are computed the same way.
Why warm up: Adam's second-moment estimate starts from a handful of gradients, so its first
steps can be far too large; a few steps at a small lr let it settle (Liu et al. 2020, "On the
Variance of the Adaptive Learning Rate and Beyond").
"""

from __future__ import annotations

import math

import numpy as np

from .checks import check_int, check_non_negative, check_open_unit, check_positive, check_steps
from .defaults import LINEAR_LR_START_FACTOR, WARMUP_SHARE, WARMUP_START_FACTOR
from .schedules import Schedule


def warmup_cosine(
    total_steps: int,
    max_lr: float,
    warmup_steps: int,
    start_factor: float = LINEAR_LR_START_FACTOR,
    min_lr: float = 0.0,
) -> Schedule:
    """``warmup_steps`` of linear warm-up from ``start_factor * max_lr`` to ``max_lr``, then a
    cosine from ``max_lr`` towards ``min_lr`` over the remaining steps (see the module).

    The lr momentum is left alone (``momentum`` is None): AdamW keeps its betas.

    >>> s = warmup_cosine(10, 1.0, warmup_steps=2, start_factor=0.5)
    >>> [round(float(lr), 3) for lr in s.lr]
    [0.5, 0.75, 1.0, 0.962, 0.854, 0.691, 0.5, 0.309, 0.146, 0.038]
    """
    total_steps = check_steps("total_steps", total_steps, minimum=2)
    max_lr = check_positive("max_lr", max_lr)
    warmup_steps = check_int("warmup_steps", warmup_steps, minimum=1, maximum=total_steps - 1)
    start_factor = check_positive("start_factor", start_factor)
    if start_factor > 1:
        raise ValueError(
            f"start_factor must be a number in (0, 1] (the first lr is start_factor * max_lr), "
            f"got {start_factor!r}"
        )
    min_lr = check_non_negative("min_lr", min_lr)
    if min_lr >= max_lr:
        raise ValueError(f"min_lr must be below max_lr={max_lr!r}, got {min_lr!r}")

    t_max = total_steps - warmup_steps
    lr = max_lr * start_factor  # LinearLR's first step
    lrs = [lr]
    for step in range(1, total_steps):
        if step < warmup_steps:  # LinearLR.get_lr: the previous lr times a ratio
            rise = 1.0 - start_factor
            lr = lr * (1.0 + rise / (warmup_steps * start_factor + (step - 1) * rise))
        elif step == warmup_steps:  # SequentialLR starts the cosine at its closed form, epoch 0
            lr = min_lr + (max_lr - min_lr) * (1 + math.cos(math.pi * 0 / t_max)) / 2
        else:  # CosineAnnealingLR.get_lr: recursive, epoch e = step - warmup_steps
            e = step - warmup_steps
            if (e - 1 - t_max) % (2 * t_max) == 0:
                lr = lr + (max_lr - min_lr) * (1 - math.cos(math.pi / t_max)) / 2
            else:
                now, before = math.pi * e / t_max, math.pi * (e - 1) / t_max
                lr = (1 + math.cos(now)) / (1 + math.cos(before)) * (lr - min_lr) + min_lr
        lrs.append(lr)
    params = dict(
        total_steps=total_steps,
        max_lr=max_lr,
        warmup_steps=warmup_steps,
        start_factor=start_factor,
        min_lr=min_lr,
    )
    return Schedule("warmup_cosine", np.array(lrs), None, params)


def warmup_share_cosine(
    total_steps: int,
    max_lr: float,
    warmup_share: float = WARMUP_SHARE,
    start_factor: float = WARMUP_START_FACTOR,
) -> Schedule:
    """``warmup_cosine`` with the warm-up a share of the run: round(warmup_share * total_steps)
    steps (at least 1), from ``start_factor * max_lr``. By default a tenth of the steps from a
    hundredth of the peak, as small GPTs are trained (nanoGPT's Shakespeare: 100 of 5000 steps
    from about 0; BERT: 10,000 of 1,000,000): the transformer problem's own schedule.

    >>> s = warmup_share_cosine(100, 1e-3)
    >>> int(s.lr.argmax()), float(s.lr[0])
    (10, 1e-05)
    """
    total_steps = check_steps("total_steps", total_steps, minimum=2)
    warmup_share = check_open_unit("warmup_share", warmup_share)
    warmup = min(total_steps - 1, max(1, round(warmup_share * total_steps)))
    return warmup_cosine(total_steps, max_lr, warmup, start_factor=start_factor)


def warmup_cosine_code(params: dict) -> str:
    """PyTorch code for ``warmup_cosine(**params)`` on an existing ``optimizer``."""
    warmup, total = params["warmup_steps"], params["total_steps"]
    return (
        "import torch\n"
        "from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR\n\n"
        "# Linear warm-up, then cosine. Call scheduler.step() after every optimizer.step().\n"
        "for group in optimizer.param_groups:\n"
        f"    group['lr'] = {params['max_lr']!r}\n"
        f"warmup = LinearLR(optimizer, start_factor={params['start_factor']!r}, "
        f"end_factor=1.0, total_iters={warmup})\n"
        f"cosine = CosineAnnealingLR(optimizer, T_max={total - warmup}, "
        f"eta_min={params['min_lr']!r})\n"
        f"scheduler = SequentialLR(optimizer, [warmup, cosine], milestones=[{warmup}])\n"
    )
