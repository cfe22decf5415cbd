"""What every problem is made of: ``Problem`` (a model factory, its data, its loss and, when it
has one, its own optimizer and schedule), ``by_seed`` (the same seed gives the same weights), the
small models and the data helpers (split, standardize) that several problems share.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..core import Schedule
from ..core.checks import check_choice, check_int
from ..core.defaults import OPTIMIZER
from ..training import RangeTestResult, range_test
from ..training.optimizers import OPTIMIZERS, make_optimizer

TASKS = ("regression", "classification")
OWN_OPTIMIZER = "own"  # the problem's own optimizer (Problem.make_optimizer), where it has one

Tensors = tuple[torch.Tensor, torch.Tensor]


@dataclass
class Problem:
    """A model factory, its data and its loss (and, for some, their own optimizer and schedule).

    ``make_model(seed)`` returns a freshly initialised ``nn.Module`` (the same weights for the
    same seed); ``train_data`` and ``val_data`` are ``(X, y)`` tensors; ``extras`` holds what is
    known about the problem (for the quadratic bowl: its eigenvalues and stability limits).

    ``make_optimizer(model)``, where a problem has one, is the optimizer it is trained with, as
    practitioners train such a model (the transformer's AdamW, the fine-tune's two param groups);
    ``optimizer`` says what it is in words. ``make_schedule(total_steps, max_lr)`` is the schedule
    that goes with it (the transformer's warm-up then cosine). ``optimizer_for`` picks the
    optimizer wherever a problem is trained: its own unless another is asked for by name.
    """

    name: str
    description: str
    make_model: Callable[[int], nn.Module] = field(repr=False)
    train_data: Tensors = field(repr=False)
    val_data: Tensors | None = field(repr=False)
    loss_fn: nn.Module
    task: str
    batch_size: int
    extras: dict = field(default_factory=dict, repr=False)
    make_optimizer: Callable[[nn.Module], torch.optim.Optimizer] | None = field(
        default=None, repr=False
    )
    optimizer: str = ""
    make_schedule: Callable[[int, float], Schedule] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        check_choice("task", self.task, TASKS)

    @property
    def optimizer_choices(self) -> tuple[str, ...]:
        """The names ``optimizer_for`` takes: "own" first where the problem has its own."""
        return ((OWN_OPTIMIZER,) if self.make_optimizer else ()) + OPTIMIZERS

    def default_optimizer(self) -> str:
        """ "own" where the problem has its own optimizer, else the package's default one."""
        return OWN_OPTIMIZER if self.make_optimizer else OPTIMIZER

    def optimizer_for(self, model: nn.Module, name: str | None = None) -> torch.optim.Optimizer:
        """A fresh optimizer over ``model``: ``name`` is "own" (``make_optimizer(model)``) or one
        of ``lrwidgets.training.OPTIMIZERS``; None means ``default_optimizer()``."""
        name = self.default_optimizer() if name is None else name
        check_choice("optimizer", name, self.optimizer_choices)
        if name == OWN_OPTIMIZER:
            return self.make_optimizer(model)
        return make_optimizer(name, model.parameters())

    def range_test(self, seed: int = 0, **kwargs: Any) -> RangeTestResult:
        """``lrwidgets.range_test`` on this problem: the model ``make_model(seed)``, the training
        data, loss and batch size, the problem's ``make_optimizer(model)`` when it has one, and
        ``seed`` for the batch order too. Keyword arguments go to ``range_test`` and win."""
        model = self.make_model(seed)
        if self.make_optimizer is not None and "optimizer" not in kwargs:
            kwargs["optimizer"] = self.make_optimizer(model)
        kwargs = {"batch_size": self.batch_size, "seed": seed, **kwargs}
        return range_test(model, self.train_data, self.loss_fn, **kwargs)


def by_seed(build: Callable[[], nn.Module]) -> Callable[[int], nn.Module]:
    """Turn ``build()`` into ``make_model(seed)``: the same seed gives the same weights.

    The global torch random state is saved and restored, so making a model changes nothing else.
    """

    def make_model(seed: int = 0) -> nn.Module:
        seed = check_int("seed", seed, minimum=0)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return build()

    return make_model


def mlp(sizes: list[int]) -> nn.Sequential:
    """Linear layers of the given sizes with ReLU in between: [in, hidden..., out]."""
    layers: list[nn.Module] = [nn.Flatten()]
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def small_cnn(side: int, classes: int, channels: int = 16) -> nn.Sequential:
    """Two blocks conv3x3 -> ReLU -> maxpool2 on 1 x side x side images, then a linear layer.

    Each pool halves the side, so the linear layer sees 2*channels x side/4 x side/4 features.
    """
    return nn.Sequential(
        nn.Conv2d(1, channels, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(channels, 2 * channels, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2 * channels * (side // 4) ** 2, classes),
    )


def split(
    X: torch.Tensor, y: torch.Tensor, val_fraction: float, seed: int
) -> tuple[Tensors, Tensors]:
    """Shuffle with ``seed`` and hold out ``val_fraction`` of the examples for validation."""
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))
    n_val = max(1, round(val_fraction * len(X)))
    if n_val >= len(X):
        raise ValueError(
            f"val_fraction={val_fraction!r} of {len(X)} examples leaves no training rows; "
            "use a smaller val_fraction or more examples"
        )
    val, train = order[:n_val], order[n_val:]
    return (X[train], y[train]), (X[val], y[val])


def standardize(train: Tensors, val: Tensors) -> tuple[Tensors, Tensors]:
    """x' = (x - mean) / std with the mean and std of all training inputs (one number each)."""
    mean, std = train[0].mean(), train[0].std()
    return ((train[0] - mean) / std, train[1]), ((val[0] - mean) / std, val[1])
