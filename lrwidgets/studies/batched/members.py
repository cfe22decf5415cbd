"""Many members of one model as one: their parameters stacked along a new first dimension,
``torch.func.vmap`` over ``functional_call`` for their outputs, losses and gradients."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from ...training.loop import LossFn, is_class_labels
from ...training.randomness import seeded
from .rules import UpdateRule

Tensors = dict[str, torch.Tensor]


def stack(models: Sequence[nn.Module], copies: int) -> tuple[Tensors, Tensors]:
    """``copies`` copies of each model's parameters and buffers, stacked along a new first
    dimension: models[k]'s copy i is row k * copies + i."""

    def stacked(tensors: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack([t.detach() for t in tensors]).repeat_interleave(copies, dim=0)

    named = [dict(chain(m.named_parameters(), m.named_buffers())) for m in models]
    params = {
        k: stacked([n[k] for n in named]).requires_grad_(p.requires_grad)
        for k, p in models[0].named_parameters()
    }
    buffers = {k: stacked([n[k] for n in named]) for k, _ in models[0].named_buffers()}
    return params, buffers


def member_outputs(
    model: nn.Module, params: Tensors, buffers: Tensors, inputs: torch.Tensor
) -> torch.Tensor:
    """Every member's ``model(inputs)``, stacked: (members, *output shape)."""

    def one(p: Tensors, b: Tensors) -> torch.Tensor:
        return functional_call(model, (p, b), (inputs,))

    return vmap(one, randomness="same")(params, buffers)


def member_losses(
    model: nn.Module,
    params: Tensors,
    buffers: Tensors,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    loss_fn: LossFn,
) -> torch.Tensor:
    """The loss of every member on its seed's batch: shape (members,).

    ``inputs`` and ``targets`` hold one batch per seed, (seeds, batch, ...); the members are
    seed-major (member k * rates + i has seed k), so the parameters are viewed as
    (seeds, rates, ...) and one vmap over seeds wraps one vmap over the rates of a seed.
    """
    seeds = len(inputs)

    def one(p: Tensors, b: Tensors, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return loss_fn(functional_call(model, (p, b), (x,)), y)

    per_rate = vmap(one, in_dims=(0, 0, None, 0), randomness="same")
    per_seed = vmap(per_rate, randomness="same")
    by_seed = {k: t.view(seeds, -1, *t.shape[1:]) for k, t in params.items()}
    buffers_by_seed = {k: t.view(seeds, -1, *t.shape[1:]) for k, t in buffers.items()}
    rates = len(next(iter(params.values()))) // seeds
    # targets as a view per rate too: mse_loss's batching rule mixes up targets batched over
    # seeds only (torch 2.13)
    per_rate_targets = targets.unsqueeze(1).expand(seeds, rates, *targets.shape[1:])
    return per_seed(by_seed, buffers_by_seed, inputs, per_rate_targets).flatten()


def train_step_members(
    model: nn.Module,
    params: Tensors,
    buffers: Tensors,
    batches: Sequence[Any],
    loss_fn: LossFn,
    rule: UpdateRule,
    state: dict,
    lr: torch.Tensor,
    mu: torch.Tensor | None,
) -> torch.Tensor:
    """One step for every member: the loss on its batch order's batch (``batches``: one
    ``(inputs, targets)`` per order, see ``member_losses``), the gradient of the sum of the
    losses, ``rule``'s update with ``lr`` (and ``mu``) per member. Returns the losses, taken
    before the step."""
    inputs, targets = (torch.stack(parts) for parts in zip(*batches, strict=True))
    losses = member_losses(model, params, buffers, inputs, targets, loss_fn)
    trainable = [p for p in params.values() if p.requires_grad]
    grads = iter(torch.autograd.grad(losses.sum(), trainable))
    with torch.no_grad():
        rule.step(
            params,
            [next(grads) if p.requires_grad else None for p in params.values()],
            state,
            lr,
            mu,
        )
    return losses.detach()


@contextmanager
def buffers_kept(model: nn.Module) -> Iterator[None]:
    """Inside, forward passes may change the model's buffers (BatchNorm's running statistics)
    and its train/eval mode; afterwards both are what they were."""
    saved = {k: b.detach().clone() for k, b in model.named_buffers()}
    training = model.training
    try:
        yield
    finally:
        model.train(training)
        with torch.no_grad():
            for k, b in model.named_buffers():
                b.copy_(saved[k])


def draws_random_numbers(model: nn.Module, inputs: torch.Tensor) -> bool:
    """Does ``model`` (in train mode) give other outputs under another random seed (dropout)?

    The model and torch's random stream are left as found.
    """
    with torch.no_grad(), buffers_kept(model):
        model.train()
        outputs = []
        for seed in (0, 1):
            with seeded(seed):
                outputs.append(model(inputs))
    return not torch.equal(*outputs)


@torch.no_grad()
def evaluate_members(
    model: nn.Module,
    params: Tensors,
    buffers: Tensors,
    batches: list,
    loss_fn: LossFn,
    accuracy: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Each member's loss (and accuracy) on held-out batches, as ``loop.evaluate`` for one model:

    loss = sum_b n_b * loss_b / sum_b n_b; accuracy = share of argmax(outputs) == targets (NaN
    unless asked for, with class labels and 2-D outputs). Eval mode; train mode afterwards.
    """
    model.eval()
    try:
        total, count, correct = 0.0, 0, 0.0
        classify = accuracy
        for inputs, targets in batches:
            outputs = member_outputs(model, params, buffers, inputs)
            losses = vmap(loss_fn, in_dims=(0, None))(outputs, targets)
            total = total + losses.float() * len(targets)
            count += len(targets)
            if classify and (not is_class_labels(targets) or outputs.ndim != 3):
                classify = False
            if classify:
                correct = correct + (outputs.argmax(dim=2) == targets).sum(dim=1)
    finally:
        model.train()
    losses = (total / count).double().cpu().numpy()
    if not classify:
        return losses, np.full(len(losses), math.nan)
    return losses, (correct.double() / count).cpu().numpy()
