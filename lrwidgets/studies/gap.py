"""Is the range test an unbiased estimate of the best learning rate?  No: the gap, in decades.

``range_test_gap`` runs one range test per seed, trains at a grid of learning rates
(``train_at_lrs``) and reports, per suggestion rule, log10(suggested / best) and what training
at the suggestion costs. ``budget_study`` repeats the comparison for several training lengths.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from tqdm.auto import tqdm

from ..core import SUGGESTION_METHODS
from ..core.checks import check_choice, check_int
from ..problems import Problem
from ..training.data import steps_per_epoch
from ..training.range_test import repeat_range_test
from ..training.result import RangeTestResult
from .compare import Comparison
from .curves import curve_minimum_lr, geometric_mean, suggestions_by_run
from .grid import (
    DEFAULT_LRS,
    METRICS,
    TRAIN_POLICIES,
    OptimizerFactory,
    TrainingGrid,
    best_lr_per_seed,
    own_optimizer,
    train_at_lrs,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes


@dataclass
class MethodGap:
    """One suggestion rule against the lr that trained best, seed by seed.

    gap = log10(suggested / best) in decades: +1 means the rule suggests 10x too much.
    """

    suggested: np.ndarray
    best: np.ndarray
    gap: np.ndarray

    @property
    def mean_gap(self) -> float:
        return float(np.nanmean(self.gap))

    @property
    def suggested_gmean(self) -> float:
        return geometric_mean(self.suggested)

    @property
    def best_gmean(self) -> float:
        return geometric_mean(self.best)


@dataclass
class GapReport:
    """What ``range_test_gap`` measured: the range tests, the training grid, the gaps.

    ``gaps`` has one entry per suggestion rule plus "curve minimum" (the smoothed curve's lowest
    point, see ``curve_minimum_lr``). ``str(report)`` is a table.
    """

    seeds: tuple[int, ...]
    metric: str
    range_tests: list[RangeTestResult] = field(repr=False)
    grid: TrainingGrid = field(repr=False)
    gaps: dict[str, MethodGap]

    def costs(self) -> dict[str, np.ndarray]:
        """Per rule, what training at its suggestion costs, seed by seed: the score at the grid
        lr nearest the suggestion minus the score at the grid's best lr (``grid.best()``), both
        by ``metric`` for that seed. NaN where the suggestion lies outside the grid."""
        best = self.grid.score(self.metric)[self.grid.lrs == self.grid.best(self.metric)][0]
        seeds = range(len(self.seeds))
        return {
            name: np.array(
                [self.grid.score_at(g.suggested[j], self.metric)[j] - best[j] for j in seeds]
            )
            for name, g in self.gaps.items()
        }

    def __str__(self) -> str:
        lines = [
            f"{'rule':14s} {'suggested':>10s} {'seeds best':>10s} {'gap (decades)':>14s} "
            f"{'best/sugg.':>10s} {'cost':>8s}",
        ]
        costs = self.costs()
        for name, g in self.gaps.items():
            lines.append(
                f"{name:14s} {g.suggested_gmean:10.3g} {g.best_gmean:10.3g} {g.mean_gap:+14.2f} "
                f"{10**-g.mean_gap:10.2g} {np.mean(costs[name]):+8.3f}"
            )
        lines.append(
            f"(geometric means over seeds {list(self.seeds)}; seeds best: each seed's own best lr "
            f"by {self.metric} after {self.grid.epochs} epochs with a {self.grid.policy} "
            "schedule (the best lr of the seeds' mean loss can differ); cost: the "
            f"{self.metric} at the suggestion minus at that best lr, mean over seeds; +inf when "
            "a run at a suggestion diverged, nan when a suggestion lies outside the grid)"
        )
        return "\n".join(lines)


def range_test_gap(
    problem: Problem,
    *,
    seeds: Sequence[int] = (0, 1, 2),
    lrs: Sequence[float] = DEFAULT_LRS,
    epochs: int = 3,
    policy: str = "one_cycle",
    metric: str | None = None,
    beta: float | None = None,
    optimizer_factory: OptimizerFactory | None = None,
    device: str = "auto",
    **range_test_kwargs,
) -> GapReport:
    """How far is each suggestion from the lr that actually trains best? (In decades.)

    For every seed: a range test on ``problem.make_model(seed)`` (``repeat_range_test`` with
    vary="both"), its suggestions, and training from the same initial weights at every lr in
    ``lrs`` (``train_at_lrs``). gap = log10(suggested / best), averaged over seeds.
    The grid sets the resolution: three lrs per decade by default, so gaps are in thirds.
    """
    if metric is not None:
        check_choice("metric", metric, METRICS)
    seeds = tuple(seeds)
    grid = train_at_lrs(
        problem,
        lrs,
        epochs=epochs,
        seeds=seeds,
        policy=policy,
        optimizer_factory=optimizer_factory,
        device=device,
    )
    results = seeded_range_tests(problem, seeds, optimizer_factory, device, **range_test_kwargs)
    return gap_report(results, grid, metric, beta)


def seeded_range_tests(
    problem: Problem,
    seeds: Sequence[int],
    optimizer_factory: OptimizerFactory | None = None,
    device: str = "auto",
    **range_test_kwargs,
) -> list[RangeTestResult]:
    """One range test per seed on ``problem`` (initial weights and batch order both follow the
    seed, as in ``train_at_lrs``), with the problem's loss, batch size and optimizer (its own
    where it has one, unless ``optimizer_factory`` is given: ``own_optimizer``)."""
    return repeat_range_test(
        problem.make_model,
        problem.train_data,
        seeds=tuple(seeds),
        vary="both",
        optimizer_factory=own_optimizer(problem, optimizer_factory),
        loss_fn=problem.loss_fn,
        batch_size=problem.batch_size,
        device=device,
        progress=False,
        **range_test_kwargs,
    )


def gap_report(
    results: Sequence[RangeTestResult],
    grid: TrainingGrid,
    metric: str | None = None,
    beta: float | None = None,
) -> GapReport:
    """The gaps between the suggestions of ``results`` (one range test per seed of ``grid``)
    and each seed's best lr on ``grid``."""
    if len(results) != len(grid.seeds):
        raise ValueError(
            f"results must hold one range test per seed of the grid ({len(grid.seeds)}), "
            f"got {len(results)}"
        )
    metric = check_choice("metric", metric or grid.default_metric, METRICS)
    best = best_lr_per_seed(grid, metric)
    suggested = {name: suggestions_by_run(results, name, beta) for name in SUGGESTION_METHODS}
    suggested["curve minimum"] = np.array([curve_minimum_lr(r, beta) for r in results])
    gaps = {
        name: MethodGap(values, best, np.log10(values / best)) for name, values in suggested.items()
    }
    return GapReport(
        seeds=grid.seeds, metric=metric, range_tests=list(results), grid=grid, gaps=gaps
    )


