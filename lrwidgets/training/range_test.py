"""The learning-rate range test, as fastai's "LR finder" runs it.

Smith (2015, "Cyclical Learning Rates for Training Neural Networks") introduced the test: raise
the lr *linearly* over several epochs and read the validation *accuracy*. The recipe here is
fastai's (Howard and Gugger): an *exponential* sweep over 100 batches, reading the smoothed
training *loss*, stopped when it exceeds 4x its best. ``mode="linear"`` and ``val_data`` bring
it closer to Smith's original.

Train for ``num_iter`` steps while the learning rate grows from ``start_lr`` to ``end_lr``
(``lrwidgets.core.lr_sweep``), one new lr per step, and record the loss of every step. The
loss first barely moves (lr too small), then falls, then blows up (lr too large). Every step:

    lr_t                      set on every param group (keeping their ratios), then one
                              optimizer step on one batch (or ``accumulation_steps`` batches)
    loss_t                    the raw loss of that batch (or, with val_data, on held-out data)
    smoothed_t                debiased EWMA of loss_1..t (lrwidgets.core.EWMA):
                              avg_t = beta * avg_{t-1} + (1 - beta) * loss_t,  avg_0 = 0,
                              smoothed_t = avg_t / (1 - beta**t)

and stop when loss_t is not finite or, with best_t = min(smoothed_1..t),
smoothed_t - best_t > (diverge_th - 1) * |best_t|: fastai's smoothed_t > diverge_th * best_t for
positive losses, and a rule that also works for losses that can be negative
(``lrwidgets.core.divergence_reason``).

Afterwards the model and the optimizer are exactly as they were: see ``state.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from ..core import EWMA, check_diverge_th, divergence_reason, lr_sweep
from ..core.checks import check_beta, check_choice, check_int, check_positive
from ..core.defaults import BATCH_SIZE, BETA, DIVERGE_TH, END_LR, NUM_ITER, START_LR, SWEEP_MODE
from .data import as_batches, forever, in_groups
from .distributed import Ranks, rank, training_device
from .groups import lr_ratios, set_group_lrs
from .loop import (
    STOPPED_BY_CALLBACK,
    Callback,
    LossFn,
    StepFn,
    StepOutcome,
    autocast,
    check_amp,
    check_common,
    evaluate,
    grad_scaler,
    train_step,
)
from .randomness import local_generator
from .result import RangeTestResult
from .run import first_batch, training_run
from .state import check_restorable

VARY = ("init", "order", "both")


@dataclass
class Curve:
    """The range test's record as it grows: one point per step taken (the skipped steps kept
    apart), the smoothed loss and its best so far, for the stop rule."""

    smoother: EWMA
    diverge_th: float
    best: float = math.inf
    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    train_losses: list[float] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)
    smoothed: list[float] = field(default_factory=list)
    skipped_lrs: list[float] = field(default_factory=list)
    skipped_losses: list[float] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return len(self.losses)

    def add(self, lr: float, loss: float, train: float, held_out: bool) -> str | None:
        """Record one step (``loss`` is the held-out loss when ``held_out``); return why the
        test must stop there (``divergence_reason``), or None."""
        self.train_losses.append(train)
        if held_out:
            self.val_losses.append(loss)
        self.lrs.append(lr)
        self.losses.append(loss)
        smooth = self.smoother.update(loss)
        self.best = min(self.best, smooth)
        self.smoothed.append(smooth)
        return divergence_reason(loss, smooth, self.best, self.diverge_th)

    def skip(self, lr: float, loss: float) -> None:
        """A step the GradScaler skipped: kept apart from the curve."""
        self.skipped_lrs.append(lr)
        self.skipped_losses.append(loss)

    def result(
        self,
        planned: np.ndarray,
        mode: str,
        beta: float,
        reason: str | None,
        ratios: tuple[float, ...],
        held_out: bool,
    ) -> RangeTestResult:
        """The finished test: the curve as arrays, and why it stopped early (or None)."""
        return RangeTestResult(
            lrs=np.array(self.lrs),
            losses=np.array(self.losses),
            planned_lrs=planned,
            mode=mode,
            beta=beta,
            diverge_th=self.diverge_th,
            stopped_early=reason is not None,
            stop_reason=reason,
            val_losses=np.array(self.val_losses) if held_out else None,
            train_losses=np.array(self.train_losses),
            smoothed_losses=np.array(self.smoothed),
            skipped_lrs=np.array(self.skipped_lrs),
            skipped_losses=np.array(self.skipped_losses),
            group_ratios=ratios,
        )


def range_test(
    model: nn.Module,
    data: Any,
    loss_fn: LossFn | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    start_lr: float = START_LR,
    end_lr: float = END_LR,
    num_iter: int = NUM_ITER,
    mode: str = SWEEP_MODE,
    endpoint: bool = True,
    beta: float = BETA,
    diverge_th: float = DIVERGE_TH,
    val_data: Any = None,
    batch_size: int = BATCH_SIZE,
    device: str | torch.device = "auto",
    seed: int | None = None,
    progress: bool = True,
    callback: Callback | None = None,
    step_fn: StepFn | None = None,
    amp: bool | str = False,
    accumulation_steps: int = 1,
    clip_grad_norm: float | None = None,
) -> RangeTestResult:
    """Run a learning-rate range test on ``model`` and return its curve; the model and the
    optimizer come back unchanged.

    - ``data``: ``(X, y)`` tensors or arrays (batched in memory on the device: the fast path),
      or a DataLoader / re-iterable of ``(inputs, targets)`` batches, cycled when shorter than
      ``num_iter``. ``batch_size`` applies to ``(X, y)`` only.
    - ``loss_fn``: None picks ``nn.CrossEntropyLoss()`` for integer targets, ``nn.MSELoss()``
      otherwise. ``optimizer``: None is SGD with momentum 0.9. Its lr is overwritten each
      step; with several param groups, group i gets lr_t * lr_i / lr_0 (the optimizer's
      ratios are kept, see ``groups.py``) and the curve's x axis is group 0's lr.
    - ``endpoint``: True (default) sweeps to ``end_lr`` included, as torch-lr-finder does;
      False stops one step short of it, lr_i = start_lr * (end_lr / start_lr) ** (i / num_iter),
      as fastai's ``lr_find`` does, so that fastai's arguments give fastai's rates and (with the
      default trimming) its suggestions (``lrwidgets.core.lr_sweep``).
    - ``val_data``: held-out ``(X, y)`` or batches; after every step the loss on all of it
      (eval mode, no gradients) is the recorded loss, and the training loss is kept too.
    - ``device``: "auto" (CUDA, then MPS, else CPU), "cpu", "cuda", "cuda:1", a torch.device.
      The model trains there and goes back afterwards (a DDP model trains where it is).
    - ``seed``: the same seed gives the same curve (batch order and dropout); torch's global
      random state is left as it was, and so is a DataLoader's own ``generator=`` (seeded with
      ``seed`` during the test). In a background thread the run draws from a private stream
      (``randomness.py``).
    - ``callback(step, lr, loss)``: called after every step (step counts from 0); a truthy
      return stops the test. ``step_fn(model, batch) -> loss`` replaces ``loss_fn`` for batches
      that are not (inputs, targets).
    - ``amp``: True or "bf16" is bfloat16 autocast on CUDA; "fp16" is float16 autocast with a
      GradScaler: a step the scaler skips (gradients not finite) is not a point of the curve;
      its lr and loss go to ``result.skipped_lrs`` / ``skipped_losses``. Ignored off CUDA.
    - ``accumulation_steps``: one optimizer step (and one lr) per that many batches, on the
      gradient of their mean loss; the recorded loss is the mean of their losses.
    - ``clip_grad_norm``: clip the global gradient norm of ``model.parameters()`` to this
      before every step, as ``torch.nn.utils.clip_grad_norm_`` does in the training loop.
    - Inside an initialised ``torch.distributed`` process group (a DDP model, each rank its own
      shard of the data), the recorded loss is the mean over the ranks and a stop on any rank
      stops all of them at the same step: every rank gets the same result. The settings must be
      the same on every rank (a ValueError names the one that differs); when one rank raises,
      the others raise ``PeerFailed`` within the step (``distributed.py``).

    Inside ``torch.no_grad()`` the test turns gradients on for itself; inside
    ``torch.inference_mode()``, for a model on the meta device or with lazy modules not yet
    initialised (``nn.LazyLinear`` before its first forward) it refuses with a ValueError.
    A second Ctrl-C waits until everything is back, then is raised (``interrupts.py``).

    The arguments, and the first batch against the model (see ``loop.py``: dtypes, a tuple
    ``(X, y)``, a loss object rather than its class), are checked before training; bad ones
    raise ValueError or TypeError. The first batch is tried once before the first step; a
    failure there is re-raised with the call that failed, the batch's shapes and dtypes, and the
    model's dtype and device.
    """
    ranks = Ranks()  # the exchanges with the other ranks of a process group (distributed.py)
    with ranks.failures_shared():
        planned = lr_sweep(start_lr, end_lr, num_iter, mode, endpoint)
        beta = check_beta("beta", beta)
        diverge_th = check_diverge_th(diverge_th)
        check_common(model, loss_fn, optimizer, seed, callback, step_fn, progress)
        check_restorable(model)
        accumulation_steps = check_int("accumulation_steps", accumulation_steps, minimum=1)
        if clip_grad_norm is not None:
            clip_grad_norm = check_positive("clip_grad_norm", clip_grad_norm)
        ratios = lr_ratios(optimizer)
        ranks.agree(
            dict(
                num_iter=num_iter,
                start_lr=start_lr,
                end_lr=end_lr,
                mode=mode,
                endpoint=endpoint,
                beta=beta,
                diverge_th=diverge_th,
                accumulation_steps=accumulation_steps,
                clip_grad_norm=clip_grad_norm,
                amp={True: "bf16", False: "off"}.get(check_amp(amp), amp),
                val_data=val_data is not None,
            )
        )
        device = training_device(model, device)
        amp_context = autocast(device, amp)
        batches = as_batches(data, batch_size).to(device)

        curve = Curve(EWMA(beta), diverge_th)
        reason = None
        with training_run(
            model,
            optimizer,
            device,
            start_lr,
            seed=seed,
            data=data,
            val_data=val_data,
            batch_size=batch_size,
            steps=num_iter,
            desc="range test",
            progress=progress and rank() == 0,
            restore_after=True,
        ) as run:
            scaler = grad_scaler(device, amp)
            stream = forever(batches, local_generator(seed))
            loss_fn, stream = first_batch(stream, model, loss_fn, step_fn, amp_context)
            steps = in_groups(stream, accumulation_steps)  # endless: the sweep sets the length
            train_loss_fn, train_step_fn = loss_fn, step_fn
            if ranks.on:  # every rank's forward pass heard before backward's all-reduce
                train_loss_fn, train_step_fn = None, ranks.synced(loss_fn, step_fn)
            for lr, step_batches in zip(planned.tolist(), steps, strict=False):
                ranks.exchange()  # ready: every rank has its batches
                set_group_lrs(run.opt, lr, ratios)
                outcome = train_step(
                    model,
                    run.opt,
                    step_batches,
                    train_loss_fn,
                    train_step_fn,
                    amp_context,
                    clip_grad_norm=clip_grad_norm,
                    scaler=scaler,
                )
                train, loss, skipped = measured_losses(
                    outcome, model, run.val, loss_fn, step_fn, amp_context, ranks
                )
                run.bar.update()
                if scaler is not None and skipped and math.isfinite(loss):
                    curve.skip(lr, loss)  # no step was taken at this lr: not on the curve
                    continue
                reason = curve.add(lr, loss, train, held_out=run.val is not None)
                stop = ranks.any(callback is not None and bool(callback(curve.steps - 1, lr, loss)))
                if reason is None and stop:
                    reason = STOPPED_BY_CALLBACK
                if reason is not None:
                    break
        ranks.exchange()  # done: every rank has its model and optimizer back
    return curve.result(planned, mode, beta, reason, ratios, held_out=val_data is not None)


def measured_losses(
    outcome: StepOutcome,
    model: nn.Module,
    val: list | None,
    loss_fn: LossFn | None,
    step_fn: StepFn | None,
    amp_context: AbstractContextManager,
    ranks: Ranks,
) -> tuple[float, float, bool]:
    """(the step's training loss, the loss the curve records: the loss on all of ``val``
    after the step, or the training loss without it), each the mean over the ranks, and
    whether a GradScaler skipped the step on any rank: one exchange."""
    train = outcome.loss.item()
    loss = train
    if val is not None:
        loss = evaluate(model, val, loss_fn, step_fn, amp_context)[0]
    train, loss, skipped = ranks.mean([train, loss, float(outcome.skipped)])
    return train, loss, skipped > 0


def repeat_range_test(
    model_factory: Callable[[int], nn.Module],
    data: Any,
    *,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    vary: str = "both",
    optimizer_factory: Callable[[nn.Module], torch.optim.Optimizer] | None = None,
    **range_test_kwargs: Any,
) -> list[RangeTestResult]:
    """One range test per seed, to see how much the curve and its suggestions move.

    ``vary="init"``: the model is ``model_factory(seed)``, the batch order is that of
    ``seeds[0]``; ``"order"``: the model is ``model_factory(seeds[0])``, the batch order
    (and dropout) follow ``seed``; ``"both"``: both follow ``seed``.
    ``optimizer_factory(model)`` builds each run's optimizer (None: SGD with momentum 0.9).
    Other keyword arguments go to ``range_test``.
    """
    if not callable(model_factory):
        raise TypeError(f"model_factory must be callable, got {type(model_factory).__name__}")
    seeds = tuple(check_int("seeds", s, minimum=0) for s in seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one seed, got an empty sequence")
    check_choice("vary", vary, VARY)
    if optimizer_factory is not None and not callable(optimizer_factory):
        raise TypeError("optimizer_factory must be callable or None")
    for name in ("seed", "optimizer"):
        if name in range_test_kwargs:
            hint = "seeds" if name == "seed" else "optimizer_factory"
            raise TypeError(f"repeat_range_test sets {name} itself; use {hint}= instead")
    results = []
    for seed in seeds:
        model = model_factory(seeds[0] if vary == "order" else seed)
        optimizer = optimizer_factory(model) if optimizer_factory is not None else None
        order = seeds[0] if vary == "init" else seed
        results.append(
            range_test(model, data, optimizer=optimizer, seed=order, **range_test_kwargs)
        )
    return results
