"""fastai's one-cycle schedule (``Learner.fit_one_cycle``), which no PyTorch scheduler
expresses: cosine phases at fastai's float32 positions, and the plain PyTorch code that sets it."""

from __future__ import annotations

import math

import numpy as np

from .checks import check_beta, check_int, check_open_unit, check_positive
from .defaults import FASTAI_DIV, FASTAI_DIV_FINAL, FASTAI_MOMS, FASTAI_PCT_START
from .schedules import Schedule


def _fastai_position(pos: float, pct_start: float) -> tuple[int, float]:
    """fastai's ``combine_scheds`` with two phases: (phase, position inside it), computed in
    float32 as fastai does (its phase bounds are a float32 tensor, cumsum([0, pct, 1 - pct]))."""
    bounds = np.cumsum(np.array([0.0, pct_start, 1.0 - pct_start], dtype=np.float32))
    here = np.float32(pos)
    phase = 1 if here >= bounds[1] else 0
    inside = (here - bounds[phase]) / (bounds[phase + 1] - bounds[phase])
    return phase, float(inside)


def _fastai_cos(start: float, end: float, pos: float) -> float:
    """fastai's ``sched_cos``: start + (1 + cos(pi * (1 - pos))) * (end - start) / 2."""
    return start + (1 + math.cos(math.pi * (1 - pos))) * (end - start) / 2


def fastai_one_cycle(
    total_steps: int,
    lr_max: float,
    *,
    div: float = FASTAI_DIV,
    div_final: float = FASTAI_DIV_FINAL,
    pct_start: float = FASTAI_PCT_START,
    moms: tuple[float, float, float] = FASTAI_MOMS,
) -> Schedule:
    """fastai's ``Learner.fit_one_cycle`` schedule (``combined_cos`` run by ``ParamScheduler``).

    Step i of N is at position pos = i / N (fastai's ``pct_train``), never 1. The first
    ``pct_start`` of the positions is phase 0, the rest phase 1; inside a phase
    p = (pos - phase start) / (phase length), in float32 as in fastai, and

        phase 0:  lr = cos(lr_max / div -> lr_max),        momentum = cos(moms[0] -> moms[1])
        phase 1:  lr = cos(lr_max -> lr_max / div_final),  momentum = cos(moms[1] -> moms[2])

    with cos(a -> b) = a + (1 + cos(pi * (1 - p))) * (b - a) / 2. Unlike ``OneCycleLR``
    (``one_cycle``), which peaks at step pct_start * N - 1 and ends exactly on its minimum,
    fastai peaks at step pct_start * N (when that is a whole number; otherwise no step lands
    on lr_max) and its last rate stays above lr_max / div_final: notebook 03 shows both.

    >>> schedule = fastai_one_cycle(100, lr_max=1.0)
    >>> int(schedule.lr.argmax()), float(schedule.lr[25]), float(schedule.momentum[25])
    (25, 1.0, 0.85)
    """
    total_steps = check_int("total_steps", total_steps, minimum=1)
    lr_max = check_positive("lr_max", lr_max)
    div = check_positive("div", div)
    div_final = check_positive("div_final", div_final)
    pct_start = check_open_unit("pct_start", pct_start)
    if not isinstance(moms, (tuple, list)) or len(moms) != 3:
        raise TypeError(f"moms must be a tuple of 3 momenta (start, middle, end), got {moms!r}")
    moms = tuple(check_beta(f"moms[{i}]", m) for i, m in enumerate(moms))

    rates = (lr_max / div, lr_max, lr_max / div_final)
    lrs, momenta = [], []
    for step in range(total_steps):
        phase, pos = _fastai_position(step / total_steps, pct_start)
        lrs.append(_fastai_cos(rates[phase], rates[phase + 1], pos))
        momenta.append(_fastai_cos(moms[phase], moms[phase + 1], pos))
    params = dict(
        total_steps=total_steps,
        lr_max=lr_max,
        div=div,
        div_final=div_final,
        pct_start=pct_start,
        moms=moms,
    )
    return Schedule("fastai_one_cycle", np.array(lrs), np.array(momenta), params)


def fastai_code(params: dict) -> str:
    """Plain PyTorch code (numpy for fastai's float32 positions) for ``fastai_one_cycle``."""
    args = ", ".join(f"{key}={value!r}" for key, value in params.items())
    return f"""import math

import numpy as np


def fastai_one_cycle(step, {args}):
    \"\"\"fastai's fit_one_cycle at step (0-based): (lr, momentum).\"\"\"
    bounds = np.cumsum(np.array([0.0, pct_start, 1.0 - pct_start], dtype=np.float32))
    pos = np.float32(step / total_steps)
    phase = 1 if pos >= bounds[1] else 0
    p = float((pos - bounds[phase]) / (bounds[phase + 1] - bounds[phase]))
    rates = (lr_max / div, lr_max, lr_max / div_final)
    lr = rates[phase] + (1 + math.cos(math.pi * (1 - p))) * (rates[phase + 1] - rates[phase]) / 2
    mom = moms[phase] + (1 + math.cos(math.pi * (1 - p))) * (moms[phase + 1] - moms[phase]) / 2
    return lr, mom


def set_fastai_one_cycle(optimizer, step):
    \"\"\"Call before every optimizer.step(), with step = 0, 1, 2, ...\"\"\"
    lr, mom = fastai_one_cycle(step)
    for group in optimizer.param_groups:
        group["lr"] = lr
        if "momentum" in group:
            group["momentum"] = mom
        elif "betas" in group:
            group["betas"] = (mom, *group["betas"][1:])
"""
