"""``fit_ensemble``: one ``fit`` per learning rate and seed, as one batched run; and
``batching_obstacle``: why it cannot stand in for the loop of ``fit`` runs (or None)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any

import numpy as np
import torch
from torch import nn

from ...core import Schedule
from ...core.defaults import BATCH_SIZE
from ...training.data import (
    Batches,
    as_batches,
    fixed_batches,
    is_tensor_pair,
    peek,
    resolve_device,
)
from ...training.fit import check_schedule
from ...training.loop import LossFn, resolve_loss
from ...training.randomness import local_generator, seeded
from .members import (
    Tensors,
    buffers_kept,
    draws_random_numbers,
    evaluate_members,
    member_losses,
    member_outputs,
    stack,
    train_step_members,
)
from .rules import UpdateRule, update_rule


@dataclass(eq=False)
class EnsembleRun:
    """What ``fit_ensemble`` leaves: the trained members and, per member, what ``fit`` records.

    ``params``/``buffers`` are stacked (members, *shape). ``val_loss`` and ``val_accuracy``
    have shape (members, epochs), NaN where a member had stopped; ``epochs_recorded`` counts
    the epochs each member finished; ``stopped_early`` marks members whose loss stopped being
    finite.
    """

    model: nn.Module
    params: Tensors
    buffers: Tensors
    val_loss: np.ndarray
    val_accuracy: np.ndarray
    epochs_recorded: np.ndarray
    stopped_early: np.ndarray

    def loss_on(self, batches: list, loss_fn: LossFn) -> np.ndarray:
        """Each member's mean loss over ``batches`` (eval mode, no gradients)."""
        return evaluate_members(self.model, self.params, self.buffers, batches, loss_fn)[0]

    @staticmethod
    def joined(runs: Sequence[EnsembleRun]) -> EnsembleRun:
        """The members of several runs in one, in order."""
        if len(runs) == 1:
            return runs[0]
        return EnsembleRun(
            model=runs[0].model,
            params={k: torch.cat([r.params[k] for r in runs]) for k in runs[0].params},
            buffers={k: torch.cat([r.buffers[k] for r in runs]) for k in runs[0].buffers},
            val_loss=np.concatenate([r.val_loss for r in runs]),
            val_accuracy=np.concatenate([r.val_accuracy for r in runs]),
            epochs_recorded=np.concatenate([r.epochs_recorded for r in runs]),
            stopped_early=np.concatenate([r.stopped_early for r in runs]),
        )


def fit_ensemble(
    models: Sequence[nn.Module],
    data: Any,
    loss_fn: LossFn | None,
    optimizer: torch.optim.Optimizer | None,
    schedules: Sequence[Schedule | float],
    *,
    seeds: Sequence[int | None],
    epochs: int = 1,
    val_data: Any = None,
    batch_size: int = BATCH_SIZE,
    device: str | torch.device = "auto",
) -> EnsembleRun:
    """``fit(copy of models[k], data, loss_fn, optimizer, schedule=schedules[i], seed=seeds[k])``
    for every seed k and schedule i, as one batched run; member k * len(schedules) + i.

    The members of one seed start from the same weights (``models[k]``'s) and see the same
    batches and dropout masks. The models themselves are not trained (only moved to
    ``device``). ``optimizer`` (over ``models[0]``) only says which update to use
    (``update_rule``). A schedule's momentum, when it has one, sets SGD's momentum or Adam's
    beta1, as in ``fit``. Seeds train together when the model draws no random numbers, else
    one seed after another (one random stream per seed, as in ``fit``).
    """
    if len(models) != len(seeds) or not models:
        raise ValueError(f"give one model per seed, got {len(models)} models, {len(seeds)} seeds")
    if not is_tensor_pair(data):
        raise TypeError(
            f"data must be a tuple (X, y) of tensors or arrays, got {type(data).__name__}"
        )
    device = resolve_device(device)
    for model in models:
        model.to(device)
    rule = update_rule(optimizer, models[0])
    batches = as_batches(data, batch_size)
    per_epoch = len(batches)
    plans = [check_schedule(s, epochs * per_epoch, epochs) for s in schedules]
    if len({p.momentum is None for p in plans}) > 1:
        raise ValueError("schedules must all set the momentum, or none of them")
    batches = batches.to(device)
    groups = [range(len(seeds))]
    if len(seeds) > 1 and draws_random_numbers(models[0], next(batches.epoch(shuffle=False))[0]):
        groups = [[k] for k in range(len(seeds))]
    runs = [
        train_members(
            [models[k] for k in group],
            [seeds[k] for k in group],
            batches,
            loss_fn,
            rule,
            plans,
            epochs,
            fixed_batches(val_data, batch_size, device),
            device,
        )
        for group in groups
    ]
    return EnsembleRun.joined(runs)


