"""Private copies of a user's model and optimizer, for runs in the widgets that must never
touch the user's objects (a Run-button test while the learner trains in the next cell; the
TrainingWidget's runs, which all start from the same weights)."""

from __future__ import annotations

import copy

import torch
from torch import nn


def private_copy(
    model: nn.Module, optimizer: torch.optim.Optimizer | None = None
) -> tuple[nn.Module, torch.optim.Optimizer | None]:
    """``copy.deepcopy((model, optimizer))``: one call, so the copied optimizer holds the copied
    model's parameters (deepcopy's memo maps each parameter to its copy), with its own state
    (momentum buffers, step counts) in their own dtypes, and the same class and hyper-parameters.
    """
    try:
        return copy.deepcopy((model, optimizer))
    except Exception as error:
        raise TypeError(
            "the run trains a copy of your model and optimizer, so that yours stay untouched, "
            f"but copy.deepcopy could not copy them: {error}"
        ) from error
