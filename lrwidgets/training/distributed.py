"""The range test inside an initialised ``torch.distributed`` process group (torchrun, a
DistributedDataParallel model, Accelerate, Lightning's DDP strategy): every rank must record the
same curve and stop at the same step, or the ranks that go on wait forever for the one that
stopped (the deadlock fastai's and Lightning's users report).

Each rank trains on its own shard; DDP averages the gradients, so every rank takes the same
step. The ranks talk through ``Ranks.exchange``: one all-gather of ``WIDTH`` numbers per rank,
the first saying whether that rank failed. Every rank makes the same exchanges in the same
order, so they always pair up:

    agree     once, before anything is touched: the settings that must be equal on every
              rank (num_iter, the lrs, mode, beta, ...); a difference is a ValueError naming
              the argument, on every rank                                  (``agree``)
    ready     at each step, once the rank has its batches
    forward   after each batch's loss, before backward's gradient all-reduce (``synced``)
    loss      loss = (sum over ranks of the rank's loss) / world_size    (``mean``)
    stop      any rank asks to stop (its callback, e.g. a Stop button)    (``any``)
    done      after the model and the optimizer are put back

A rank that raises anywhere between two exchanges (its data, its forward pass, its callback,
a KeyboardInterrupt) makes one more exchange saying so, then raises its own error; that
exchange pairs with the one the other ranks are in, and they raise ``PeerFailed`` (a
RuntimeError) within the step, their model and optimizer put back. What no flag can cover: a
failure inside DDP's own collectives (the gradient all-reduce of backward), which the process
group's timeout ends. Outside a process group every exchange is a no-op, at no cost.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from .data import resolve_device
from .loop import LossFn, StepFn

WIDTH = 16  # numbers each rank sends in every exchange: its failure flag, then up to 15 values


def in_process_group() -> bool:
    """True inside an initialised torch.distributed process group."""
    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's rank (0 outside a process group)."""
    return dist.get_rank() if in_process_group() else 0


def _collective_device() -> torch.device:
    """NCCL gathers CUDA tensors, gloo (and MPI) CPU tensors."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


class PeerFailed(RuntimeError):
    """Another rank raised during the run; this one stopped there too, its model put back."""


def _code(value: object) -> float:
    """A setting as one float64, equal on two ranks exactly when the settings are equal
    (a string by its CRC-32, None as -inf)."""
    if value is None:
        return -np.inf
    if isinstance(value, str):
        return float(zlib.crc32(value.encode()))
    return float(value)  # type: ignore[arg-type]


def _shown(mine: object, code: float, my_code: float) -> str:
    """Another rank's setting, as far as its code tells (this rank's value when they are equal)."""
    if code == my_code:
        return repr(mine)
    if isinstance(mine, bool):
        return repr(bool(code))
    return f"{code:g}" if isinstance(mine, (int, float)) else f"not {mine!r}"


class Ranks:
    """The exchanges of one run between the ranks of the process group (no-ops outside one)."""

    def __init__(self) -> None:
        self.on = in_process_group()
        self.settled = False  # this run's failure is known to every rank: no more exchanges

    def exchange(self, values: Sequence[float] = (), failed: bool = False) -> np.ndarray:
        """Every rank's ``values``, one row per rank (float64); raises ``PeerFailed`` when
        another rank says it failed."""
        if not self.on:
            return np.array([values], dtype=np.float64)
        row = torch.zeros(WIDTH, dtype=torch.float64, device=_collective_device())
        row[0] = float(failed)
        row[1 : 1 + len(values)] = torch.tensor(values, dtype=torch.float64)
        rows = [torch.empty_like(row) for _ in range(dist.get_world_size())]
        self.settled = True  # should the gather itself fail, nothing more can be said
        dist.all_gather(rows, row)
        table = torch.stack(rows).cpu().numpy()
        failing = [r for r in range(len(table)) if table[r, 0] and r != dist.get_rank()]
        if failing and not failed:
            raise PeerFailed(
                f"rank {', '.join(map(str, failing))} raised an error during the range test "
                f"(see its output); rank {dist.get_rank()} stopped there too, its model and "
                "optimizer put back"
            )
        self.settled = failed
        return table[:, 1 : 1 + len(values)]

    def mean(self, values: list[float]) -> list[float]:
        """The mean of ``values`` over all ranks, the same on every rank."""
        return self.exchange(values).mean(axis=0).tolist()

    def any(self, flag: bool) -> bool:
        """True on every rank if ``flag`` is True on any rank."""
        return bool(self.exchange([float(flag)]).any())

    def agree(self, settings: dict[str, object]) -> None:
        """Raise ValueError, on every rank, naming the first setting whose value differs
        between the ranks (numbers, bools, strings or None)."""
        if not self.on:
            return
        if len(settings) >= WIDTH:
            raise ValueError(f"at most {WIDTH - 1} settings can be agreed on at once")
        table = self.exchange([_code(v) for v in settings.values()])
        mine = dist.get_rank()
        for column, (name, value) in enumerate(settings.items()):
            codes = table[:, column]
            if (codes != codes[mine]).any():
                seen = ", ".join(
                    f"rank {r}: {_shown(value, code, codes[mine])}" for r, code in enumerate(codes)
                )
                self.settled = True
                raise ValueError(
                    f"{name} differs between the ranks ({seen}); every rank of the process "
                    f"group must pass the same {', '.join(settings)}"
                )

    @contextmanager
    def failures_shared(self) -> Iterator[None]:
        """Around a whole run: a rank that raises first tells the others (one exchange that
        pairs with the one they are in), then raises its own error."""
        try:
            yield
        except BaseException:
            if self.on and not self.settled:
                self.exchange(failed=True)
            raise

    def synced(self, loss_fn: LossFn | None, step_fn: StepFn | None) -> StepFn:
        """``step_fn`` (or ``loss_fn(model(inputs), targets)``) followed by an exchange, so that
        a rank whose forward pass raises is heard before the others wait in backward."""

        def step(model: nn.Module, batch: object) -> torch.Tensor:
            if step_fn is not None:
                loss = step_fn(model, batch)
            else:
                inputs, targets = batch  # type: ignore[misc]
                loss = loss_fn(model(inputs), targets)  # type: ignore[misc]
            self.exchange()
            return loss

        return step


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
