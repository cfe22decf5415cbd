"""Private copies of a user's model and optimizer, for runs that must train from the same start
again and again (the TrainingWidget's runs) without touching the user's objects."""

from __future__ import annotations

import copy

import torch
from torch import nn


def private_copy(
    model: nn.Module, optimizer: torch.optim.Optimizer | None = None
) -> tuple[nn.Module, torch.optim.Optimizer | None]:
    """``copy.deepcopy(model)``, and the optimizer rebuilt over the copy's parameters: the same
    class, param groups and hyper-parameters, and a copy of its state (momentum buffers, ...).

    The parameter of group g at position i in the copy is the copy of the user's parameter
    there (matched through ``model.parameters()``, which both list in the same order).
    """
    twin = copy.deepcopy(model)
    if optimizer is None:
        return twin, None
    mine = {id(p): q for p, q in zip(model.parameters(), twin.parameters(), strict=True)}
    groups = [
        group | {"params": [mine[id(p)] for p in group["params"]]}
        for group in optimizer.param_groups
    ]  # every group carries all its hyper-parameters, so the constructor's defaults do not matter
    try:
        clone = type(optimizer)(groups)
    except TypeError:  # an optimizer whose lr has no default
        clone = type(optimizer)(groups, lr=groups[0]["lr"])
    clone.load_state_dict(copy.deepcopy(optimizer.state_dict()))
    return twin, clone
