"""What a range test returns: the learning rates it took and the losses it saw, nothing trained.

Everything else is computed from those raw numbers on demand, so a learner can re-smooth the
same curve with another beta or another convention, or ask every heuristic, without training
again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..core import (
    SUGGESTION_METHODS,
    Schedule,
    UnreliableCurveWarning,
    constant,
    ewma,
    fastai_one_cycle,
    fastai_skips,
    minimum_caveat,
    one_cycle,
    suggest_lr,
    torch_lr_finder_curve,
    unreliable_reason,
)
from ..core.checks import check_beta, check_bool, check_choice, check_int
from ..core.defaults import BETA, DIVERGE_TH, METHOD, SWEEP_MODE
from ..core.warn import warn

if TYPE_CHECKING:
    import torch
    from matplotlib.axes import Axes

SCHEDULE_POLICIES = {
    "one_cycle": one_cycle,
    "fastai_one_cycle": fastai_one_cycle,
    "constant": constant,
}


@dataclass(eq=False)  # numpy arrays have no single truth value to compare by
class RangeTestResult:
    """One learning-rate range test.

    - ``lrs``, ``losses``: one entry per step taken. ``losses`` is the curve the test ran on:
      the raw training loss of each batch, or with ``val_data`` the loss on the held-out data
      after each step (closer to Smith's original test, which read the validation accuracy).
    - ``train_losses``: the raw training loss of each step (equal to ``losses`` without val_data).
    - ``val_losses``: the held-out losses, or None without val_data.
    - ``smoothed_losses``: the debiased EWMA with ``beta`` that the divergence rule saw, step by
      step; equal to ``lrwidgets.core.ewma(losses, beta)``.
    - ``planned_lrs``: the whole sweep, also the steps not taken after an early stop.
    - ``stopped_early``, ``stop_reason``: whether a stop rule ended the test, and which: the
      smoothed loss diverged, the loss was not finite, or the callback asked to stop. False and
      None when the test ran the whole sweep.
    - ``skipped_lrs``, ``skipped_losses``: the steps a GradScaler skipped (``amp="fp16"``): no
      step was taken at those rates, so they are kept apart from the curve. Empty otherwise.
    - ``group_ratios``: lr_i / lr_0 of the optimizer's param groups; ``lrs`` are group 0's.
    """

    lrs: np.ndarray = field(repr=False)
    losses: np.ndarray = field(repr=False)
    planned_lrs: np.ndarray = field(repr=False)
    mode: str = SWEEP_MODE
    beta: float = BETA
    diverge_th: float = DIVERGE_TH
    stopped_early: bool = False
    stop_reason: str | None = None
    val_losses: np.ndarray | None = field(default=None, repr=False)
    train_losses: np.ndarray | None = field(default=None, repr=False)
    smoothed_losses: np.ndarray | None = field(default=None, repr=False)
    skipped_lrs: np.ndarray = field(default_factory=lambda: np.array([]), repr=False)
    skipped_losses: np.ndarray = field(default_factory=lambda: np.array([]), repr=False)
    group_ratios: tuple[float, ...] = (1.0,)

    @property
    def steps(self) -> int:
        """Number of steps taken."""
        return len(self.lrs)

    def smoothed(self, beta: float | None = None, debias: bool = True) -> np.ndarray:
        """The stored raw losses smoothed again (no training): ``ewma(losses, beta, debias)``.

        ``beta`` defaults to the test's; ``debias=True`` is the curve the test saw. The third
        convention, torch-lr-finder's average started at the first loss, is
        ``lrwidgets.core.ewma_from_first(result.losses, beta)``; ``lrwidgets.core.smooth`` takes
        any of the three by name.
        """
        beta = self.beta if beta is None else check_beta("beta", beta)
        return ewma(self.losses, beta, check_bool("debias", debias))

    @property
    def num_iter(self) -> int:
        """Number of steps planned (the ``num_iter`` the test was asked for)."""
        return len(self.planned_lrs)

    @property
    def steps_not_taken(self) -> int:
        """Steps of the sweep the test did not get to (after an early stop), 0 otherwise."""
        return max(0, self.num_iter - self.steps - len(self.skipped_lrs))

    def skips(self, skip_start: int | None = None, skip_end: int | None = None) -> tuple[int, int]:
        """The points the rules drop at the start and the end of ``lrs``; None means fastai's
        ``lr_find`` default, ``num_iter // 10`` at the start (of the *planned* steps) and 5 at
        the end.

        After a NaN loss, the end's count first eats the steps not taken: fastai does not stop
        on a NaN (``nan > 4 * best`` is False), so its recorder holds NaN smoothed losses to the
        end of the sweep, its ``[:-5]`` drops those, and its cut at the first NaN keeps every
        finite point before it. This test stops at the NaN; dropping
        ``max(0, skip_end - steps_not_taken)`` of its points keeps the same ones. (An infinite
        loss stops fastai too, at 4x: nothing changes.)
        """
        default_start, default_end = fastai_skips(self.num_iter)
        skip_start = check_int(
            "skip_start", default_start if skip_start is None else skip_start, minimum=0
        )
        skip_end = check_int("skip_end", default_end if skip_end is None else skip_end, minimum=0)
        if self.steps and np.isnan(self.losses[-1]):
            skip_end = max(0, skip_end - self.steps_not_taken)
        return skip_start, skip_end

    def suggestion(
        self,
        method: str = METHOD,
        beta: float | None = None,
        *,
        skip_start: int | None = None,
        skip_end: int | None = None,
        warn: bool = True,
    ) -> float:
        """The learning rate ``method`` suggests on the debiased smoothed curve, trimmed as
        fastai's ``lr_find`` trims it unless ``skip_start`` / ``skip_end`` say otherwise
        (``lrwidgets.core.suggest`` has the rules). With the defaults, "valley", "steep",
        "minimum" and "slide" give fastai's answer on this curve (also after a NaN loss: see
        ``skips``); "steepest" is torch-lr-finder's rule on *this* curve, and
        ``torch_lr_finder_suggestion`` its number on its own curve.

        Warns ``UnreliableCurveWarning`` when the curve never falls clearly (``unreliable``).
        Raises ValueError if the curve is too short (see ``suggestions`` to skip those).
        """
        skip_start, skip_end = self.skips(skip_start, skip_end)
        curve = self.smoothed(beta)
        lr = suggest_lr(self.lrs, curve, method, skip_start=skip_start, skip_end=skip_end)
        if warn:
            self._warn_if_unreliable(curve, skip_start, skip_end)
        return lr

    def suggestions(
        self,
        beta: float | None = None,
        *,
        skip_start: int | None = None,
        skip_end: int | None = None,
        warn: bool = True,
    ) -> dict[str, float]:
        """Every method's suggestion (as ``suggestion``); a method that cannot answer (too few
        points) is left out. Warns once when the curve is ``unreliable``."""
        skip_start, skip_end = self.skips(skip_start, skip_end)
        curve = self.smoothed(beta)
        found = {}
        for method in SUGGESTION_METHODS:
            try:
                found[method] = suggest_lr(
                    self.lrs, curve, method, skip_start=skip_start, skip_end=skip_end
                )
            except ValueError:
                continue
        if warn and found:
            self._warn_if_unreliable(curve, skip_start, skip_end)
        return found

    def torch_lr_finder_suggestion(
        self,
        smooth_f: float = 0.05,
        diverge_th: float = 5.0,
        *,
        skip_start: int = 10,
        skip_end: int = 5,
    ) -> float:
        """torch-lr-finder's number for this test: its pipeline replayed on the raw losses.

        ``steepest`` is torch-lr-finder's *rule*; its *pipeline* differs from fastai's:
        ``LRFinder.range_test`` smooths from the first loss with ``smooth_f=0.05``
        (``ewma_from_first``, beta 0.95) and stops at ``diverge_th=5`` times the best
        (``lrwidgets.core.torch_lr_finder_curve``), then ``LRFinder.plot(suggest_lr=True)``
        drops 10 points at the start and 5 at the end and takes ``steepest``. So with the same
        model, optimizer, batches and sweep (``endpoint=True``)::

            range_test(model, loader, loss_fn, optimizer, start_lr=..., end_lr=...,
                       num_iter=..., diverge_th=5).torch_lr_finder_suggestion()

        is the number ``LRFinder.plot(suggest_lr=True)`` prints. Raises ValueError when this
        test ended before torch-lr-finder would have (its own stop, or a NaN loss, came first
        and the sweep was not over): run it again with a larger ``diverge_th``.
        """
        curve, stopped = torch_lr_finder_curve(self.losses, smooth_f, diverge_th)
        if not stopped and self.steps < self.num_iter:
            raise ValueError(
                f"this test ended at step {self.steps} of {self.num_iter} ({self.stop_reason}), "
                "before torch-lr-finder would have stopped: run it with a larger diverge_th"
            )
        lrs = self.lrs[: len(curve)]
        return suggest_lr(lrs, curve, "steepest", skip_start=skip_start, skip_end=skip_end)

    def unreliable(
        self, beta: float | None = None, skip_start: int | None = None, skip_end: int | None = None
    ) -> str | None:
        """Why the suggestions cannot be trusted (the smoothed loss never falls clearly below
        its start; see ``lrwidgets.core.reliability``), or None; also None when the curve is
        too short to suggest anything."""
        skip_start, skip_end = self.skips(skip_start, skip_end)
        try:
            return unreliable_reason(
                self.lrs, self.losses, self.smoothed(beta), skip_start, skip_end
            )
        except ValueError:
            return None

    def caveats(
        self, beta: float | None = None, skip_start: int | None = None, skip_end: int | None = None
    ) -> dict[str, str]:
        """{method: why its suggestion is not firm}: today the "minimum" below ``start_lr`` or
        at the end of a sweep that never turned up (``lrwidgets.core.minimum_caveat``)."""
        skip_start, skip_end = self.skips(skip_start, skip_end)
        try:
            why = minimum_caveat(
                self.lrs,
                self.losses,
                self.smoothed(beta),
                float(self.planned_lrs[0]),
                skip_start,
                skip_end,
            )
        except ValueError:
            return {}
        return {} if why is None else {"minimum": why}

    def _warn_if_unreliable(self, curve: np.ndarray, skip_start: int, skip_end: int) -> None:
        why = unreliable_reason(self.lrs, self.losses, curve, skip_start, skip_end)
        if why is not None:
            warn(why, UnreliableCurveWarning)

    def apply(
        self, optimizer: torch.optim.Optimizer, method: str = METHOD, beta: float | None = None
    ) -> float:
        """Set the optimizer's lr from the suggestion, as Lightning's ``update_attr=True`` does;
        return the lr set on group 0.

        Group i gets ``suggestion * group_ratios[i]`` (the ratios the test swept with); an
        optimizer with one group, or a test run with one, gets the suggestion on every group.

        Caveat (notebook 05): the suggestion is a biased estimate of the best learning rate
        for a full training run; no rule lands on it for every schedule, and the best rate
        moves with the schedule and the epochs. It is a place to start: compare training at
        a few rates around it (x3, /3) before you trust it.
        """
        lr = self.suggestion(method, beta=beta)
        groups = optimizer.param_groups
        ratios = self.group_ratios
        if len(ratios) == 1:
            ratios = (1.0,) * len(groups)
        if len(ratios) != len(groups):
            raise ValueError(
                f"optimizer has {len(groups)} param groups but the range test swept "
                f"{len(ratios)}; apply the result to the optimizer it was measured with"
            )
        for group, ratio in zip(groups, ratios, strict=True):
            group["lr"] = lr * ratio
        return lr

    def schedule(
        self,
        total_steps: int,
        policy: str = "one_cycle",
        method: str = METHOD,
        beta: float | None = None,
        **kwargs,
    ) -> Schedule:
        """A schedule built around the suggestion: ``one_cycle(total_steps, max_lr=lr,
        **kwargs)``, ``fastai_one_cycle(total_steps, lr_max=lr, **kwargs)`` or ``constant``.

        The same caveat as ``apply``: the suggestion is a biased estimate (notebook 05).
        """
        make = SCHEDULE_POLICIES[check_choice("policy", policy, SCHEDULE_POLICIES)]
        return make(total_steps, self.suggestion(method, beta=beta), **kwargs)

    def plot(self, ax: Axes | None = None, **kwargs) -> Axes:
        """Draw the curve: see ``lrwidgets.plots.plot_range_test`` for the keyword arguments."""
        from ..plots import plot_range_test

        return plot_range_test(self, ax, **kwargs)
