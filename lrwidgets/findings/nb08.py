"""Notebook 08's findings: are the results batch-size dependent? Optimizer dependent?

On the digits MLP, for each setting (batch 16 or 256; SGD without momentum or Adam), every seed
gets a range test and a training at a grid of constant learning rates, with the same batch size
and optimizer (``batch_size_study``, ``optimizer_study``). Seed by seed, how far do the best lr
and the curve minimum move when the setting changes (``SettingStudy.moves``)? The studies are
cached per seed set, so the notebook draws what its findings measure.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..problems import get_problem
from ..studies import OPTIMIZER_CHOICES, SettingStudy, batch_size_study, optimizer_study
from .finding import Finding, above, below

SEEDS = range(16)
EPOCHS = 5
BATCH_SIZES = (16, 256)
BATCH_LRS = np.logspace(-2, 1 / 3, 8)  # 0.01 .. 2.2, three per decade
OPTIMIZERS = ("SGD, momentum 0", "Adam")
OPTIMIZER_LRS = np.logspace(-2.5, 0.5, 7)  # 0.0032 .. 3.2, two per decade


@lru_cache(maxsize=4)
def by_batch(seeds: tuple[int, ...]) -> SettingStudy:
    """Range tests and trainings (SGD, momentum 0.9) at batch 16 and 256, ``EPOCHS`` each."""
    problem = get_problem("digits-mlp")
    return batch_size_study(
        problem, BATCH_SIZES, lrs=BATCH_LRS, epochs=EPOCHS, seeds=seeds, progress=False
    )


@lru_cache(maxsize=4)
def by_optimizer(seeds: tuple[int, ...]) -> SettingStudy:
    """Range tests and trainings with SGD without momentum and with Adam, batch 64."""
    optimizers = {name: OPTIMIZER_CHOICES[name] for name in OPTIMIZERS}
    problem = get_problem("digits-mlp")
    return optimizer_study(
        problem, optimizers, lrs=OPTIMIZER_LRS, epochs=EPOCHS, seeds=seeds, progress=False
    )


def batch_moves(seeds: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """From batch 16 to 256, per seed: (best lr, curve minimum) moves in decades."""
    small, large = (f"batch {b}" for b in BATCH_SIZES)
    return by_batch(seeds).moves(small, large)


def optimizer_moves(seeds: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """From SGD without momentum to Adam, per seed: (best lr, curve minimum) moves in decades."""
    return by_optimizer(seeds).moves(*OPTIMIZERS)


def batch_under_reported(seeds: tuple[int, ...]) -> np.ndarray:
    best, curve = batch_moves(seeds)
    return best - curve


def optimizer_under_reported(seeds: tuple[int, ...]) -> np.ndarray:
    best, curve = optimizer_moves(seeds)
    return curve - best  # > 0: the best lr moves further down than the curve minimum


FINDINGS = [
    Finding(
        id="nb08-best-lr-moves-with-batch",
        notebook="08",
        claim=(
            "From batch 16 to batch 256 (the same 5 epochs) the best lr moves up {value:.2f} "
            "decades ({low:.2f} to {high:.2f}), seed by seed."
        ),
        measure=lambda seeds: batch_moves(seeds)[0],
        test=above(0.3),
        unit="decades",
    ),
    Finding(
        id="nb08-curve-minimum-moves-with-batch",
        notebook="08",
        claim=(
            "The range test's curve minimum moves up too, by {value:.2f} decades "
            "({low:.2f} to {high:.2f}): the direction is right."
        ),
        measure=lambda seeds: batch_moves(seeds)[1],
        test=above(0),
        unit="decades",
    ),
    Finding(
        id="nb08-curve-under-reports-batch",
        notebook="08",
        claim=(
            "The size is not: the best lr moves {value:.2f} decades ({low:.2f} to {high:.2f}) "
            "further than the curve minimum; the curve under-reports how far the best lr moves."
        ),
        measure=batch_under_reported,
        test=above(0),
        unit="decades",
    ),
    Finding(
        id="nb08-best-lr-moves-with-optimizer",
        notebook="08",
        claim=(
            "From SGD without momentum to Adam (batch 64, 5 epochs) the best lr moves "
            "{value:+.2f} decades ({low:+.2f} to {high:+.2f}), seed by seed: more than a "
            "factor 3 down."
        ),
        measure=lambda seeds: optimizer_moves(seeds)[0],
        test=below(-0.5),
        unit="decades",
    ),
    Finding(
        id="nb08-curve-under-reports-optimizer",
        notebook="08",
        claim=(
            "From SGD without momentum to Adam the best lr moves {value:.2f} decades "
            "({low:.2f} to {high:.2f}) further down than the curve minimum: across optimizers "
            "too, the curve under-reports how far the best lr moves."
        ),
        measure=optimizer_under_reported,
        test=above(0),
        unit="decades",
    ),
]
