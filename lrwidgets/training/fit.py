"""Train a model with a learning-rate (and momentum) schedule, one value per optimizer step.

Where the range test leaves the model as it found it, ``fit`` trains it: the model's weights
change, that is its job. Step t (counted over all epochs, from 0) does:

    lr on every param group        = schedule.lr[t]
    momentum on every param group  = schedule.momentum[t]   (when the schedule has momenta)
    one optimizer step on one batch, and record lr, momentum and the batch's loss

which is what ``scheduler.step()`` after every ``optimizer.step()`` does with the PyTorch
scheduler the Schedule mirrors (``Schedule.to_code()``). The momentum goes to the group's
``"momentum"`` (SGD, RMSprop) or to ``betas[0]`` (Adam, AdamW, ...).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from numbers import Real
from typing import Any

import numpy as np
import torch
from torch import nn

from ..core import Schedule, constant
from ..core.checks import check_int, check_positive
from ..core.defaults import BATCH_SIZE
from .data import Batches, as_batches, in_groups, optimizer_steps, resolve_device
from .groups import lr_ratios, set_group_lrs
from .loop import (
    STOPPED_BY_CALLBACK,
    Callback,
    LossFn,
    StepFn,
    autocast,
    check_common,
    evaluate,
    grad_scaler,
    train_step,
)
from .randomness import local_generator
from .run import first_batch, training_run


@dataclass(eq=False)  # numpy arrays have no single truth value to compare by
class History:
    """What ``fit`` saw.

    Per step: ``lr``, ``momentum`` and the raw training ``loss``. ``momentum`` is the
    group's ``"momentum"`` or ``betas[0]``, NaN for an optimizer that has neither. Per epoch:
    ``val_loss`` and ``val_accuracy`` on ``val_data`` (empty without it; the accuracy is NaN
    for regression). ``stopped_early`` and ``stop_reason``: the callback stopped training or
    the loss stopped being finite; False and None otherwise.
    """

    lr: np.ndarray = field(repr=False)
    momentum: np.ndarray = field(repr=False)
    loss: np.ndarray = field(repr=False)
    val_loss: np.ndarray = field(repr=False)
    val_accuracy: np.ndarray = field(repr=False)
    steps_per_epoch: int = 0
    stopped_early: bool = False
    stop_reason: str | None = None


def momentum_of(group: dict) -> float:
    """The momentum of a param group: ``momentum``, ``betas[0]``, or NaN."""
    if "momentum" in group:
        return group["momentum"]
    if "betas" in group:
        return group["betas"][0]
    return math.nan


def set_momentum(optimizer: torch.optim.Optimizer, momentum: float) -> None:
    for group in optimizer.param_groups:
        if "momentum" in group:
            group["momentum"] = momentum
        else:
            group["betas"] = (momentum, *group["betas"][1:])


def set_step_schedule(
    optimizer: torch.optim.Optimizer,
    lrs: list[float] | None,
    momenta: list[float] | None,
    step: int,
    ratios: tuple[float, ...] = (1.0,),
) -> None:
    """Set step ``step``'s lr and momentum on every param group (None: leave it as it is);
    group i gets ``lrs[step] * ratios[i]``, the ratios the optimizer had (``groups.py``)."""
    if lrs is not None:
        set_group_lrs(optimizer, lrs[step], ratios)
    if momenta is not None:
        set_momentum(optimizer, momenta[step])


def stop_reason(loss: float, stop: object) -> str | None:
    """Why fit stops after this step: a loss that is not finite, or the callback asked to."""
    if not math.isfinite(loss):
        return f"loss is not finite ({loss})"
    if stop:
        return STOPPED_BY_CALLBACK
    return None


def check_schedule(schedule: object, total_steps: int, epochs: int) -> Schedule | None:
    """A Schedule of ``total_steps`` steps (a number becomes a constant one), or None."""
    if schedule is None or isinstance(schedule, Schedule):
        pass
    elif isinstance(schedule, Real) and not isinstance(schedule, bool):
        schedule = constant(total_steps, check_positive("schedule", schedule))
    else:
        raise TypeError(
            "schedule must be a Schedule, a number (a constant lr) or None, "
            f"got {type(schedule).__name__}"
        )
    if schedule is not None and len(schedule) != total_steps:
        raise ValueError(
            f"schedule has {len(schedule)} steps but training takes {total_steps} "
            f"(epochs={epochs} x steps_per_epoch={total_steps // epochs}); "
            f"build the schedule with total_steps={total_steps}"
        )
    return schedule


def check_learning_rate(schedule: Schedule | None, optimizer: torch.optim.Optimizer | None) -> None:
    """The lr comes from the schedule or the optimizer; the schedule's momenta need a place."""
    if optimizer is None and schedule is None:
        raise ValueError(
            "fit needs a learning rate: pass schedule (a Schedule or a number) or an optimizer"
        )
    if optimizer is not None:
        check_momentum_target(schedule, optimizer)


def check_momentum_target(schedule: Schedule | None, optimizer: torch.optim.Optimizer) -> None:
    if schedule is None or schedule.momentum is None:
        return
    for group in optimizer.param_groups:
        if "momentum" not in group and "betas" not in group:
            raise ValueError(
                f"schedule sets the momentum, but optimizer {type(optimizer).__name__} has "
                "neither 'momentum' nor 'betas'; use a schedule without momentum "
                "(a number or lrwidgets.constant) or another optimizer"
            )


