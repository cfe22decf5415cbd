"""Notebook 07's findings: why pick a learning rate below the minimum of the curve?

On the noisy quadratic bowl, whose stability limits are known, every seed gets a range test at
the batch size it trains with (32) and trainings at a grid of constant learning rates: with
minibatches, with the full batch (the exact gradient), and with minibatches on targets without
label noise. Per seed (``best_lr_per_seed``) the best lr of each, the curve minimum, and a
whole run at that seed's curve minimum are compared. Everything is cached per seed set, so the
notebook draws what its findings measure.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..problems import get_problem
from ..studies import TrainingGrid, best_lr_per_seed, curve_minimum_lr, train_at_lrs
from ..studies.gap import seeded_range_tests
from ..training.result import RangeTestResult
from .finding import Finding, above, within

SEEDS = range(16)
LRS = np.logspace(-2, 0.5, 21)  # 0.01 .. 3.2, eight per decade
EPOCHS = 5  # 80 minibatch steps; the full batch takes 80 steps too
LONG_EPOCHS = 15  # 240 steps: does a run at the curve minimum keep growing?
RANGE_TEST = dict(start_lr=1e-4, end_lr=100.0, num_iter=100)
TRAININGS = {  # name: (problem arguments, epochs, policy)
    "minibatch, constant": ({}, EPOCHS, "constant"),
    "minibatch, one-cycle": ({}, EPOCHS, "one_cycle"),
    "full batch, constant": ({"batch_size": 512}, 16 * EPOCHS, "constant"),
    "minibatch, no label noise": ({"noise": 0.0}, EPOCHS, "constant"),
}


@lru_cache(maxsize=4)
def range_tests(seeds: tuple[int, ...], batch_size: int = 32) -> list[RangeTestResult]:
    """One range test per seed on the bowl, at the batch size it trains with (32) unless
    ``batch_size`` says otherwise (``range_test``'s own default is 64)."""
    bowl = get_problem("quadratic", batch_size=batch_size)
    return seeded_range_tests(bowl, seeds, **RANGE_TEST)


def curve_minima(seeds: tuple[int, ...], batch_size: int = 32) -> np.ndarray:
    """Each seed's curve minimum, the curve trimmed as fastai trims it: the bowl starts near
    its floor, so the first points (single noisy batches) could otherwise be the lowest."""
    results = range_tests(seeds, batch_size)
    return np.array([curve_minimum_lr(r, skip_start=None, skip_end=None) for r in results])


@lru_cache(maxsize=4)
def trainings(seeds: tuple[int, ...]) -> dict[str, TrainingGrid]:
    """The four trainings of ``TRAININGS`` at every lr of ``LRS`` and every seed."""
    return {
        name: train_at_lrs(get_problem("quadratic", **args), LRS, epochs=e, seeds=seeds, policy=p)
        for name, (args, e, p) in TRAININGS.items()
    }


def best_lrs(seeds: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Each training's best lr per seed, by the final training loss."""
    return {name: best_lr_per_seed(g, "train_loss") for name, g in trainings(seeds).items()}


@dataclass
class AtCurveMinimum:
    """Whole minibatch runs (constant lr) at each seed's own curve minimum, one value per seed:
    the lr, the training loss before, after ``EPOCHS`` and after ``LONG_EPOCHS``."""

    lr: np.ndarray
    initial: np.ndarray
    short: np.ndarray
    long: np.ndarray

    @property
    def blew_up(self) -> np.ndarray:
        """The loss keeps growing with more steps and ends above its start (not finite: too)."""
        with np.errstate(invalid="ignore"):
            grows = (self.long > self.short) & (self.long > self.initial)
        return grows | ~np.isfinite(self.long)


@lru_cache(maxsize=4)
def at_curve_minimum(seeds: tuple[int, ...]) -> AtCurveMinimum:
    """Train every seed at its own curve minimum (the diagonal of a seeds x seeds grid)."""
    lrs = curve_minima(seeds)
    bowl, own = get_problem("quadratic"), np.arange(len(seeds))
    short, long = (train_at_lrs(bowl, lrs, epochs=e, seeds=seeds) for e in (EPOCHS, LONG_EPOCHS))
    loss = [g.train_loss[own, own] for g in (short, long)]
    return AtCurveMinimum(lrs, short.initial_loss, *loss)


def best_below_curve_minimum(seeds: tuple[int, ...]) -> np.ndarray:
    """log10(curve minimum / best constant minibatch lr), per seed."""
    return np.log10(curve_minima(seeds) / best_lrs(seeds)["minibatch, constant"])


def excess_loss(loss: np.ndarray) -> np.ndarray:
    """The final training loss above the lowest reachable (the label noise)."""
    return loss - get_problem("quadratic").extras["min_loss"]


def ten_times_worse(seeds: tuple[int, ...]) -> np.ndarray:
    """1.0 where a whole run at the curve minimum ends with at least 10x the excess loss of the
    same seed at its best constant lr (a run that blew up to inf or NaN counts), else 0.0."""
    run = at_curve_minimum(seeds)
    best = excess_loss(trainings(seeds)["minibatch, constant"].score("train_loss").min(axis=0))
    with np.errstate(invalid="ignore"):
        worse = excess_loss(run.short) >= 10 * best
    return (worse | ~np.isfinite(run.short)).astype(float)


def label_noise_share(seeds: tuple[int, ...]) -> np.ndarray:
    """Per seed, the share of the gap log10(full batch best / minibatch best) that removing the
    label noise closes: log10(no-noise best / minibatch best) / log10(full batch / minibatch)."""
    best = best_lrs(seeds)
    noisy = best["minibatch, constant"]
    return np.log10(best["minibatch, no label noise"] / noisy) / np.log10(
        best["full batch, constant"] / noisy
    )


def sampling_alone(seeds: tuple[int, ...]) -> np.ndarray:
    """log10(full-batch best / best minibatch lr without label noise), per seed."""
    best = best_lrs(seeds)
    return np.log10(best["full batch, constant"] / best["minibatch, no label noise"])


def one_cycle_peak_above(seeds: tuple[int, ...]) -> np.ndarray:
    """log10(one-cycle's best peak / the best constant lr), minibatches, per seed."""
    best = best_lrs(seeds)
    return np.log10(best["minibatch, one-cycle"] / best["minibatch, constant"])


FINDINGS = [
    Finding(
        id="nb07-best-below-curve-minimum",
        notebook="07",
        claim=(
            "Tested at the batch size it trains with (32), the range test's curve minimum lies "
            "{value:.1f} decades ({low:.1f} to {high:.1f}) above the best constant lr of a "
            "whole minibatch run, more than a factor 3."
        ),
        measure=best_below_curve_minimum,
        test=above(0.5),
        unit="decades",
    ),
    Finding(
        id="nb07-curve-minimum-run-ten-times-worse",
        notebook="07",
        claim=(
            "A whole run at the seed's own curve minimum ends with at least 10x the excess "
            "loss of a run at the best lr in {value:.0%} of seeds ({low:.0%} to {high:.0%})."
        ),
        measure=ten_times_worse,
        test=above(0.75),
        unit="share of seeds",
    ),
    Finding(
        id="nb07-curve-minimum-sometimes-blows-up",
        notebook="07",
        claim=(
            "Such a run blows up (its loss keeps growing with more steps, above its start) in "
            "{value:.0%} of seeds ({low:.0%} to {high:.0%}); where it does not, it rattles in "
            "a bounded noise ball, still far above the loss at the best lr."
        ),
        measure=lambda seeds: at_curve_minimum(seeds).blew_up.astype(float),
        test=above(0.1),
        unit="share of seeds",
    ),
    Finding(
        id="nb07-label-noise-share-of-gap",
        notebook="07",
        claim=(
            "The best minibatch lr lies far below the best full-batch lr; removing the label "
            "noise closes {value:.0%} ({low:.0%} to {high:.0%}) of that gap in decades, so "
            "label noise and minibatch sampling both lower it."
        ),
        measure=label_noise_share,
        test=within(0.15, 0.85),
        unit="share of the gap",
    ),
    Finding(
        id="nb07-sampling-alone-lowers-best-lr",
        notebook="07",
        claim=(
            "Without label noise the best minibatch lr is still {value:.2f} decades "
            "({low:.2f} to {high:.2f}) below the best full-batch lr: sampling alone lowers it."
        ),
        measure=sampling_alone,
        test=above(0.3),
        unit="decades",
    ),
    Finding(
        id="nb07-one-cycle-peak-above-constant",
        notebook="07",
        claim=(
            "One-cycle's best peak lies {value:.2f} decades ({low:.2f} to {high:.2f}) above the "
            "best constant lr: its annealing lets a higher peak train well."
        ),
        measure=one_cycle_peak_above,
        test=above(0),
        unit="decades",
    ),
]
