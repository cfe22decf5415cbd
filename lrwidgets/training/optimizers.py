"""The optimizers the widgets offer for the built-in problems, by name.

The learning rate given here hardly matters: ``range_test`` and ``fit`` set it at every step.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from ..core.checks import check_choice, check_positive
from ..core.defaults import SGD_MOMENTUM

OPTIMIZERS = ("sgd", "sgd_momentum", "adam")


def make_optimizer(
    name: str, params: Iterable[torch.nn.Parameter], lr: float = 1e-3
) -> torch.optim.Optimizer:
    """A fresh optimizer over ``params``:

    - ``"sgd"``: plain SGD, ``torch.optim.SGD(params, lr)``
    - ``"sgd_momentum"``: SGD with momentum 0.9 (the range test's default optimizer)
    - ``"adam"``: ``torch.optim.Adam(params, lr)`` with PyTorch's betas (0.9, 0.999)
    """
    check_choice("optimizer", name, OPTIMIZERS)
    lr = check_positive("lr", lr)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "sgd_momentum":
        return torch.optim.SGD(params, lr=lr, momentum=SGD_MOMENTUM)
    return torch.optim.Adam(params, lr=lr)