def in_epochs(
    batches: Batches, epochs: int, per_epoch: int, generator: torch.Generator | None
) -> Iterator:
    """``epochs`` passes of ``per_epoch`` batches each, every pass in a fresh order."""
    return chain.from_iterable(islice(batches.epoch(generator), per_epoch) for _ in range(epochs))


def fit(
    model: nn.Module,
    data: Any,
    loss_fn: LossFn | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    epochs: int = 1,
    schedule: Schedule | float | None = None,
    val_data: Any = None,
    batch_size: int = BATCH_SIZE,
    device: str | torch.device = "auto",
    seed: int | None = None,
    progress: bool = True,
    callback: Callback | None = None,
    step_fn: StepFn | None = None,
    amp: bool | str = False,
    accumulation_steps: int = 1,
    clip_grad_norm: float | None = None,
) -> History:
    """Train ``model`` for ``epochs`` epochs with ``schedule``; return the History.

    The model and the optimizer are changed (trained) in place; the model trains on ``device``
    and is back on its own device afterwards, in train mode.

    - ``data``, ``val_data``, ``loss_fn``, ``batch_size``, ``device``, ``seed``, ``step_fn``,
      ``amp``, ``accumulation_steps``, ``clip_grad_norm``: as for ``range_test``. An epoch is
      ``steps_per_epoch(data, batch_size, accumulation_steps)`` optimizer steps, each on
      ``accumulation_steps`` batches (an epoch's last batches that make no whole step are left
      out of it).
    - ``schedule``: a ``Schedule`` of exactly epochs x steps_per_epoch steps, a number (a
      constant lr), or None (the optimizer keeps its own lr).
    - ``optimizer``: None is SGD with momentum 0.9; it then needs a schedule for its lr. With
      several param groups, the schedule sets group 0's lr and the others keep their ratio to it
      (as ``range_test`` sweeps them), so a backbone at a tenth of the head stays at a tenth.
    - ``callback(step, lr, loss)`` after every step; a truthy return stops training, as does a
      loss that is not finite.
    """
    epochs = check_int("epochs", epochs, minimum=1)
    check_common(model, loss_fn, optimizer, seed, callback, step_fn, progress)
    if clip_grad_norm is not None:
        clip_grad_norm = check_positive("clip_grad_norm", clip_grad_norm)
    device = resolve_device(device)
    batches = as_batches(data, batch_size)
    per_epoch = optimizer_steps(len(batches), accumulation_steps)
    schedule = check_schedule(schedule, epochs * per_epoch, epochs)
    check_learning_rate(schedule, optimizer)
    amp_context = autocast(device, amp)
    scaler = grad_scaler(device, amp)
    batches = batches.to(device)

    lrs = None if schedule is None else schedule.lr.tolist()
    ratios = (1.0,) if schedule is None else lr_ratios(optimizer)
    momenta = None if schedule is None or schedule.momentum is None else schedule.momentum.tolist()
    seen_lr, seen_momentum, losses, val_losses, val_accuracies = [], [], [], [], []
    reason = None
    with training_run(
        model,
        optimizer,
        device,
        lrs[0] if lrs else 0.0,
        seed=seed,
        data=data,
        val_data=val_data,
        batch_size=batch_size,
        steps=epochs * per_epoch,
        desc="fit",
        progress=progress,
        restore_after=False,
    ) as run:
        group = run.opt.param_groups[0]  # the lr and momentum recorded are this group's
        used = per_epoch * accumulation_steps  # batches per epoch that make whole steps
        stream = in_epochs(batches, epochs, used, local_generator(seed))
        loss_fn, stream = first_batch(stream, model, loss_fn, step_fn, amp_context)
        for step, step_batches in enumerate(in_groups(stream, accumulation_steps)):
            set_step_schedule(run.opt, lrs, momenta, step, ratios)
            loss = train_step(
                model,
                run.opt,
                step_batches,
                loss_fn,
                step_fn,
                amp_context,
                clip_grad_norm=clip_grad_norm,
                scaler=scaler,
            ).loss.item()
            lr = group["lr"]
            seen_lr.append(lr)
            seen_momentum.append(momentum_of(group))
            losses.append(loss)
            run.bar.update()
            reason = stop_reason(loss, callback is not None and callback(step, lr, loss))
            if reason is not None:
                break
            if run.val is not None and (step + 1) % per_epoch == 0:  # the end of an epoch
                val_loss, val_accuracy = evaluate(
                    model, run.val, loss_fn, step_fn, amp_context, accuracy=True
                )
                val_losses.append(val_loss)
                val_accuracies.append(val_accuracy)
    return History(
        lr=np.array(seen_lr, dtype=float),
        momentum=np.array(seen_momentum, dtype=float),
        loss=np.array(losses),
        val_loss=np.array(val_losses),
        val_accuracy=np.array(val_accuracies),
        steps_per_epoch=per_epoch,
        stopped_early=reason is not None,
        stop_reason=reason,
    )
