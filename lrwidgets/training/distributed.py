"""The range test inside an initialised ``torch.distributed`` process group (torchrun, a
DistributedDataParallel model, Accelerate, Lightning's DDP strategy): every rank must record the
same curve and stop at the same step, or the ranks that go on wait forever for the one that
stopped (the deadlock fastai's and Lightning's users report).

Each rank trains on its own shard; DDP averages the gradients, so every rank takes the same
step. After each step the ranks agree, with one all-reduce each:

    loss  = (sum over ranks of the rank's loss) / world_size      (``mean_over_ranks``)
    stop  = any rank asks to stop (its callback, e.g. a Stop button) (``any_rank``)

Identical numbers then give identical EWMA and divergence decisions on every rank (a NaN on
one rank is a NaN in the mean: all stop). Outside a process group both are the identity, at no
cost. What no agreement can cover: an exception raised in one rank only (the others then wait
in their next collective until the process group's timeout, as in any DDP training).
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

from .data import resolve_device


def in_process_group() -> bool:
    """True inside an initialised torch.distributed process group."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's rank (0 outside a process group)."""
    return dist.get_rank() if in_process_group() else 0


def _collective_device() -> torch.device:
    """NCCL reduces CUDA tensors, gloo (and MPI) CPU tensors."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def mean_over_ranks(values: list[float]) -> list[float]:
    """The mean of ``values`` over all ranks, the same on every rank (float64 all-reduce)."""
    if not in_process_group():
        return values
    summed = torch.tensor(values, dtype=torch.float64, device=_collective_device())
    dist.all_reduce(summed, op=dist.ReduceOp.SUM)
    return (summed / dist.get_world_size()).tolist()


def any_rank(flag: bool) -> bool:
    """True on every rank if ``flag`` is True on any rank."""
    if not in_process_group():
        return flag
    count = torch.tensor([float(flag)], device=_collective_device())
    dist.all_reduce(count, op=dist.ReduceOp.SUM)
    return bool(count.item() > 0)


def training_device(model: nn.Module, device: str | torch.device) -> torch.device:
    """Where to train: ``resolve_device(device)``; a DistributedDataParallel model trains on
    the device it was built on ("auto" picks it), since moving it would break its reducer."""
    if not isinstance(model, nn.parallel.DistributedDataParallel):
        return resolve_device(device)
    home = next(model.parameters()).device
    if isinstance(device, str) and device == "auto":
        return home
    wanted = resolve_device(device)
    if wanted.type != home.type or wanted.index not in (None, home.index):
        raise ValueError(
            f"device={device!r}, but the DistributedDataParallel model lives on {home}; "
            "pass device='auto' (or its device): a DDP model trains where it was built"
        )
    return home
