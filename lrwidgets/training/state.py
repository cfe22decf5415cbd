"""Take a snapshot of a model and its optimizer in memory, and put everything back afterwards.

A range test trains the model with learning rates up to ten: afterwards the weights are ruined.
``snapshot`` remembers, bit for bit, everything training touches:

- every parameter and buffer (BatchNorm's running statistics and ``num_batches_tracked``
  included): its values, its ``requires_grad`` flag, its ``.grad``, and the tensor object itself
  with its original storage (so it comes back on its original device, and views of it stay valid);
- the train/eval mode of every submodule;
- the optimizer's ``param_groups`` (the list, every group dict and its hyper-parameters: lr,
  momentum, betas, weight_decay, ...) and its ``state`` (momentum buffers, Adam's moments, step
  counts, ...): the objects themselves and a copy of their values.

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
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn


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

    groups: list[dict]  # the param_groups list object
    group_items: list[tuple[dict, list, list, dict]]  # (group, its params list, a copy, the rest)
    state: dict  # the optimizer.state object (a defaultdict keyed by parameter)
    state_items: list[tuple[torch.Tensor, dict, dict]]  # (param, its state dict, its items)


@dataclass
class Snapshot:
    tensors: list[SavedTensor]
    modes: list[tuple[nn.Module, bool]]
    optimizer: OptimizerSnapshot | None


def save_tensor(module: nn.Module, name: str, tensor: torch.Tensor) -> SavedTensor:
    grad = None if tensor.grad is None else Kept.of(tensor.grad)
    return SavedTensor(module, name, Kept.of(tensor), tensor.requires_grad, grad)


def snapshot_optimizer(optimizer: torch.optim.Optimizer) -> OptimizerSnapshot:
    group_items = []
    for group in optimizer.param_groups:
        params = group["params"]
        items = {k: keep(v) for k, v in group.items() if k != "params"}
        group_items.append((group, params, list(params), items))
    state_items = [
        (param, state, {k: keep(v) for k, v in state.items()})
        for param, state in optimizer.state.items()
    ]
    return OptimizerSnapshot(optimizer.param_groups, group_items, optimizer.state, state_items)


def restore_optimizer(optimizer: torch.optim.Optimizer, saved: OptimizerSnapshot) -> None:
    optimizer.param_groups = saved.groups
    saved.groups[:] = [group for group, *_ in saved.group_items]
    for group, params, members, items in saved.group_items:
        params[:] = members
        group.clear()
        group["params"] = params
        group.update({k: unkeep(v) for k, v in items.items()})
    optimizer.state = saved.state
    saved.state.clear()
    for param, state, items in saved.state_items:
        state.clear()
        state.update({k: unkeep(v) for k, v in items.items()})
        saved.state[param] = state


def snapshot(model: nn.Module, optimizer: torch.optim.Optimizer | None = None) -> Snapshot:
    """Remember everything that training changes in ``model`` and ``optimizer``."""
    tensors = []
    for module in model.modules():
        for name, tensor in module.named_parameters(recurse=False):
            tensors.append(save_tensor(module, name, tensor))
        for name, tensor in module.named_buffers(recurse=False):
            tensors.append(save_tensor(module, name, tensor))
    modes = [(module, module.training) for module in model.modules()]
    saved_optimizer = None if optimizer is None else snapshot_optimizer(optimizer)
    return Snapshot(tensors, modes, saved_optimizer)


def restore(saved: Snapshot, optimizer: torch.optim.Optimizer | None = None) -> None:
    """Put the model and the optimizer back exactly as ``snapshot`` found them."""
    with torch.no_grad():
        for s in saved.tensors:
            tensor = s.kept.tensor
            if getattr(s.module, s.name) is not tensor:  # replaced, e.g. by module.to(device)
                setattr(s.module, s.name, tensor)
            s.kept.put_back()  # back on the original device, in the original storage
            tensor.requires_grad_(s.requires_grad)
            tensor.grad = None if s.grad is None else s.grad.put_back()
    for module, training in saved.modes:
        module.training = training
    if optimizer is not None and saved.optimizer is not None:
        restore_optimizer(optimizer, saved.optimizer)


def move_optimizer_state(optimizer: torch.optim.Optimizer) -> None:
    """After the model moved to another device, move the optimizer's state after it.

    Each state tensor goes to its parameter's device and keeps its dtype; a non-capturable,
    non-fused ``step`` count stays where it is (as ``load_state_dict`` leaves it).
    """
    for group in optimizer.param_groups:
        step_follows = bool(group.get("capturable") or group.get("fused"))
        for param in group["params"]:
            state = optimizer.state.get(param, {})
            for key, value in state.items():
                moves = key != "step" or step_follows
                if isinstance(value, torch.Tensor) and moves and value.device != param.device:
                    state[key] = value.to(param.device)


@contextmanager
def seeded(seed: int | None) -> Iterator[None]:
    """Inside: torch's global random state seeded with ``seed`` (dropout, DataLoader shuffling).

    Afterwards the global random state of the CPU and of every CUDA device is what it was
    before, so a seeded run does not change the caller's random stream. ``seed=None`` does
    nothing: the run draws from the global stream as any training would.
    """
    if seed is None:
        yield
        return
    cuda_devices = range(torch.cuda.device_count()) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=cuda_devices, device_type="cuda"):
        torch.manual_seed(seed)
        yield


def local_generator(seed: int | None) -> torch.Generator | None:
    """A CPU generator seeded with ``seed`` for shuffling, or None (torch's global one)."""
    return None if seed is None else torch.Generator().manual_seed(seed)
