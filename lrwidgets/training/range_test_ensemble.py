"""Several range tests as one batched run: ``repeat_range_test(..., batched=None)``.

Member k is ``range_test(models[k], data, optimizer=..., seed=orders[k], ...)``: its own initial
weights, the batch order (and dropout) of its seed, the same sweep of learning rates. All
members take their steps together (``ensemble.member_losses``: one vmap over the batch orders,
one over the members sharing an order), and each keeps its own curve as ``range_test``'s loop
does: loss_t, its debiased EWMA (``core.EWMA``) and the stop rule (``core.divergence_reason``).
A member that stops records nothing more; the run ends when all have stopped or the sweep is
done. The models are only read (copies of their weights train), so nothing needs restoring.

Two shapes batch: every member on one batch order (``vary="init"``: one random stream, as in
the loop, so dropout is fine), or every member on its own order (``"order"``, ``"both"``), which
needs a model that draws no random numbers: each loop run has its own random stream.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..core import EWMA, check_diverge_th, divergence_reason, lr_sweep
from ..core.checks import check_beta
from .data import as_batches, forever, held_out, peek, resolve_device
from .ensemble import (
    batching_obstacle,
    draws_random_numbers,
    evaluate_members,
    stack,
    train_step_members,
    update_rule,
)
from .loop import LossFn, check_common, resolve_loss
from .result import RangeTestResult
from .state import local_generator, seeded

# range_test's arguments the batched run takes; any other (callback, step_fn, amp, ...) needs
# the loop
BATCHED_OPTIONS = (
    "loss_fn",
    "start_lr",
    "end_lr",
    "num_iter",
    "mode",
    "beta",
    "diverge_th",
    "val_data",
    "batch_size",
    "device",
    "progress",
)


def repeat_obstacle(
    models: Sequence[nn.Module],
    optimizer: torch.optim.Optimizer | None,
    data: Any,
    orders: Sequence[int],
    options: dict[str, Any],
) -> str | None:
    """Why these range tests cannot run as one batched run, or None when they can."""
    others = sorted(set(options) - set(BATCHED_OPTIONS))
    if others:
        return f"range_test's {', '.join(others)} need the loop"
    if len(set(orders)) not in (1, len(orders)):
        return "the seeds repeat: members must share one batch order or each have their own"
    batch_size = options.get("batch_size", 64)
    obstacle = batching_obstacle(models[0], optimizer, data, batch_size, options.get("loss_fn"))
    if obstacle is None and len(set(orders)) > 1:
        inputs = as_batches(data, batch_size).X[:batch_size]
        if draws_random_numbers(models[0], inputs.to(next(models[0].parameters()).device)):
            return "the model draws random numbers, and each batch order needs its own stream"
    return obstacle


@dataclass
class Curve:
    """One member's curve, recorded and judged step by step as ``range_test``'s loop does."""

    beta: float
    diverge_th: float
    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    train_losses: list[float] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    best: float = math.inf
    reason: str | None = None

    def __post_init__(self) -> None:
        self.smoother = EWMA(self.beta)

    def record(self, lr: float, train: float, val: float | None) -> None:
        """Take one step's losses; the curve follows ``val`` when there is one."""
        loss = train if val is None else val
        smooth = self.smoother.update(loss)
        self.best = min(self.best, smooth)
        self.lrs.append(lr)
        self.train_losses.append(train)
        if val is not None:
            self.val_losses.append(val)
        self.losses.append(loss)
        self.smoothed.append(smooth)
        self.reason = divergence_reason(loss, smooth, self.best, self.diverge_th)


def range_tests_batched(
    models: Sequence[nn.Module],
    data: Any,
    *,
    orders: Sequence[int],
    optimizer: torch.optim.Optimizer | None,
    loss_fn: LossFn | None,
    start_lr: float,
    end_lr: float,
    num_iter: int,
    mode: str,
    beta: float,
    diverge_th: float,
    val_data: Any,
    batch_size: int,
    device: str | torch.device,
    progress: bool,
) -> list[RangeTestResult]:
    """``[range_test(models[k], data, optimizer=optimizer over models[k], seed=orders[k], ...)
    for every k]`` as one batched run (see the module's docstring); ``repeat_obstacle`` says
    when it applies. ``optimizer`` (over ``models[0]``) only names the update."""
    planned = lr_sweep(start_lr, end_lr, num_iter, mode)
    beta = check_beta("beta", beta)
    diverge_th = check_diverge_th(diverge_th)
    check_common(models[0], loss_fn, optimizer, None, None, None)
    target = resolve_device(device)
    batches = as_batches(data, batch_size).to(target)
    streams = list(dict.fromkeys(orders))  # one batch order per distinct seed
    members = len(models)
    for model in models:
        model.to(target)
    rule = update_rule(optimizer, models[0])
    params, buffers = stack(models, 1)
    state: dict = {}
    curves = [Curve(beta, diverge_th) for _ in models]
    model = models[0]
    with seeded(orders[0]):
        val = held_out(val_data, batch_size, target)
        model.train()
        sources = [forever(batches, local_generator(seed)) for seed in streams]
        first, steps = peek(zip(*sources, strict=True))
        loss_fn = resolve_loss(loss_fn, None, first[0])
        bar = tqdm(total=num_iter, desc="range tests", disable=not progress)
        for lr, step_batches in zip(planned.tolist(), islice(steps, num_iter), strict=True):
            lr_per_member = torch.full((members,), lr, dtype=torch.float64, device=target)
            train = train_step_members(
                model, params, buffers, step_batches, loss_fn, rule, state, lr_per_member, None
            ).tolist()
            held = (
                None if val is None else evaluate_members(model, params, buffers, val, loss_fn)[0]
            )
            for k, curve in enumerate(curves):
                if curve.reason is None:
                    curve.record(lr, train[k], None if held is None else float(held[k]))
            bar.update()
            if all(curve.reason is not None for curve in curves):
                break
        bar.close()
    return [
        RangeTestResult(
            lrs=np.array(curve.lrs),
            losses=np.array(curve.losses),
            planned_lrs=planned,
            mode=mode,
            beta=beta,
            diverge_th=diverge_th,
            stopped_early=curve.reason is not None,
            stop_reason=curve.reason,
            val_losses=None if val is None else np.array(curve.val_losses),
            train_losses=np.array(curve.train_losses),
            smoothed_losses=np.array(curve.smoothed),
        )
        for curve in curves
    ]
