"""Take a snapshot of a model and its optimizer in memory, and put everything back afterwards.

A range test trains the model with learning rates up to ten: afterwards the weights are ruined.
``snapshot`` remembers, bit for bit, everything training touches:

- every parameter and buffer (BatchNorm's running statistics and ``num_batches_tracked``
  included): its values, its ``requires_grad`` flag, its ``.grad``, and the tensor object itself
  with its original storage (so it comes back on its original device, and views of it stay valid);
- what each submodule has registered: a buffer registered as None and filled in forward is None
  again afterwards, one registered during the run is gone;
- the train/eval mode of every submodule;
- the optimizer's ``param_groups`` (the list, every group dict and its hyper-parameters: lr,
  momentum, betas, weight_decay, ...) and its ``state`` (momentum buffers, Adam's moments, step
  counts, ..., and entries that are not per parameter, such as ``state["global_step"] = 3``):
  the objects themselves and a copy of their values. The same for every optimizer the
  optimizer holds as an attribute: a wrapper (a Lookahead, ``ZeroRedundancyOptimizer``) keeps
  its inner optimizer's state, Adam's moments and step counts, in the inner one.

``restore`` writes all of it back *in place*: the same param-group dicts (so a learner's
``g = opt.param_groups[0]; g["lr"] = 0.1`` still acts), the same state tensors with their own
dtypes (NAdam's float32 ``mu_product`` beside float64 weights, float32 master weights beside
bfloat16 parameters), the same ``.grad`` tensors, the same values bit for bit. It never goes
through ``optimizer.load_state_dict``, which casts floating state to the parameters' dtype and
makes new objects. Call it in a ``finally`` block, so that it runs after a normal end, an early
stop, a NaN, an exception and a KeyboardInterrupt alike. Nothing goes to disk.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .randomness import draws_nothing


@dataclass
class Kept:
    """A tensor object, its storage and a clone of its values: ``put_back`` restores all three."""

    tensor: torch.Tensor
    storage: torch.Tensor
    values: torch.Tensor

    @classmethod
    def of(cls, tensor: torch.Tensor) -> Kept:
        storage = tensor.data
        return cls(tensor, storage, storage.clone())

    @torch.no_grad()
    def put_back(self) -> torch.Tensor:
        self.tensor.data = self.storage  # the original device and dtype
        self.storage.copy_(self.values)
        return self.tensor


@dataclass
class SavedTensor:
    """One parameter or buffer: where it is registered, the tensor, its flag and its .grad."""

    module: nn.Module
    name: str
    kept: Kept  # the object, its original storage (device, dtype) and its values
    requires_grad: bool
    grad: Kept | None


def keep(value: object) -> object:
    """Tensors as ``Kept``; anything else (numbers, tuples of betas, flags) as a deep copy."""
    return Kept.of(value) if isinstance(value, torch.Tensor) else copy.deepcopy(value)


def unkeep(kept: object) -> object:
    return kept.put_back() if isinstance(kept, Kept) else copy.deepcopy(kept)


@dataclass
class OptimizerSnapshot:
    """The optimizer's own objects and a copy of every value in them."""

    optimizer: torch.optim.Optimizer
    groups: list[dict]  # the param_groups list object
    group_items: list[tuple[dict, list, list, dict]]  # (group, its params list, a copy, the rest)
    state: dict  # the optimizer.state object (a defaultdict keyed by parameter)
    # (key, its state dict, its items); (key, None, the kept value) for a value that is no dict
    state_items: list[tuple[Any, dict | None, Any]]


@dataclass
class Registered:
    """What one module has registered, by name: parameters and buffers (None included)."""

    module: nn.Module
    parameters: dict[str, Any]
    buffers: dict[str, Any]
    non_persistent: set[str]

    @classmethod
    def of(cls, module: nn.Module) -> Registered:
        return cls(
            module,
            dict(module._parameters),
            dict(module._buffers),
            set(module._non_persistent_buffers_set),
        )

    def put_back(self) -> None:
        """The same names for the same objects, in the module's own dicts."""
        for now, saved in (
            (self.module._parameters, self.parameters),
            (self.module._buffers, self.buffers),
            (self.module._non_persistent_buffers_set, self.non_persistent),
        ):
            now.clear()
            now.update(saved)


@dataclass
class Snapshot:
    tensors: list[SavedTensor]
    registered: list[Registered]
    modes: list[tuple[nn.Module, bool]]
    optimizers: list[OptimizerSnapshot]


def save_tensor(module: nn.Module, name: str, tensor: torch.Tensor) -> SavedTensor:
    grad = None if tensor.grad is None else Kept.of(tensor.grad)
    return SavedTensor(module, name, Kept.of(tensor), tensor.requires_grad, grad)


def optimizers_in(optimizer: torch.optim.Optimizer | None) -> list[torch.optim.Optimizer]:
    """``optimizer`` and every optimizer reachable from it through attributes (a wrapper's
    inner optimizer, its inner one, ...), each once."""
    found: list[torch.optim.Optimizer] = []
    todo = [] if optimizer is None else [optimizer]
    while todo:
        current = todo.pop()
        if any(current is seen for seen in found):
            continue
        found.append(current)
        todo += [v for v in vars(current).values() if isinstance(v, torch.optim.Optimizer)]
    return found


