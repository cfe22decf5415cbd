"""Notebook 05's findings: is the range test an unbiased estimate of the best lr? (digits-mlp)

One range test per seed, judged against training from scratch at ``LRS`` (three per decade:
one grid step is 1/3 decade) for the budgets of ``PLANS``: one-cycle for 3, 10 and 30 epochs,
constant for 3 and 10 (``budget_study``; both schedules share the range tests).
``budgets(seeds)`` is cached: the notebook prints and draws the studies its findings measure.

Per seed: the best lr is that seed's own (``best_lr_per_seed``); a move of the best lr with the
budget is log10(best at the longest / best at the shortest), in decades; valley's gap is
log10(best / valley's suggestion), in decades below the best; a step's cost is the val loss one
grid step off the best minus at the best (``TrainingGrid.step_costs``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..problems import get_problem
from ..studies import BudgetStudy, best_lr_per_seed, budget_study
from .finding import Finding, above, within

SEEDS = tuple(range(16))
LRS = tuple(np.logspace(-3.5, 0.5, 13).tolist())  # 0.0003 .. 3, three per decade
PLANS = {"one_cycle": (3, 10, 30), "constant": (3, 10)}  # schedule: budgets in epochs
STEP = 1 / 3  # decades: one grid step
LONGEST = (("constant", 10), ("one_cycle", 30))


@lru_cache(maxsize=4)
def budgets(seeds: tuple[int, ...]) -> dict[str, BudgetStudy]:
    """The budget study of each schedule in ``PLANS``, against the same range tests."""
    problem = get_problem("digits-mlp")
    studies: dict[str, BudgetStudy] = {}
    tests = None
    for policy, epochs in PLANS.items():
        studies[policy] = budget_study(
            problem, epochs, lrs=LRS, seeds=seeds, policy=policy, progress=False,
            range_tests=tests,
        )  # fmt: skip
        tests = studies[policy].range_tests
    return studies


def trainings(seeds: tuple[int, ...]):
    """Every (schedule, epochs, GapReport) of the studies: the five trainings."""
    return [
        (policy, epochs, report)
        for policy, study in budgets(seeds).items()
        for epochs, report in study.reports.items()
    ]


def best_moves(seeds: tuple[int, ...], policy: str) -> np.ndarray:
    """Per seed: log10(best lr at the longest budget / at the shortest), for ``policy``."""
    reports = budgets(seeds)[policy].reports
    short, long = min(reports), max(reports)
    return np.log10(best_lr_per_seed(reports[long].grid) / best_lr_per_seed(reports[short].grid))


def valley_below_best(seeds: tuple[int, ...]) -> np.ndarray:
    """Per seed: how many decades valley's suggestion lies below the best lr, mean over the
    five trainings."""
    return np.mean([-report.gaps["valley"].gap for *_, report in trainings(seeds)], axis=0)


def step_above_minus_below(seeds: tuple[int, ...], chosen) -> np.ndarray:
    """Per seed: cost of one grid step above the best minus one below, mean over the trainings
    ``chosen`` ((schedule, epochs) pairs). A run a step off that diverged counts as one that
    learned nothing: its cost is capped at the loss before training."""
    values = []
    for policy, epochs in chosen:
        grid = budgets(seeds)[policy].reports[epochs].grid
        below_cost, above_cost = grid.step_costs()
        values.append(np.minimum(above_cost, grid.initial_loss) - below_cost)
    return np.mean(values, axis=0)


def valley_minus_minimum_cost(seeds: tuple[int, ...]) -> np.ndarray:
    """Per seed: val loss lost at valley's suggestion minus at minimum's, mean over the five
    trainings."""
    costs = [report.costs() for *_, report in trainings(seeds)]
    return np.mean([c["valley"] - c["minimum"] for c in costs], axis=0)


FINDINGS = [
    Finding(
        id="nb05-valley-far-below-the-best",
        notebook="05",
        claim=(
            "Valley, fastai's default rule, lands {value:.2f} decades below each seed's best lr, "
            "averaged over the five trainings (90% interval {low:.2f} to {high:.2f}): more than "
            "10x and less than 100x too low."
        ),
        measure=valley_below_best,
        test=within(1, 2),
        unit="decades",
    ),
    Finding(
        id="nb05-minimum-cheaper-than-valley",
        notebook="05",
        claim=(
            "Training at valley's suggestion loses {value:.2f} more val loss than at minimum's, "
            "per seed, averaged over the five trainings (90% interval {low:.2f} to {high:.2f})."
        ),
        measure=valley_minus_minimum_cost,
        test=above(0),
        unit="val loss",
    ),
    Finding(
        id="nb05-constant-best-within-a-step",
        notebook="05",
        claim=(
            "With a constant lr the best lr stays within one grid step from 3 to 10 epochs: "
            "it moves {value:+.2f} decades per seed (90% interval {low:+.2f} to {high:+.2f}; "
            "one step is 0.33)."
        ),
        measure=lambda seeds: best_moves(seeds, "constant"),
        test=within(-STEP, STEP),
        unit="decades",
    ),
    Finding(
        id="nb05-one-cycle-best-within-a-step",
        notebook="05",
        claim=(
            "With one-cycle the best peak stays within one grid step from 3 to 30 epochs: "
            "it moves {value:+.2f} decades per seed (90% interval {low:+.2f} to {high:+.2f})."
        ),
        measure=lambda seeds: best_moves(seeds, "one_cycle"),
        test=within(-STEP, STEP),
        unit="decades",
    ),
    Finding(
        id="nb05-step-above-costs-more-when-long",
        notebook="05",
        claim=(
            "In the longest trainings (constant 10 epochs, one-cycle 30) one grid step above "
            "the best lr costs more than one step below: by {value:+.3f} val loss per seed "
            "(90% interval {low:+.3f} to {high:+.3f})."
        ),
        measure=lambda seeds: step_above_minus_below(seeds, LONGEST),
        test=above(0),
        unit="val loss",
    ),
]
