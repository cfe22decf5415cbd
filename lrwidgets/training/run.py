"""The frame of a training run, shared by ``range_test`` and ``fit``.

Both runs do the same before and after their loop; ``training_run`` does it once:

    with interrupts_held(),                  a second Ctrl-C waits until all is put back
         seeded(seed),                       random streams seeded, put back (``randomness.py``)
         loader_generators_kept(...):        a DataLoader's own generator too (range test)
        val = fixed_batches(val_data, ...)   held-out batches on the device (None without)
        bar = tqdm(...)                      the progress bar
        try:
            model.to(device); opt = ...      the model on the device, the optimizer to step
            model.train()
            with torch.enable_grad():        also when called inside torch.no_grad()
                ... the loop ...
        finally:
            bar.close()
            put back: the range test restores model and optimizer bit for bit (``state.py``);
                      fit keeps what it trained and moves the model back to its own device

Also here: ``first_batch``, which reads the first batch of the loop's stream to choose the loss
and to check the batch against the model before any step.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from ..core.defaults import OPTIMIZER
from .data import fixed_batches, peek
from .interrupts import interrupts_held
from .loop import LossFn, StepFn, check_first_batch, resolve_loss
from .optimizers import make_optimizer
from .randomness import loader_generators_kept, seeded
from .state import move_optimizer_state, restore, snapshot


@dataclass
class Run:
    """What the loop uses: the optimizer to step, the held-out batches, the progress bar."""

    opt: torch.optim.Optimizer
    val: list | None
    bar: tqdm


def optimizer_to_step(
    model: nn.Module, optimizer: torch.optim.Optimizer | None, lr: float
) -> torch.optim.Optimizer:
    """The given optimizer, its state moved to the model's device; or, for None, a new default
    one (``make_optimizer(OPTIMIZER)``: SGD with momentum 0.9) starting at ``lr``."""
    if optimizer is None:
        return make_optimizer(OPTIMIZER, model.parameters(), lr)
    move_optimizer_state(optimizer)
    return optimizer


@contextmanager
def training_run(
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None,
    device: torch.device,
    first_lr: float,
    *,
    seed: int | None,
    data: Any,
    val_data: Any,
    batch_size: int,
    steps: int,
    desc: str,
    progress: bool,
    restore_after: bool,
) -> Iterator[Run]:
    """Seed, fetch the held-out batches, place the model and open a progress bar; afterwards,
    whatever happens (a second Ctrl-C included), close the bar and put things back.

    ``restore_after``: put the model and the optimizer back exactly as they were, and the own
    generators of the DataLoaders ``data`` and ``val_data`` (the range test); otherwise keep
    what was trained and move the model (and the optimizer's state) back to the model's own
    device (fit). Gradients are on inside, also when the caller is in ``torch.no_grad()``.
    """
    home = next(model.parameters()).device
    kept = (data, val_data) if restore_after else ()
    with interrupts_held() as interrupts, seeded(seed), loader_generators_kept(seed, *kept):
        val = fixed_batches(val_data, batch_size, device)  # (a shuffling loader draws randoms)
        saved = snapshot(model, optimizer) if restore_after else None
        bar = tqdm(total=steps, desc=desc, disable=not progress)
        try:
            model.to(device)
            opt = optimizer_to_step(model, optimizer, first_lr)
            model.train()
            with torch.enable_grad():
                yield Run(opt, val, bar)
        finally:
            interrupts.hold()  # from here on a Ctrl-C waits until everything is back
            bar.close()
            if saved is not None:
                restore(saved)
            else:
                model.to(home)
                if optimizer is not None:
                    move_optimizer_state(optimizer)


def first_batch(
    stream: Iterator,
    model: nn.Module,
    loss_fn: LossFn | None,
    step_fn: StepFn | None,
    amp_context: AbstractContextManager,
) -> tuple[LossFn | None, Iterator]:
    """The loss function chosen from the first batch (``resolve_loss``), after checking that
    batch against the model (``check_first_batch``); and the stream, that batch still in front."""
    first, stream = peek(stream)
    loss_fn = resolve_loss(loss_fn, step_fn, first)
    check_first_batch(model, first, loss_fn, step_fn, amp_context)
    return loss_fn, stream