def snapshot_optimizer(optimizer: torch.optim.Optimizer) -> OptimizerSnapshot:
    group_items = []
    for group in optimizer.param_groups:
        params = group["params"]
        items = {k: keep(v) for k, v in group.items() if k != "params"}
        group_items.append((group, params, list(params), items))
    state_items = [
        (key, value, {k: keep(v) for k, v in value.items()})
        if isinstance(value, dict)
        else (key, None, keep(value))
        for key, value in optimizer.state.items()
    ]
    return OptimizerSnapshot(
        optimizer, optimizer.param_groups, group_items, optimizer.state, state_items
    )


def restore_optimizer(saved: OptimizerSnapshot) -> None:
    optimizer = saved.optimizer
    optimizer.param_groups = saved.groups
    saved.groups[:] = [group for group, *_ in saved.group_items]
    for group, params, members, items in saved.group_items:
        params[:] = members
        group.clear()
        group["params"] = params
        group.update({k: unkeep(v) for k, v in items.items()})
    optimizer.state = saved.state
    saved.state.clear()
    for key, state, items in saved.state_items:
        if state is None:  # not a parameter's dict: a counter, a tensor
            saved.state[key] = unkeep(items)
            continue
        state.clear()
        state.update({k: unkeep(v) for k, v in items.items()})
        saved.state[key] = state


def check_restorable(model: nn.Module) -> None:
    """``restore`` puts values back into the tensors ``snapshot`` saw. A lazy module (such as
    ``nn.LazyLinear``) before its first forward has no such tensors yet: the run would turn it
    into a ``Linear`` for good. ValueError naming ``model``."""
    lazy = [name for name, module in model.named_modules() if has_uninitialized_params(module)]
    if lazy:
        raise ValueError(
            f"model has lazy modules not initialised yet ({', '.join(lazy[:3]) or 'model'}): "
            "the test could not give them back as they are; run one batch through the model "
            "first (model(X[:2])), then test it"
        )


def has_uninitialized_params(module: nn.Module) -> bool:
    tensors = (*module.parameters(recurse=False), *module.buffers(recurse=False))
    return any(nn.parameter.is_lazy(t) for t in tensors)


def snapshot(model: nn.Module, optimizer: torch.optim.Optimizer | None = None) -> Snapshot:
    """Remember everything that training changes in ``model`` and ``optimizer`` (and in the
    optimizers ``optimizer`` holds)."""
    tensors = []
    for module in model.modules():
        for name, tensor in module.named_parameters(recurse=False):
            tensors.append(save_tensor(module, name, tensor))
        for name, tensor in module.named_buffers(recurse=False):
            tensors.append(save_tensor(module, name, tensor))
    registered = [Registered.of(module) for module in model.modules()]
    modes = [(module, module.training) for module in model.modules()]
    optimizers = [snapshot_optimizer(opt) for opt in optimizers_in(optimizer)]
    return Snapshot(tensors, registered, modes, optimizers)


def restore(saved: Snapshot) -> None:
    """Put the model and the optimizers back exactly as ``snapshot`` found them."""
    with torch.no_grad():
        for module in saved.registered:  # e.g. replaced by module.to(device), filled in forward
            module.put_back()
        for s in saved.tensors:
            tensor = s.kept.put_back()  # back on the original device, in the original storage
            tensor.requires_grad_(s.requires_grad)
            tensor.grad = None if s.grad is None else s.grad.put_back()
    for module, training in saved.modes:
        module.training = training
    for optimizer in saved.optimizers:
        restore_optimizer(optimizer)


def move_optimizer_state(optimizer: torch.optim.Optimizer) -> None:
    """After the model moved to another device, move the optimizer's state after it.

    Each state tensor goes to its parameter's device and keeps its dtype; a non-capturable,
    non-fused ``step`` count stays where it is (as ``load_state_dict`` leaves it).
    """
    for opt in optimizers_in(optimizer):  # a wrapper's inner optimizer too
        for group in opt.param_groups:
            step_follows = bool(group.get("capturable") or group.get("fused"))
            for param in group["params"]:
                state = opt.state.get(param, {})
                for key, value in state.items():
                    moves = key != "step" or step_follows
                    if isinstance(value, torch.Tensor) and moves and value.device != param.device:
                        state[key] = value.to(param.device)


@contextmanager
def untouched(model: nn.Module) -> Iterator[None]:
    """Inside, a trial forward and backward pass (gradients on, as in training), its random
    draws from a throwaway stream (``randomness.draws_nothing``: no one's stream moves);
    afterwards the model is as it was: its buffers (BatchNorm's running statistics, one
    registered as None or in forward), modes and ``requires_grad`` flags. A
    ``DistributedDataParallel`` model runs it under ``no_sync`` (no reduction is started)."""
    registered = [Registered.of(module) for module in model.modules()]
    buffers = [Kept.of(buffer) for buffer in model.buffers()]
    flags = [(p, p.requires_grad) for p in model.parameters()]
    modes = [(module, module.training) for module in model.modules()]
    sync = model.no_sync() if hasattr(model, "no_sync") else nullcontext()
    try:
        with draws_nothing(), sync, torch.enable_grad():
            yield
    finally:
        with torch.no_grad():
            for module in registered:
                module.put_back()
            for buffer in buffers:
                buffer.put_back()
        for p, flag in flags:
            p.requires_grad_(flag)
        for module, training in modes:
            module.training = training
