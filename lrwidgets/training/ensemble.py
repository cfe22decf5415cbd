"""Train one model at many learning rates at once: a batched ensemble of copies of it.

Training the same initial weights on the same batches at L learning rates is one computation
with an extra dimension: each parameter and buffer is stacked into a tensor of shape
(M, *shape), row m holding member m. With S seeds (each its own initial weights and batch
order) there are M = S x L members, seed-major: member k * L + i has seed k and rate i.
One step of ``fit_ensemble`` does, for all members at once,

    loss_m   = loss_fn(model(x_k; params_m, buffers_m), y_k)  torch.func.vmap over functional_call
    grads    = d(sum_m loss_m) / d params                     row m is d loss_m / d params_m
    params_m = the optimizer's update with lr_m[t], mu_m[t]   (``SGDRule``, ``AdamRule``)

Members share no weights, so the gradient of the sum gives each member its own gradient and a
member that blows up to inf/NaN leaves the others alone. As ``fit`` does with one model, a
member stops after the first step whose loss is not finite (that step is still taken): its
parameters and buffers stay as that step left them, and it records no more validation.

Dropout draws one mask per step for all members of a seed (vmap's ``randomness="same"``): the
mask ``fit`` draws for each of them, because ``fit`` reseeds torch's random stream with the seed
for every run. Each seed needs its own stream, so a model that draws random numbers trains one
seed after another; a model that draws none trains all seeds together.
BatchNorm's running statistics are buffers, stacked like the parameters, one set per member.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain, islice
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from ..core import Schedule
from ..core.defaults import SGD_MOMENTUM
from .data import Batches, as_batches, fixed_batches, is_tensor_pair, peek, resolve_device
from .fit import check_schedule
from .loop import LossFn, is_class_labels, resolve_loss
from .randomness import local_generator, seeded

Tensors = dict[str, torch.Tensor]


def per_member(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(M,) values in ``like``'s dtype, shaped to broadcast against the stacked (M, ...) ``like``.

    Schedules arrive in float64 (torch.optim computes its scalars in Python floats) and meet the
    parameters in their own dtype, as torch.optim's scalars do.
    """
    return values.to(like.dtype).view(-1, *([1] * (like.ndim - 1)))


@dataclass(frozen=True)
class SGDRule:
    """``torch.optim.SGD``'s update, member m with its own lr and momentum mu at step t:

    g = -grad if maximize else grad;  g = g + weight_decay * p
    b = g at the first step, else b = mu * b + (1 - dampening) * g
    g = g + mu * b (nesterov) or g = b        (when mu != 0)
    p = p - lr * g
    """

    momentum: float = 0.0
    dampening: float = 0.0
    weight_decay: float = 0.0
    nesterov: bool = False
    maximize: bool = False

    def step(self, params, grads, state: dict, lr: torch.Tensor, mu: torch.Tensor | None) -> None:
        for name, p, g in zip(params, params.values(), grads, strict=True):
            if g is None:
                continue
            g = -g if self.maximize else g
            if self.weight_decay != 0:
                g = g.add(p, alpha=self.weight_decay)
            if mu is not None or self.momentum != 0:
                m = self.momentum if mu is None else per_member(mu, p)
                buf = state.get(name)
                if buf is None:
                    buf = state[name] = g.clone()
                else:
                    buf.mul_(m).add_(g, alpha=1 - self.dampening)
                g = g.add(buf * m) if self.nesterov else buf
            p.addcmul_(g, per_member(lr, p), value=-1)


@dataclass(frozen=True)
class AdamRule:
    """``torch.optim.Adam``'s (and ``AdamW``'s) update at step t = 1, 2, ..., beta1 per member:

    g = -grad if maximize else grad
    p = p * (1 - lr * weight_decay) (decoupled, AdamW)  or  g = g + weight_decay * p (Adam)
    m = m + (1 - beta1) (g - m);   v = beta2 v + (1 - beta2) g^2
    p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    """

    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    decoupled_weight_decay: bool = False
    maximize: bool = False

    def step(self, params, grads, state: dict, lr: torch.Tensor, mu: torch.Tensor | None) -> None:
        t = state["step"] = state.get("step", 0) + 1
        # the scalars torch computes in Python floats, here per member in float64
        beta1 = torch.full_like(lr, self.beta1, dtype=torch.float64) if mu is None else mu
        step_size = lr / (1 - beta1**t)
        bias2_sqrt = (1 - self.beta2**t) ** 0.5
        for name, p, g in zip(params, params.values(), grads, strict=True):
            if g is None:
                continue
            g = -g if self.maximize else g
            if self.weight_decay != 0:
                if self.decoupled_weight_decay:
                    p.mul_(1 - per_member(lr, p) * self.weight_decay)
                else:
                    g = g.add(p, alpha=self.weight_decay)
            m, v = state.get(name, (torch.zeros_like(p), torch.zeros_like(p)))
            state[name] = m, v
            m.lerp_(g, per_member(1 - beta1, p))
            v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
            denom = (v.sqrt() / bias2_sqrt).add_(self.eps)
            p.sub_(per_member(step_size, p) * (m / denom))


UpdateRule = SGDRule | AdamRule


def update_rule(optimizer: torch.optim.Optimizer | None, model: nn.Module) -> UpdateRule:
    """The functional update equal to ``optimizer``'s (None: SGD with momentum 0.9, fit's default).

    Raises ValueError saying why when there is none: another optimizer class, several param
    groups, a group that is not all of the model's trainable parameters, or amsgrad.
    """
    if optimizer is None:
        return SGDRule(momentum=SGD_MOMENTUM)
    kind = type(optimizer)
    if kind not in (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW):
        raise ValueError(f"the batched grid knows SGD, Adam and AdamW, not {kind.__name__}")
    if len(optimizer.param_groups) != 1:
        raise ValueError(
            f"the optimizer has {len(optimizer.param_groups)} param groups; the batched grid "
            "needs one group holding all of the model's parameters"
        )
    group = optimizer.param_groups[0]
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    if {id(p) for p in group["params"]} != trainable:
        raise ValueError(
            "the optimizer's param group is not exactly the model's trainable parameters"
        )
    if kind is torch.optim.SGD:
        return SGDRule(
            momentum=group["momentum"],
            dampening=group["dampening"],
            weight_decay=group["weight_decay"],
            nesterov=group["nesterov"],
            maximize=group["maximize"],
        )
    if group["amsgrad"]:
        raise ValueError("the batched grid has no amsgrad variant of Adam")
    return AdamRule(
        beta1=group["betas"][0],
        beta2=group["betas"][1],
        eps=group["eps"],
        weight_decay=group["weight_decay"],
        decoupled_weight_decay=group.get("decoupled_weight_decay", kind is torch.optim.AdamW),
        maximize=group["maximize"],
    )


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
    batch_size: int = 64,
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
) -> str | None:
    """Why ``fit_ensemble`` cannot stand in for a loop of ``fit`` here, or None when it can.

    It can for (X, y) data, an optimizer ``update_rule`` knows, and a model (and loss) that
    torch.func batches: two stacked members on the first batch must give the model's own loss
    in train mode (under the same random seed) and its own outputs in eval mode. The model and
    torch's random stream are left as found.
    """
    if not is_tensor_pair(data):
        return f"the training data is a {type(data).__name__}, not (X, y) tensors"
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
