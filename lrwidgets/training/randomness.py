"""Random streams: a seeded run draws from its own stream and leaves everyone else's alone.

A run with a ``seed`` (a range test, ``fit``) draws random numbers for the batch order
(``TensorBatches`` shuffles with ``local_generator(seed)``, a DataLoader with its sampler and
its workers' seeds) and in the model's forward (dropout, any random op). ``seeded(seed)``
makes them all come from streams seeded with ``seed``, and no one else's stream moves:

- in the main thread, torch's global generators (the CPU's and every GPU's) are seeded with
  ``seed`` and put back afterwards (``torch.random.fork_rng``): the caller's stream goes on
  as if the run had never happened;
- in any other thread (a widget's Run button), the global CPU generator is never touched: the
  learner's thread may be drawing from it at that very moment. Each random op of this thread
  on a CPU tensor that names no generator of its own draws from a private ``torch.Generator``
  seeded with ``seed`` instead (``PrivateStream``: a dispatch mode, which torch keeps per
  thread). It starts where ``torch.manual_seed(seed)`` starts the global one, so a background
  run draws exactly what the same run draws in the main thread: its curve is its solo run's.
  The price: one Python call per torch op of that thread (a background run of the course's
  small models takes up to twice as long).
  Not isolated: random ops on a GPU. Dropout there draws from the device's global generator
  (its fused kernel takes no generator); a background run seeds it and puts it back as the
  main thread does, so another thread drawing on the same GPU meanwhile shares that stream.

``loader_generators_kept(seed, data, val_data)``: a DataLoader built with its own
``generator=`` (or a sampler with one) shuffles from that generator, which no global seed
reaches. The range test seeds it with ``seed`` and puts its state back afterwards: the
learner's next epoch is the one it would have been, and the same seed gives the same curve.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode


def local_generator(seed: int | None) -> torch.Generator | None:
    """A CPU generator seeded with ``seed`` for shuffling, or None (torch's global one)."""
    return None if seed is None else torch.Generator().manual_seed(seed)


def _takes_generator(op: torch._ops.OpOverload) -> bool:
    return any(a.name == "generator" and a.kwarg_only for a in op._schema.arguments)


_WITH_GENERATOR: dict[Any, Any] = {}


def with_generator(op: torch._ops.OpOverload) -> torch._ops.OpOverload | None:
    """``op`` itself if it takes a ``generator=``, else its overload that does and is otherwise
    the same (``rand.default`` -> ``rand.generator``); None for an op that draws nothing."""
    if op not in _WITH_GENERATOR:
        wanted = {a.name for a in op._schema.arguments} | {"generator"}
        packet = op.overloadpacket
        candidates = [op, *(getattr(packet, name) for name in packet.overloads())]
        _WITH_GENERATOR[op] = next(
            (
                other
                for other in candidates
                if _takes_generator(other) and {a.name for a in other._schema.arguments} == wanted
            ),
            None,
        )
    return _WITH_GENERATOR[op]


def _on_cpu(args: tuple, kwargs: dict) -> bool:
    device = kwargs.get("device")
    if device is None:
        tensor = next((a for a in args if isinstance(a, torch.Tensor)), None)
        default = getattr(torch, "get_default_device", lambda: "cpu")  # (torch >= 2.3)
        device = tensor.device if tensor is not None else default()
    return torch.device(device).type == "cpu"


class PrivateStream(TorchDispatchMode):
    """Inside (in this thread only): every random op on a CPU tensor without a generator of its
    own draws from ``generator``. In a DataLoader worker forked meanwhile it does nothing: the
    worker seeds torch's generator itself."""

    def __init__(self, generator: torch.Generator) -> None:
        super().__init__()
        self.generator = generator
        self.pid = os.getpid()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        target = with_generator(func)
        if (
            target is not None
            and kwargs.get("generator") is None
            and os.getpid() == self.pid
            and _on_cpu(args, kwargs)
        ):
            return target(*args, **{**kwargs, "generator": self.generator})
        return func(*args, **kwargs)


@contextmanager
def gpu_streams_seeded(seed: int) -> Iterator[None]:
    """Every CUDA device's global generator seeded with ``seed``, put back afterwards."""
    devices = range(torch.cuda.device_count()) if torch.cuda.is_available() else range(0)
    states = [torch.cuda.get_rng_state(device) for device in devices]
    if states:
        torch.cuda.manual_seed_all(seed)
    try:
        yield
    finally:
        for device, state in zip(devices, states, strict=True):
            torch.cuda.set_rng_state(state, device)


@contextmanager
def draws_nothing() -> Iterator[None]:
    """Inside (in this thread): random ops draw from a throwaway stream, so no one's stream
    moves, the caller's, a seeded run's (``PrivateStream``) or the learner's: ops on CPU
    tensors draw from a fresh ``torch.Generator``, and every GPU's global generator is put back
    afterwards (its dropout kernel takes no generator). For a trial pass before a run."""
    devices = range(torch.cuda.device_count()) if torch.cuda.is_available() else range(0)
    states = [torch.cuda.get_rng_state(device) for device in devices]
    try:
        with PrivateStream(torch.Generator()):
            yield
    finally:
        for device, state in zip(devices, states, strict=True):
            torch.cuda.set_rng_state(state, device)


@contextmanager
def seeded(seed: int | None) -> Iterator[None]:
    """Inside: random draws from streams seeded with ``seed`` (dropout, DataLoader shuffling);
    afterwards every global stream is where it was (see the module's docstring for the main
    thread and the others). ``seed=None`` does nothing: the run draws from the global stream
    as any training would."""
    if seed is None:
        yield
    elif threading.current_thread() is threading.main_thread():
        cuda_devices = range(torch.cuda.device_count()) if torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=cuda_devices, device_type="cuda"):
            torch.manual_seed(seed)
            yield
    else:
        with gpu_streams_seeded(seed), PrivateStream(torch.Generator().manual_seed(seed)):
            yield


def loader_generators(data: Any) -> list[torch.Generator]:
    """The generators a DataLoader shuffles with: its own ``generator=``, its sampler's and its
    batch sampler's sampler's (each once); none for other data."""
    found: list[torch.Generator] = []
    sampler = getattr(data, "sampler", None)
    batch_sampler = getattr(data, "batch_sampler", None)
    for owner in (data, sampler, getattr(batch_sampler, "sampler", None)):
        generator = getattr(owner, "generator", None)
        if isinstance(generator, torch.Generator) and not any(generator is g for g in found):
            found.append(generator)
    return found


@contextmanager
def loader_generators_kept(seed: int | None, *data: Any) -> Iterator[None]:
    """Inside: the own generators of the DataLoaders in ``data`` seeded with ``seed`` (when
    given); afterwards each is back in its state from before."""
    generators = [g for d in data for g in loader_generators(d)]
    states = [generator.get_state() for generator in generators]
    try:
        if seed is not None:
            for generator in generators:
                generator.manual_seed(seed)
        yield
    finally:
        for generator, state in zip(generators, states, strict=True):
            generator.set_state(state)
