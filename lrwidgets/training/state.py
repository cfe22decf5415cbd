"""Take a snapshot of a model and its optimizer in memory, and put everything back afterwards.

A range test trains the model with learning rates up to ten: afterwards the weights are ruined.
``snapshot`` remembers, bit for bit, everything training touches:

- every parameter and buffer (BatchNorm's running statistics and ``num_batches_tracked``
  included): its values, its ``requires_grad`` flag, its ``.grad``, and the tensor object itself
  with its original storage (so it comes back on its original device, and views of it stay valid);
- the train/eval mode of every submodule;
- the optimizer's ``state_dict()`` (momentum buffers, Adam's moments and step counts, and the
  hyper-parameters of every param group: lr, momentum, betas, weight_decay, ...).

``restore`` writes all of it back. Call it in a ``finally`` block, so that it runs after a normal
end, an early stop, a NaN, an exception and a KeyboardInterrupt alike. Nothing goes to disk.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class SavedTensor:
    """One parameter or buffer: where it is registered, the object, its storage and a copy."""

    module: nn.Module
    name: str
    tensor: torch.Tensor
    storage: torch.Tensor  # tensor.data: the original storage, on the original device
    values: torch.Tensor  # a clone of the values
    requires_grad: bool
    grad: torch.Tensor | None  # a clone of .grad


@dataclass
class Snapshot:
    tensors: list[SavedTensor]
    modes: list[tuple[nn.Module, bool]]
    optimizer_state: dict | None


def save_tensor(module: nn.Module, name: str, tensor: torch.Tensor) -> SavedTensor:
    grad = None if tensor.grad is None else tensor.grad.detach().clone()
    storage = tensor.data
    return SavedTensor(module, name, tensor, storage, storage.clone(), tensor.requires_grad, grad)


def snapshot(model: nn.Module, optimizer: torch.optim.Optimizer | None = None) -> Snapshot:
    """Remember everything that training changes in ``model`` and ``optimizer``."""
    tensors = []
    for module in model.modules():
        for name, tensor in module.named_parameters(recurse=False):
            tensors.append(save_tensor(module, name, tensor))
        for name, tensor in module.named_buffers(recurse=False):
            tensors.append(save_tensor(module, name, tensor))
    modes = [(module, module.training) for module in model.modules()]
    state = None if optimizer is None else copy.deepcopy(optimizer.state_dict())
    return Snapshot(tensors, modes, state)


def restore(saved: Snapshot, optimizer: torch.optim.Optimizer | None = None) -> None:
    """Put the model and the optimizer back exactly as ``snapshot`` found them."""
    with torch.no_grad():
        for s in saved.tensors:
            if getattr(s.module, s.name) is not s.tensor:  # replaced, e.g. by module.to(device)
                setattr(s.module, s.name, s.tensor)
            s.tensor.data = s.storage  # back on the original device
            s.storage.copy_(s.values)
            s.tensor.requires_grad_(s.requires_grad)
            s.tensor.grad = s.grad
    for module, training in saved.modes:
        module.training = training
    if optimizer is not None and saved.optimizer_state is not None:
        # load_state_dict casts the state to the device of the (restored) parameters
        optimizer.load_state_dict(saved.optimizer_state)


def move_optimizer_state(optimizer: torch.optim.Optimizer) -> None:
    """After the model moved to another device, move the optimizer's state after it."""
    if optimizer.state:
        optimizer.load_state_dict(optimizer.state_dict())


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
