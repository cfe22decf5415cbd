"""Notebook 04's findings: constant lr or one-cycle, each at its own best lr (digits-mlp).

Both schedules train at ``LRS`` (four per decade) for 3 and for 10 epochs on the same seeds
(``compare_schedules``); each is judged at its own best lr (the lowest validation loss averaged
over the seeds). ``comparisons(seeds)`` is cached: the notebook draws the very training its
findings are measured on.

One-cycle's lead, seed by seed: val_loss(constant at its best) - val_loss(one-cycle at its best),
positive when one-cycle ends lower. Its best peak against the best constant lr, seed by seed:
log10(one-cycle's best lr / constant's best lr), each seed's own best, in decades. How exact
must the lr be: what one grid step above the best costs minus one step below
(``TrainingGrid.step_costs``), seed by seed.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..problems import get_problem
from ..studies import Comparison, best_lr_per_seed, compare_schedules
from .finding import Finding, Test, above, within

SEEDS = tuple(range(16))
LRS = tuple(np.logspace(-2, 0, 9).tolist())  # 0.01 .. 1, four per decade
BUDGETS = (3, 10)  # epochs
TIE = 0.02  # val loss: a lead inside +-TIE is a tie
SMALL = 0.04  # val loss: a lead inside +-SMALL is small


@lru_cache(maxsize=4)
def comparisons(seeds: tuple[int, ...]) -> dict[int, Comparison]:
    """Constant against one-cycle on digits-mlp, one ``Comparison`` per number of epochs."""
    problem = get_problem("digits-mlp")
    return {
        epochs: compare_schedules(problem, LRS, epochs=epochs, seeds=seeds, progress=False)
        for epochs in BUDGETS
    }


def one_cycle_lead(seeds: tuple[int, ...], epochs: int) -> np.ndarray:
    """Per seed: constant's val loss minus one-cycle's, each at its own best lr."""
    comparison = comparisons(seeds)[epochs]
    return comparison.at_best("constant") - comparison.at_best("one_cycle")


def peak_above_constant(seeds: tuple[int, ...]) -> np.ndarray:
    """Per seed: log10(one-cycle's best peak / the best constant lr), mean over the budgets."""
    ratios = [
        np.log10(best_lr_per_seed(c.grids["one_cycle"]) / best_lr_per_seed(c.grids["constant"]))
        for c in comparisons(seeds).values()
    ]
    return np.mean(ratios, axis=0)


def step_above_minus_below(seeds: tuple[int, ...], epochs: int, policy: str) -> np.ndarray:
    """Per seed: what one grid step above the best costs minus one step below (val loss); a
    diverged run a step above counts as one that learned nothing (capped at the start's loss)."""
    grid = comparisons(seeds)[epochs].grids[policy]
    below, above = grid.step_costs()
    return np.minimum(above, grid.initial_loss) - below


FINDINGS = [
    Finding(
        id="nb04-schedules-tie-after-10-epochs",
        notebook="04",
        claim=(
            "After 10 epochs, each at its own best lr, constant and one-cycle tie: one-cycle's "
            "lead is {value:+.3f} val loss (90% interval {low:+.3f} to {high:+.3f}), inside "
            f"+-{TIE:g}."
        ),
        measure=lambda seeds: one_cycle_lead(seeds, 10),
        test=within(-TIE, TIE),
        unit="val loss",
    ),
    Finding(
        id="nb04-small-lead-after-3-epochs",
        notebook="04",
        claim=(
            "After 3 epochs one-cycle's lead is {value:+.3f} val loss (90% interval {low:+.3f} "
            f"to {{high:+.3f}}): small, inside +-{SMALL:g}, and {{n}} seeds may not tell it "
            "from zero."
        ),
        measure=lambda seeds: one_cycle_lead(seeds, 3),
        test=within(-SMALL, SMALL),
        unit="val loss",
    ),
    Finding(
        id="nb04-one-cycle-peaks-higher",
        notebook="04",
        claim=(
            "One-cycle's best peak lies above the best constant lr, by less than half a decade: "
            "{value:.2f} decades per seed, averaged over 3 and 10 epochs (90% interval "
            "{low:.2f} to {high:.2f}; 0.3 decades is a factor of 2, 0.5 a factor of 3.2)."
        ),
        measure=peak_above_constant,
        test=Test("interval above 0 and below 0.5", lambda low, high: low > 0 and high < 0.5),
        unit="decades",
    ),
    Finding(
        id="nb04-step-above-costs-constant-more",
        notebook="04",
        claim=(
            "After 10 epochs at a constant lr, one grid step above the best costs more than one "
            "step below: by {value:+.3f} val loss per seed (90% interval {low:+.3f} to "
            "{high:+.3f})."
        ),
        measure=lambda seeds: step_above_minus_below(seeds, 10, "constant"),
        test=above(0),
        unit="val loss",
    ),
]
