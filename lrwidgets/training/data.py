"""Batches and devices, shared by ``range_test`` and ``fit``.

Training data comes in one of two shapes:

- a tuple ``(X, y)`` of tensors or numpy arrays: the fast path. Both are moved to the device
  once; each epoch draws one permutation (``torch.randperm`` with the run's generator), gathers
  the shuffled copy once and hands out slices of it, ``batch_size`` rows at a time (the last
  batch may be smaller). A last batch of a single row is merged into the one before it
  (``batch_size + 1`` rows): one row gives BatchNorm no batch statistics ("Expected more than
  1 value per channel when training") and a gradient from one example. No DataLoader, no
  per-sample collation.
- a DataLoader, or any re-iterable of batches (a list of ``(inputs, targets)`` pairs, ...):
  each pass over it is one epoch; every tensor in a batch is copied to the device, to a GPU
  with ``non_blocking=True`` (asynchronous from pinned memory).

Numpy arrays become tensors: floating arrays take torch's default dtype (float32), integer
arrays int64 (class labels, as ``nn.CrossEntropyLoss`` wants them).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain, islice
from typing import Any

import numpy as np
import torch

from ..core.checks import check_int
from ..core.defaults import BATCH_SIZE

DEVICES = ("auto", "cpu", "cuda", "cuda:<index>", "mps")


def resolve_device(device: str | torch.device) -> torch.device:
    """The torch.device to train on.

    ``"auto"`` picks CUDA when available, then Apple's MPS, else the CPU. ``"cpu"``, ``"cuda"``,
    ``"cuda:1"``, ``"mps"`` or a ``torch.device`` name one explicitly; it must exist here.
    """
    if isinstance(device, str) and device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    allowed = ", ".join(repr(d) for d in DEVICES)
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be one of {allowed} or a torch.device, got {device!r}")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device must be one of {allowed}, got {device!r}") from None
    if resolved.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device must be one of {allowed}, got {device!r}")
    if resolved.type == "cuda" and (
        not torch.cuda.is_available()
        or (resolved.index is not None and resolved.index >= torch.cuda.device_count())
    ):
        raise ValueError(f"device {device!r} is not available here; use 'auto' or 'cpu'")
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {device!r} is not available here; use 'auto' or 'cpu'")
    return resolved


def to_device(batch: Any, device: torch.device | None) -> Any:
    """Copy every tensor in ``batch`` (a tensor, tuple, namedtuple, list or dict) to ``device``."""
    if device is None:
        return batch
    if isinstance(batch, torch.Tensor):
        # asynchronous host -> GPU copies; a copy back to the CPU must wait until it is done
        return batch.to(device, non_blocking=device.type != "cpu")
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # namedtuple
        return type(batch)(*(to_device(item, device) for item in batch))
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(item, device) for item in batch)
    if isinstance(batch, dict):
        return {key: to_device(value, device) for key, value in batch.items()}
    return batch


def is_tensor_pair(data: object) -> bool:
    """True for ``(X, y)`` given as two tensors or arrays (the in-memory fast path)."""
    return (
        isinstance(data, tuple)
        and len(data) == 2
        and all(isinstance(a, (torch.Tensor, np.ndarray)) for a in data)
    )


def as_tensor(array: torch.Tensor | np.ndarray) -> torch.Tensor:
    """A tensor as it is; a numpy array as float32 (floating) or int64 (integer) tensor."""
    if isinstance(array, torch.Tensor):
        return array
    if np.issubdtype(array.dtype, np.floating):
        return torch.as_tensor(array, dtype=torch.get_default_dtype())
    if np.issubdtype(array.dtype, np.integer):
        return torch.as_tensor(array, dtype=torch.int64)
    return torch.as_tensor(array)


def batch_bounds(n: int, batch_size: int) -> list[tuple[int, int]]:
    """(start, stop) of each batch over ``n`` rows; a one-row remainder joins the batch before."""
    starts = list(range(0, n, batch_size))
    if len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    return list(zip(starts, [*starts[1:], n], strict=True))


class TensorBatches:
    """``(X, y)`` held on one device, served in shuffled slices of ``batch_size`` rows."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor, batch_size: int) -> None:
        self.X, self.y, self.batch_size = X, y, batch_size

    def to(self, device: torch.device) -> TensorBatches:
        """The same data moved to ``device``, once."""
        return TensorBatches(self.X.to(device), self.y.to(device), self.batch_size)

    def __len__(self) -> int:
        """Batches per epoch: ceil(n / batch_size), one fewer when a single row is left over."""
        return len(batch_bounds(len(self.X), self.batch_size))

    def epoch(
        self, generator: torch.Generator | None = None, shuffle: bool = True
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One pass, in a fresh random order from ``generator`` (None: torch's global one)."""
        X, y = self.X, self.y
        if shuffle:
            order = torch.randperm(len(X), generator=generator).to(X.device)
            X, y = X[order], y[order]
        for start, stop in batch_bounds(len(X), self.batch_size):
            yield X[start:stop], y[start:stop]


class LoaderBatches:
    """A DataLoader (or any re-iterable of batches); each batch copied to ``device``."""

    def __init__(self, loader: Iterable, device: torch.device | None = None) -> None:
        self.loader, self.device = loader, device

    def to(self, device: torch.device) -> LoaderBatches:
        """The same loader, its batches copied to ``device`` as they come."""
        return LoaderBatches(self.loader, device)

    def __len__(self) -> int:
        try:
            return len(self.loader)  # type: ignore[arg-type]
        except TypeError:
            raise TypeError(
                f"data of type {type(self.loader).__name__} has no len(), so its number of "
                "batches per epoch is unknown; pass a DataLoader, a list of batches or (X, y)"
            ) from None

    def epoch(self, generator: torch.Generator | None = None, shuffle: bool = True) -> Iterator:
        """One pass over the loader; it shuffles (or not) as it was built to."""
        for batch in self.loader:
            yield to_device(batch, self.device)


Batches = TensorBatches | LoaderBatches


def as_batches(data: Any, batch_size: int, name: str = "data") -> Batches:
    """Check ``data`` and wrap it for batching; ``.to(device)`` then moves it.

    Raises ValueError for empty data or X and y of different lengths, TypeError for data that
    is neither ``(X, y)`` nor a re-iterable of batches (a generator can be read only once).
    """
    batch_size = check_int("batch_size", batch_size, minimum=1)
    if is_tensor_pair(data):
        X, y = (as_tensor(a) for a in data)
        if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
            raise ValueError(
                f"{name} (X, y) must hold as many targets as inputs, got X of shape "
                f"{tuple(X.shape)} and y of shape {tuple(y.shape)}"
            )
        if len(X) == 0:
            raise ValueError(f"{name} is empty: X and y have no rows")
        return TensorBatches(X, y, batch_size)
    if isinstance(data, (str, bytes)) or not isinstance(data, Iterable):
        raise TypeError(
            f"{name} must be a tuple (X, y) of tensors or arrays, or a DataLoader / re-iterable "
            f"of batches, got {type(data).__name__}"
        )
    if isinstance(data, Iterator):
        raise TypeError(
            f"{name} must be re-iterable (a DataLoader, a list of batches) or (X, y), got a "
            f"one-shot iterator ({type(data).__name__}) that cannot be read again"
        )
    return LoaderBatches(data)


def steps_per_epoch(data: Any, batch_size: int = BATCH_SIZE, accumulation_steps: int = 1) -> int:
    """Optimizer steps in one epoch: its batches // accumulation_steps, where an epoch holds
    ceil(n / batch_size) batches for ``(X, y)`` (one fewer when a single row is left over: it
    joins the batch before), len(loader) otherwise (``optimizer_steps``)."""
    return optimizer_steps(len(as_batches(data, batch_size)), accumulation_steps)


def optimizer_steps(batches: int, accumulation_steps: int) -> int:
    """The optimizer steps that ``batches`` batches make, ``accumulation_steps`` per step (the
    batches left over make none); ValueError when they make none at all."""
    accumulation_steps = check_int("accumulation_steps", accumulation_steps, minimum=1)
    if batches < accumulation_steps:
        raise ValueError(
            f"accumulation_steps={accumulation_steps} is more than the {batches} batches of an "
            "epoch; use fewer accumulation steps or smaller batches"
        )
    return batches // accumulation_steps


def fixed_batches(
    data: Any, batch_size: int, device: torch.device, name: str = "val_data"
) -> list | None:
    """The batches of ``data`` in a fixed order, kept on ``device`` (None for None): the
    held-out data a run measures after every step, or the data a study measures a loss on.

    ``(X, y)`` becomes slices of ``batch_size`` rows (views, no copies); a loader is read once.
    """
    if data is None:
        return None
    kept = list(as_batches(data, batch_size, name).to(device).epoch(shuffle=False))
    if not kept:
        raise ValueError(f"{name} is empty: it yielded no batches")
    return kept


def peek(stream: Iterator) -> tuple[Any, Iterator]:
    """The first batch of ``stream``, and the stream with that batch still in front of it."""
    try:
        first = next(stream)
    except StopIteration:
        raise ValueError("data is empty: it yielded no batches") from None
    return first, chain([first], stream)


def forever(batches: Batches, generator: torch.Generator | None = None) -> Iterator:
    """Epoch after epoch, without end (a range test cycles through data shorter than it)."""
    while True:
        empty = True
        for batch in batches.epoch(generator):
            empty = False
            yield batch
        if empty:
            raise ValueError("data is empty: it yielded no batches")


def in_groups(stream: Iterator, size: int) -> Iterator[list]:
    """The batches of ``stream``, ``size`` at a time (one accumulated step each), until the
    stream ends (the last group may be shorter)."""
    while group := list(islice(stream, size)):
        yield group