# -- the training budget -------------------------------------------------------------------------
@dataclass
class BudgetStudy:
    """The same range tests against the best lr of trainings of several lengths.

    ``reports[epochs]`` is the ``GapReport`` for that budget (the range tests are shared);
    ``steps[epochs]`` its number of optimizer steps, ``range_test_steps`` those of one range test.
    """

    reports: dict[int, GapReport]
    steps: dict[int, int]
    range_test_steps: int

    @property
    def range_tests(self) -> list[RangeTestResult]:
        return next(iter(self.reports.values())).range_tests

    def comparison(self, margin: float = 0.1) -> Comparison:
        """The budgets side by side, each at its own best lr."""
        grids = {f"{epochs} epochs": r.grid for epochs, r in self.reports.items()}
        return Comparison(grids, next(iter(self.reports.values())).metric, margin)

    def __str__(self) -> str:
        parts = [
            f"one range test: {self.range_test_steps} steps; training: "
            + ", ".join(f"{e} epochs = {n} steps" for e, n in self.steps.items())
        ]
        parts += [f"\n-- {epochs} epochs --\n{report}" for epochs, report in self.reports.items()]
        return "\n".join(parts)

    def plot(self, ax: Axes | None = None, **kwargs) -> Axes:
        return self.comparison().plot(ax, **kwargs)


def budget_study(
    problem: Problem,
    epochs: Sequence[int] = (3, 10, 30),
    *,
    lrs: Sequence[float] = DEFAULT_LRS,
    seeds: Sequence[int] = (0, 1, 2),
    policy: str = "one_cycle",
    metric: str | None = None,
    beta: float | None = None,
    optimizer_factory: OptimizerFactory | None = None,
    device: str = "auto",
    progress: bool = True,
    range_tests: Sequence[RangeTestResult] | None = None,
    **range_test_kwargs,
) -> BudgetStudy:
    """Does the gap between the suggestions and the best lr depend on how long one trains?

    One range test per seed, then ``train_at_lrs`` for every number of ``epochs``, and a
    ``GapReport`` (gaps and costs of every rule) per budget. ``range_tests``: the range tests
    to judge, one per seed (e.g. another study's ``range_tests``: the same tests against
    another schedule's training); None runs them.
    """
    epochs = [check_int("epochs", e, minimum=1) for e in epochs]
    if not epochs:
        raise ValueError("epochs must hold at least one number of epochs, got none")
    check_choice("policy", policy, TRAIN_POLICIES)
    if metric is not None:
        check_choice("metric", metric, METRICS)
    if range_tests is None:
        range_tests = seeded_range_tests(
            problem, seeds, optimizer_factory, device, **range_test_kwargs
        )
    results = list(range_tests)
    per_epoch = steps_per_epoch(problem.train_data, problem.batch_size)
    reports = {}
    for e in tqdm(epochs, desc="budgets", disable=not progress):
        grid = train_at_lrs(
            problem,
            lrs,
            epochs=e,
            seeds=seeds,
            policy=policy,
            optimizer_factory=optimizer_factory,
            device=device,
        )
        reports[e] = gap_report(results, grid, metric, beta)
    return BudgetStudy(
        reports=reports,
        steps={e: e * per_epoch for e in epochs},
        range_test_steps=len(results[0].planned_lrs),
    )
