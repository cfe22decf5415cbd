"""The whole range test on one screen: plain PyTorch, for reading.

``range_test`` (``range_test.py``) runs this same algorithm and gives the same learning rates
and losses on ``(X, y)`` tensors (``tests/test_reference.py`` checks it bit for bit). Around it,
``range_test`` adds what keeps your work safe and what real training needs; none of it changes
the algorithm, and none of it is here:

- putting the model and optimizer back exactly as they were (``state.py``, ``run.py``);
- argument checks and explained first-step errors (``loop.py``, ``lrwidgets.core.checks``);
- several param groups at their own ratios (``groups.py``), DataLoaders and devices (``data.py``);
- gradient accumulation, gradient clipping, mixed precision (``loop.train_step``);
- held-out losses, a callback, a progress bar, and ``torch.distributed`` (``distributed.py``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..core.defaults import BATCH_SIZE, BETA, DIVERGE_TH, END_LR, NUM_ITER, START_LR, SWEEP_MODE
from ..core.sweep import lr_sweep


def reference_range_test(
    model: nn.Module,
    data: tuple[torch.Tensor, torch.Tensor],
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    *,
    start_lr: float = START_LR,
    end_lr: float = END_LR,
    num_iter: int = NUM_ITER,
    mode: str = SWEEP_MODE,
    beta: float = BETA,
    diverge_th: float = DIVERGE_TH,
    batch_size: int = BATCH_SIZE,
    seed: int = 0,
) -> tuple[list[float], list[float], list[float]]:
    """Train ``model`` one step per learning rate, lr growing from ``start_lr`` to ``end_lr``;
    return the lrs tried, the raw loss of each step and its smoothed loss.

    Every step t = 1, 2, ...:   lr_t on the optimizer, one step on one batch, loss_t;
    avg_t = beta * avg_{t-1} + (1 - beta) * loss_t,  smoothed_t = avg_t / (1 - beta**t);
    stop when loss_t is not finite or smoothed_t > diverge_th * min(smoothed_1..t) (fastai's
    rule, for losses >= 0; ``range_test`` words it so that negative losses work too).
    The model and optimizer are left trained (``range_test`` puts them back).
    """
    X, y = data
    torch.manual_seed(seed)  # dropout's random numbers
    generator = torch.Generator().manual_seed(seed)  # the batch order

    def batches():  # shuffled batches of batch_size rows, one epoch after another, forever
        while True:  # (range_test also merges a last batch of one row into the one before)
            order = torch.randperm(len(X), generator=generator).to(X.device)
            for i in range(0, len(X), batch_size):
                yield X[order[i : i + batch_size]], y[order[i : i + batch_size]]

    # exp: lr_i = start_lr * (end_lr / start_lr) ** (i / (num_iter - 1)); linear: equal steps
    lrs = lr_sweep(start_lr, end_lr, num_iter, mode).tolist()
    tried, losses, smoothed = [], [], []
    avg, best = 0.0, math.inf
    stream = batches()
    model.train()
    for t, lr in enumerate(lrs, start=1):
        inputs, targets = next(stream)
        for group in optimizer.param_groups:  # set the lr
            group["lr"] = lr
        optimizer.zero_grad()  # one step
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        tried.append(lr)
        losses.append(loss.item())
        avg = beta * avg + (1.0 - beta) * losses[-1]  # the EWMA, started at 0 ...
        smoothed.append(avg / (1.0 - beta**t))  # ... and debiased
        best = min(best, smoothed[-1])  # the best so far
        if not math.isfinite(losses[-1]) or smoothed[-1] > diverge_th * best:  # the stop rule
            break
    return tried, losses, smoothed