def train_members(
    models: Sequence[nn.Module],
    seeds: Sequence[int | None],
    batches: Batches,
    loss_fn: LossFn | None,
    rule: UpdateRule,
    plans: Sequence[Schedule],
    epochs: int,
    val: list | None,
    device: torch.device,
) -> EnsembleRun:
    """``fit_ensemble``'s work for seeds that train together (one seed, or a model that draws
    no random numbers): each step one batch per seed, one update for every member."""
    model, per_epoch, rates = models[0], len(batches), len(plans)
    members = len(models) * rates

    def per_step(values: list[np.ndarray]) -> torch.Tensor:  # (steps, members)
        return torch.tensor(np.stack(values, axis=1), dtype=torch.float64).tile(len(models))

    lrs = per_step([p.lr for p in plans]).to(device)
    momenta = None if plans[0].momentum is None else per_step([p.momentum for p in plans])
    momenta = None if momenta is None else momenta.to(device)
    params, buffers = stack(models, rates)
    state: dict = {}
    active = torch.ones(members, dtype=torch.bool, device=device)
    val_loss = np.full((members, epochs), math.nan)
    val_accuracy = np.full((members, epochs), math.nan)
    recorded = np.zeros(members, dtype=int)
    with seeded(seeds[0] if len(seeds) == 1 else None):
        model.train()

        def stream(seed: int | None) -> Iterator:
            generator = local_generator(seed)
            epoch_batches = (islice(batches.epoch(generator), per_epoch) for _ in range(epochs))
            return chain.from_iterable(epoch_batches)

        first, steps = peek(zip(*(stream(seed) for seed in seeds), strict=True))
        loss_fn = resolve_loss(loss_fn, None, first[0])
        for step, seed_batches in enumerate(steps):
            all_active = bool(active.all())
            if not all_active:
                before = {k: t.detach().clone() for k, t in chain(params.items(), buffers.items())}
            mu = None if momenta is None else momenta[step]
            losses = train_step_members(
                model, params, buffers, seed_batches, loss_fn, rule, state, lrs[step], mu
            )
            with torch.no_grad():
                if not all_active:  # stopped members keep what they had
                    for k, t in chain(params.items(), buffers.items()):
                        t[~active] = before[k][~active]
                active &= torch.isfinite(losses)
            if val is not None and (step + 1) % per_epoch == 0:
                epoch = step // per_epoch
                loss, accuracy = evaluate_members(model, params, buffers, val, loss_fn, True)
                keep = active.cpu().numpy()
                val_loss[keep, epoch], val_accuracy[keep, epoch] = loss[keep], accuracy[keep]
                recorded[keep] = epoch + 1
    return EnsembleRun(
        model=model,
        params=params,
        buffers=buffers,
        val_loss=val_loss,
        val_accuracy=val_accuracy,
        epochs_recorded=recorded,
        stopped_early=~active.cpu().numpy(),
    )


def batching_obstacle(
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None,
    data: Any,
    batch_size: int,
    loss_fn: LossFn | None = None,
    *,
    clip_grad_norm: float | None = None,
    accumulation_steps: int = 1,
) -> str | None:
    """Why ``fit_ensemble`` cannot stand in for a loop of ``fit`` here, or None when it can.

    It can for (X, y) data, no gradient clipping and no accumulation (``fit`` does both; the
    ensemble does neither), an optimizer ``update_rule`` knows, and a model (and loss) that
    torch.func batches: two stacked members on the first batch must give the model's own loss
    in train mode (under the same random seed) and its own outputs in eval mode. The model and
    torch's random stream are left as found.
    """
    if not is_tensor_pair(data):
        return f"the training data is a {type(data).__name__}, not (X, y) tensors"
    if clip_grad_norm is not None:
        return f"clip_grad_norm={clip_grad_norm!r}: the batched ensemble does not clip gradients"
    if accumulation_steps != 1:
        return (
            f"accumulation_steps={accumulation_steps!r}: the batched ensemble takes one batch "
            "per step"
        )
    try:
        update_rule(optimizer, model)
    except ValueError as error:
        return str(error)
    batches = as_batches(data, batch_size).to(next(model.parameters()).device)
    inputs, targets = next(batches.epoch(shuffle=False))
    loss_fn = resolve_loss(loss_fn, None, (inputs, targets))
    params, buffers = stack([model], 2)
    try:
        with torch.no_grad(), buffers_kept(model):
            model.train()
            with seeded(0):
                losses = member_losses(model, params, buffers, inputs[None], targets[None], loss_fn)
            with seeded(0):
                loss = loss_fn(model(inputs), targets)
            model.eval()
            outputs = member_outputs(model, params, buffers, inputs)
            same = torch.allclose(losses[1], loss, rtol=1e-4, atol=1e-6) and torch.allclose(
                outputs[1], model(inputs), rtol=1e-4, atol=1e-6
            )
    except Exception as error:  # noqa: BLE001 - any failure means: train it in a loop
        return f"torch.func cannot batch this model ({type(error).__name__}: {error})"
    if not same:
        return "torch.func gives this model other outputs than the model itself"
    return None
