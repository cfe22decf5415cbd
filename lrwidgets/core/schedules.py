"""Learning-rate (and momentum) schedules as plain arrays, one value per optimizer step.

Each function computes, step for step, what PyTorch's scheduler of the same name sets on the
optimizer: ``one_cycle`` = ``torch.optim.lr_scheduler.OneCycleLR``, ``cyclic`` = ``CyclicLR``.
The formulas are written per step with Python floats, in the order PyTorch evaluates them,
so the numbers agree to the last bit. ``Schedule.to_code()`` prints the PyTorch code.
``fastai_one_cycle`` is fastai's ``fit_one_cycle``, which no PyTorch scheduler expresses.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .checks import (
    check_beta,
    check_bool,
    check_choice,
    check_int,
    check_open_unit,
    check_positive,
    check_steps,
)
from .defaults import (
    CYCLIC_MOMENTA,
    FASTAI_DIV,
    FASTAI_DIV_FINAL,
    FASTAI_MOMS,
    FASTAI_PCT_START,
    ONE_CYCLE_DIV_FACTOR,
    ONE_CYCLE_FINAL_DIV_FACTOR,
    ONE_CYCLE_MOMENTA,
    ONE_CYCLE_PCT_START,
)

ANNEAL_STRATEGIES = ("cos", "linear")
CYCLIC_MODES = ("triangular", "triangular2", "exp_range")


@dataclass(frozen=True)
class Schedule:
    """Per-step learning rates and momenta (``momentum`` is None when the schedule leaves it).

    ``name`` is the PyTorch scheduler it mirrors and ``params`` its keyword arguments.
    """

    name: str
    lr: np.ndarray
    momentum: np.ndarray | None
    params: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.lr)

    @property
    def total_steps(self) -> int:
        return len(self.lr)

    def to_code(self) -> str:
        """PyTorch code that builds the same schedule on an existing ``optimizer``.

        Call ``scheduler.step()`` once after every ``optimizer.step()``.
        """
        if self.name == "fastai_one_cycle":
            return _fastai_code(self.params)
        if self.name == "warmup_cosine":
            from .warmup import warmup_cosine_code  # warmup.py builds on this module

            return warmup_cosine_code(self.params)
        if self.name == "constant":
            lr = self.params["lr"]
            return (
                "import torch\n\n"
                "# A constant learning rate: set it once, then keep it.\n"
                "for group in optimizer.param_groups:\n"
                f"    group['lr'] = {lr!r}\n"
                "scheduler = torch.optim.lr_scheduler.ConstantLR(\n"
                "    optimizer, factor=1.0, total_iters=0\n"
                ")\n"
            )
        args = ", ".join(f"{key}={value!r}" for key, value in self.params.items())
        return (
            "import torch\n\n"
            "# Call scheduler.step() after every optimizer.step().\n"
            f"scheduler = torch.optim.lr_scheduler.{self.name}(optimizer, {args})\n"
        )


def _anneal_cos(start: float, end: float, pct: float) -> float:
    """Cosine from ``start`` (pct=0) to ``end`` (pct=1).

    end + (start - end) / 2 * (cos(pi * pct) + 1)
    """
    cos_out = math.cos(math.pi * pct) + 1
    return end + (start - end) / 2.0 * cos_out


def _anneal_linear(start: float, end: float, pct: float) -> float:
    """Straight line from ``start`` (pct=0) to ``end`` (pct=1)."""
    return (end - start) * pct + start


class Phase(NamedTuple):
    """One phase of a one-cycle schedule, with ``OneCycleLR``'s own key names: from the
    previous phase's ``end_step`` to this one's, the lr anneals ``start_lr`` -> ``end_lr`` and the
    momentum ``start_momentum`` -> ``end_momentum``."""

    end_step: float
    start_lr: float
    end_lr: float
    start_momentum: float
    end_momentum: float


def one_cycle(
    total_steps: int,
    max_lr: float,
    pct_start: float = ONE_CYCLE_PCT_START,
    anneal_strategy: str = "cos",
    div_factor: float = ONE_CYCLE_DIV_FACTOR,
    final_div_factor: float = ONE_CYCLE_FINAL_DIV_FACTOR,
    three_phase: bool = False,
    base_momentum: float = ONE_CYCLE_MOMENTA[0],
    max_momentum: float = ONE_CYCLE_MOMENTA[1],
) -> Schedule:
    """The one-cycle schedule, as ``OneCycleLR`` computes it (with ``cycle_momentum=True``).

    Its defaults (two phases, cosine annealing) are fastai's variant. Smith's own one-cycle
    (Smith 2018, "A disciplined approach to neural network hyper-parameters") is
    ``three_phase=True, anneal_strategy="linear"``: linear up, linear back down, then a short
    final decay; his ``max_lr`` is where the accuracy stops improving in a range test.

    The lr rises from initial = max_lr / div_factor to max_lr during the first ``pct_start`` of
    the steps, then anneals to initial / final_div_factor; the momentum moves the other way,
    max_momentum -> base_momentum -> max_momentum. With ``three_phase`` the lr first comes back
    down to initial symmetrically, and only the last phase anneals to the minimum.
    The phases (``Phase``), with initial = max_lr / div_factor and min = initial / final_div_factor:

    =========  =====================================  ===============  ===============
    phase      end_step                               lr               momentum
    =========  =====================================  ===============  ===============
    warm-up    pct_start * total_steps - 1            initial -> max   max -> base
    anneal     total_steps - 1                        max -> min       base -> max
    =========  =====================================  ===============  ===============

    and with ``three_phase``: warm-up as above, then back down (end 2 * pct_start * total_steps - 2,
    lr max -> initial, momentum base -> max), then the anneal (end total_steps - 1, lr
    initial -> min, momentum at max). Each phase runs from the previous phase's end_step
    (0 for the first) and uses pct = (step - start) / (end_step - start).

    >>> s = one_cycle(total_steps=10, max_lr=1.0)
    >>> [f"{lr:.3g}" for lr in s.lr[[0, 2, 9]]]  # 1/25, the peak at step 0.3 * 10 - 1, 1/25/1e4
    ['0.04', '1', '4e-06']
    >>> s.momentum[[0, 2, 9]].round(3)          # momentum moves the other way
    array([0.95, 0.85, 0.95])
    """
    total_steps = check_steps("total_steps", total_steps, minimum=2)
    max_lr = check_positive("max_lr", max_lr)
    pct_start = check_open_unit("pct_start", pct_start)
    check_choice("anneal_strategy", anneal_strategy, ANNEAL_STRATEGIES)
    div_factor = check_positive("div_factor", div_factor)
    if div_factor < 1:
        raise ValueError(
            f"div_factor must be a number >= 1 (the first lr is max_lr / div_factor, at most "
            f"max_lr), got {div_factor!r}"
        )
    final_div_factor = check_positive("final_div_factor", final_div_factor)
    base_momentum = check_beta("base_momentum", base_momentum)
    max_momentum = check_beta("max_momentum", max_momentum)
    three_phase = check_bool("three_phase", three_phase)

    initial_lr = max_lr / div_factor
    min_lr = initial_lr / final_div_factor
    if not 0 < min_lr < math.inf:
        raise ValueError(
            f"the last lr, max_lr / div_factor / final_div_factor = {max_lr!r} / {div_factor!r}"
            f" / {final_div_factor!r}, must be a finite number > 0; use a smaller "
            "final_div_factor or div_factor"
        )
    up_end = float(pct_start * total_steps) - 1  # as OneCycleLR builds its phases
    if three_phase:
        phases = [
            Phase(up_end, initial_lr, max_lr, max_momentum, base_momentum),
            Phase(
                float(2 * pct_start * total_steps) - 2,
                max_lr,
                initial_lr,
                base_momentum,
                max_momentum,
            ),
            Phase(total_steps - 1, initial_lr, min_lr, max_momentum, max_momentum),
        ]
    else:
        phases = [
            Phase(up_end, initial_lr, max_lr, max_momentum, base_momentum),
            Phase(total_steps - 1, max_lr, min_lr, base_momentum, max_momentum),
        ]
    anneal = _anneal_cos if anneal_strategy == "cos" else _anneal_linear

    lrs, momenta = [], []
    # Step total_steps too: the last scheduler.step() of a run computes it, and OneCycleLR
    # divides by zero there when the last phase is empty (three_phase, pct_start > 0.5).
    for step in range(total_steps + 1):
        start_step = 0.0
        for i, phase in enumerate(phases):
            if step <= phase.end_step or i == len(phases) - 1:
                if phase.end_step == start_step:  # OneCycleLR would divide by zero here
                    raise ValueError(
                        f"pct_start={pct_start!r} leaves an empty phase for "
                        f"total_steps={total_steps}; use more steps or another pct_start"
                    )
                pct = (step - start_step) / (phase.end_step - start_step)
                lrs.append(anneal(phase.start_lr, phase.end_lr, pct))
                momenta.append(anneal(phase.start_momentum, phase.end_momentum, pct))
                break
            start_step = phase.end_step

    params = dict(
        max_lr=max_lr,
        total_steps=total_steps,
        pct_start=pct_start,
        anneal_strategy=anneal_strategy,
        div_factor=div_factor,
        final_div_factor=final_div_factor,
        three_phase=three_phase,
        base_momentum=base_momentum,
        max_momentum=max_momentum,
    )
    return Schedule("OneCycleLR", np.array(lrs[:-1]), np.array(momenta[:-1]), params)


def cyclic(
    total_steps: int,
    base_lr: float,
    max_lr: float,
    step_size_up: int = 2000,
    step_size_down: int | None = None,
    mode: str = "triangular",
    gamma: float = 1.0,
    base_momentum: float = CYCLIC_MOMENTA[0],
    max_momentum: float = CYCLIC_MOMENTA[1],
) -> Schedule:
    """Smith's cyclical learning rates, as ``CyclicLR`` (with ``cycle_momentum=True``).

    One cycle is ``step_size_up`` steps from base_lr to max_lr and ``step_size_down`` back.
    At step t: cycle = floor(1 + t / cycle_len), x = 1 + t / cycle_len - cycle (position in the
    cycle, 0..1), scale = x / up_ratio while rising, else (x - 1) / (up_ratio - 1), and

        lr       = base_lr + (max_lr - base_lr) * scale * f
        momentum = max_momentum - (max_momentum - base_momentum) * scale * f

    with f = 1 ("triangular"), 1 / 2**(cycle - 1) ("triangular2": the height halves each cycle),
    or gamma**t ("exp_range": the height decays every step).

    >>> cyclic(total_steps=8, base_lr=0.1, max_lr=0.5, step_size_up=2).lr.round(3)
    array([0.1, 0.3, 0.5, 0.3, 0.1, 0.3, 0.5, 0.3])
    """
    total_steps = check_steps("total_steps", total_steps, minimum=1)
    base_lr = check_positive("base_lr", base_lr)
    max_lr = check_positive("max_lr", max_lr)
    if max_lr < base_lr:
        raise ValueError(f"max_lr must be >= base_lr, got max_lr={max_lr!r} < base_lr={base_lr!r}")
    step_size_up = check_int("step_size_up", step_size_up, minimum=1)
    if step_size_down is not None:
        step_size_down = check_int("step_size_down", step_size_down, minimum=1)
    check_choice("mode", mode, CYCLIC_MODES)
    gamma = check_positive("gamma", gamma)
    if mode == "exp_range" and (total_steps - 1) * math.log(gamma) > math.log(sys.float_info.max):
        raise ValueError(
            f"gamma={gamma!r} overflows over total_steps={total_steps}: gamma**{total_steps - 1} "
            "is too large for a float; exp_range shrinks the cycles with a gamma just below 1 "
            "(e.g. 0.999)"
        )
    base_momentum = check_beta("base_momentum", base_momentum)
    max_momentum = check_beta("max_momentum", max_momentum)

    up = float(step_size_up)
    down = float(step_size_down) if step_size_down is not None else up
    cycle_len = up + down
    up_ratio = up / cycle_len

    lrs, momenta = [], []
    for step in range(total_steps):
        cycle = math.floor(1 + step / cycle_len)
        x = 1.0 + step / cycle_len - cycle
        scale = x / up_ratio if x <= up_ratio else (x - 1) / (up_ratio - 1)
        if mode == "triangular":
            factor = 1.0
        elif mode == "triangular2":
            factor = 1 / (2.0 ** (cycle - 1))
        else:
            factor = gamma**step
        lrs.append(base_lr + (max_lr - base_lr) * scale * factor)
        momenta.append(max_momentum - (max_momentum - base_momentum) * scale * factor)

    params = dict(
        base_lr=base_lr,
        max_lr=max_lr,
        step_size_up=step_size_up,
        step_size_down=step_size_down,
        mode=mode,
        gamma=gamma,
        base_momentum=base_momentum,
        max_momentum=max_momentum,
    )
    return Schedule("CyclicLR", np.array(lrs), np.array(momenta), params)


def quarter_cycle(total_steps: int) -> int:
    """A ``step_size_up`` that shows two whole cycles in ``total_steps``: a quarter of them (at
    least 1). The widget and the command line use it until a step size is given; PyTorch's
    2000 would never reach ``max_lr`` in a run of fewer than 2000 steps.

    >>> quarter_cycle(1000), quarter_cycle(3)
    (250, 1)
    """
    return max(1, check_steps("total_steps", total_steps, minimum=1) // 4)


def constant(total_steps: int, lr: float) -> Schedule:
    """The same learning rate at every step; the optimizer's momentum is left alone.

    >>> constant(3, 0.1).lr
    array([0.1, 0.1, 0.1])
    """
    total_steps = check_steps("total_steps", total_steps, minimum=1)
    lr = check_positive("lr", lr)
    return Schedule("constant", np.full(total_steps, lr), None, {"lr": lr})


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


def _fastai_code(params: dict) -> str:
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
