"""Private copies of a user's model, optimizer and DataLoader, for runs in the widgets that must
never touch the user's objects (a Run-button test while the learner trains in the next cell; the
TrainingWidget's runs, which all start from the same weights)."""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from .state import optimizers_in


def private_copy(
    model: nn.Module, optimizer: torch.optim.Optimizer | None = None
) -> tuple[nn.Module, torch.optim.Optimizer | None]:
    """A deep copy of ``model`` and ``optimizer`` through one memo, so the copied optimizer
    holds the copied model's parameters (the memo maps each parameter to its copy), with its
    own state (momentum buffers, step counts) in their own dtypes, and the same class and
    hyper-parameters.

    Each optimizer is copied attribute by attribute: ``copy.deepcopy`` of an optimizer keeps
    only its groups and state (``Optimizer.__getstate__``), which would leave a wrapper (a
    Lookahead) without the optimizer it wraps. The wrapped ones (``optimizers_in``) are copied
    the same way, and the copies point to each other as the originals do.
    """
    try:
        memo: dict[int, Any] = {}
        model_copy = copy.deepcopy(model, memo)
        optimizers = optimizers_in(optimizer)
        for opt in optimizers:
            memo[id(opt)] = type(opt).__new__(type(opt))
        for opt in optimizers:
            memo[id(opt)].__dict__.update(copy.deepcopy(vars(opt), memo))
    except Exception as error:
        raise TypeError(
            "the run trains a copy of your model and optimizer, so that yours stay untouched, "
            f"but copy.deepcopy could not copy them: {error}"
        ) from error
    return model_copy, None if optimizer is None else memo[id(optimizer)]


def private_loader(loader: DataLoader) -> DataLoader:
    """A DataLoader that reads what ``loader`` reads, as it was built to, and shares none of its
    moving parts: its own worker iterator (with ``persistent_workers=True`` a loader keeps one
    iterator and its workers for good, and two threads pulling from it break both), its own
    sampler and ``generator`` (copies, in their current state). The dataset, ``collate_fn``
    and ``worker_init_fn`` are shared as they are: reading them changes nothing."""
    shared = [loader.dataset, loader.collate_fn, loader.worker_init_fn]
    shared.append(loader.multiprocessing_context)
    memo: dict[int, Any] = {id(part): part for part in shared if part is not None}
    if loader._iterator is not None:
        memo[id(loader._iterator)] = None  # the copy starts its own workers when it is read
    try:
        return copy.deepcopy(loader, memo)
    except Exception as error:
        raise TypeError(
            "data: the run reads a private copy of your DataLoader (its own workers, sampler "
            f"and generator), but copy.deepcopy could not copy its sampler: {error}; pass "
            "(X, y), or a DataLoader whose sampler can be copied"
        ) from error


def private_data(data: Any) -> Any:
    """``private_loader(data)`` for a DataLoader; other data as it is (``(X, y)`` tensors and
    lists of batches are only read)."""
    return private_loader(data) if isinstance(data, DataLoader) else data
