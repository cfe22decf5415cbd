"""Learning-rate (and momentum) schedules as plain arrays, one value per optimizer step.

Each function computes, step for step, what PyTorch's scheduler of the same name sets on the
optimizer: ``one_cycle`` = ``torch.optim.lr_scheduler.OneCycleLR``, ``cyclic`` = ``CyclicLR``.
The formulas are written per step with Python floats, in the order PyTorch evaluates them,
so the numbers agree to the last bit. ``Schedule.to_code()`` prints the PyTorch code.
``fastai_one_cycle`` (``fastai_schedule.py``) is fastai's ``fit_one_cycle``, which no PyTorch
scheduler expresses.
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
            from .fastai_schedule import fastai_code  # (it builds Schedules: imported here)

            return fastai_code(self.params)
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
    params = check_one_cycle(
        total_steps,
        max_lr,
        pct_start,
        anneal_strategy,
        div_factor,
        final_div_factor,
        three_phase,
        base_momentum,
        max_momentum,
    )
    phases = one_cycle_phases(**params)
    anneal = _anneal_cos if anneal_strategy == "cos" else _anneal_linear
    lrs, momenta = [], []
    # Step total_steps too: the last scheduler.step() of a run computes it (and OneCycleLR
    # divides by zero there when the last phase is empty: check_one_cycle refuses that).
    for step in range(params["total_steps"] + 1):
        start_step, phase = phase_at(step, phases)
        pct = (step - start_step) / (phase.end_step - start_step)
        lrs.append(anneal(phase.start_lr, phase.end_lr, pct))
        momenta.append(anneal(phase.start_momentum, phase.end_momentum, pct))
    return Schedule("OneCycleLR", np.array(lrs[:-1]), np.array(momenta[:-1]), params)


def one_cycle_phases(
    total_steps: int,
    max_lr: float,
    pct_start: float,
    div_factor: float,
    final_div_factor: float,
    three_phase: bool,
    base_momentum: float,
    max_momentum: float,
    **_: object,
) -> list[Phase]:
    """The phases of ``one_cycle`` (see its table), as ``OneCycleLR`` builds them."""
    initial_lr = max_lr / div_factor
    min_lr = initial_lr / final_div_factor
    up_end = float(pct_start * total_steps) - 1
    warm_up = Phase(up_end, initial_lr, max_lr, max_momentum, base_momentum)
    if not three_phase:
        return [warm_up, Phase(total_steps - 1, max_lr, min_lr, base_momentum, max_momentum)]
    down_end = float(2 * pct_start * total_steps) - 2
    return [
        warm_up,
        Phase(down_end, max_lr, initial_lr, base_momentum, max_momentum),
        Phase(total_steps - 1, initial_lr, min_lr, max_momentum, max_momentum),
    ]


def phase_at(step: int, phases: list[Phase]) -> tuple[float, Phase]:
    """(the step the phase starts at, the phase) for ``step``: the first phase whose end_step
    is not behind it, the last phase past the end."""
    start_step = 0.0
    for phase in phases[:-1]:
        if step <= phase.end_step:
            return start_step, phase
        start_step = phase.end_step
    return start_step, phases[-1]


def check_one_cycle(
    total_steps: object,
    max_lr: object,
    pct_start: object,
    anneal_strategy: object,
    div_factor: object,
    final_div_factor: object,
    three_phase: object,
    base_momentum: object,
    max_momentum: object,
) -> dict:
    """``one_cycle``'s arguments, checked, as ``OneCycleLR``'s keyword arguments; a ValueError
    or TypeError names the argument, also for a first or last phase left empty (where
    ``OneCycleLR`` would divide by zero) and a last lr that is not a finite number > 0."""
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
    params = dict(
        max_lr=max_lr,
        total_steps=total_steps,
        pct_start=pct_start,
        anneal_strategy=anneal_strategy,
        div_factor=div_factor,
        final_div_factor=final_div_factor,
        three_phase=check_bool("three_phase", three_phase),
        base_momentum=check_beta("base_momentum", base_momentum),
        max_momentum=check_beta("max_momentum", max_momentum),
    )
    if not 0 < max_lr / div_factor / final_div_factor < math.inf:
        raise ValueError(
            f"the last lr, max_lr / div_factor / final_div_factor = {max_lr!r} / {div_factor!r}"
            f" / {final_div_factor!r}, must be a finite number > 0; use a smaller "
            "final_div_factor or div_factor"
        )
    phases = one_cycle_phases(**params)
    starts = [0.0] + [phase.end_step for phase in phases[:-1]]
    if any(phase.end_step == start for phase, start in zip(phases, starts, strict=True)):
        raise ValueError(
            f"pct_start={pct_start!r} leaves an empty phase for "
            f"total_steps={total_steps}; use more steps or another pct_start"
        )
    return params


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
    params = check_cyclic(
        total_steps,
        base_lr,
        max_lr,
        step_size_up,
        step_size_down,
        mode,
        gamma,
        base_momentum,
        max_momentum,
    )
    base_lr, max_lr, gamma = params["base_lr"], params["max_lr"], params["gamma"]
    base_momentum, max_momentum = params["base_momentum"], params["max_momentum"]
    up = float(params["step_size_up"])
    down = float(params["step_size_down"] or up)
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

    return Schedule("CyclicLR", np.array(lrs), np.array(momenta), params)


def check_cyclic(
    total_steps: object,
    base_lr: object,
    max_lr: object,
    step_size_up: object,
    step_size_down: object,
    mode: object,
    gamma: object,
    base_momentum: object,
    max_momentum: object,
) -> dict:
    """``cyclic``'s arguments, checked, as ``CyclicLR``'s keyword arguments; a ValueError or
    TypeError names the argument, also for max_lr < base_lr and a gamma that overflows."""
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
    return dict(
        base_lr=base_lr,
        max_lr=max_lr,
        step_size_up=step_size_up,
        step_size_down=step_size_down,
        mode=mode,
        gamma=gamma,
        base_momentum=check_beta("base_momentum", base_momentum),
        max_momentum=check_beta("max_momentum", max_momentum),
    )


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
