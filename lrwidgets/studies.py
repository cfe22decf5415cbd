"""Measurements that answer the questions learners ask about the range test.

- Is the range test an unbiased estimate of the best learning rate?  ``range_test_gap``
  trains at a grid of learning rates (``train_at_lrs``), finds the lr that trained best
  (``best_lr``) and reports, for each suggestion rule, how many decades it is off.
- Does the initialisation or the batch order change the suggestion?  ``suggestion_spread``
  over the results of ``repeat_range_test``.
- Why pick a learning rate below the minimum of the curve?  Draw the final loss after training
  at each lr (``train_at_lrs``) next to the range-test curve, and mark ``curve_minimum_lr``.
- Which schedule trains better?  ``Comparison``: each training at its own best lr, over seeds.
- Does the answer depend on the training budget?  ``budget_study``: the gaps and what each
  rule costs, for several numbers of epochs.
- Are the results batch-size or optimizer dependent?  ``batch_size_study``, ``optimizer_study``.

No plotting here: these functions return numbers; their ``plot`` methods call ``lrwidgets.plots``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .core import SUGGESTION_METHODS, UnreliableCurveWarning, one_cycle, trim_curve
from .core.checks import check_choice, check_int
from .problems import Problem
from .training.data import fixed_batches, resolve_device, steps_per_epoch
from .training.ensemble import batching_obstacle, fit_ensemble
from .training.fit import fit
from .training.loop import evaluate
from .training.optimizers import make_optimizer
from .training.range_test import repeat_range_test
from .training.result import RangeTestResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes

TRAIN_SCHEDULES = ("constant", "one_cycle")
METRICS = ("train_loss", "val_loss", "val_accuracy")
DEFAULT_LRS = tuple(np.logspace(-3, 1, 13).tolist())  # 1e-3 .. 10, three per decade

OptimizerFactory = Callable[[nn.Module], torch.optim.Optimizer]


@dataclass
class TrainingGrid:
    """Final measurements after training at each learning rate with each seed.

    Arrays have shape (len(lrs), len(seeds)). ``train_loss`` is the loss on the whole training
    set after the last step; ``val_loss`` and ``val_accuracy`` are those of the last epoch (NaN
    when the problem has no validation data, or no accuracy for regression).
    ``initial_loss`` (one per seed) is the training loss before training, and ``diverged`` marks
    the runs that blew up: their final training loss is not finite or above ``initial_loss``.
    """

    lrs: np.ndarray
    seeds: tuple[int, ...]
    schedule: str
    epochs: int
    train_loss: np.ndarray
    val_loss: np.ndarray
    val_accuracy: np.ndarray
    initial_loss: np.ndarray
    diverged: np.ndarray
    default_metric: str = "train_loss"

    def score(self, metric: str | None = None) -> np.ndarray:
        """Lower is better: the loss, or minus the accuracy; +inf for a diverged run."""
        metric = check_choice("metric", metric or self.default_metric, METRICS)
        values = getattr(self, metric)
        score = -values if metric == "val_accuracy" else values.copy()
        score[self.diverged | ~np.isfinite(score)] = np.inf
        return score

    def mean(self, metric: str | None = None) -> np.ndarray:
        """The metric averaged over seeds, one value per lr (inf/NaN where a seed diverged)."""
        metric = metric or self.default_metric
        values = np.where(self.diverged, np.nan, getattr(self, metric))
        return values.mean(axis=1)

    def best(self, metric: str | None = None) -> float:
        """The lr with the best score averaged over seeds (see ``best_lr``)."""
        return best_lr(self, metric)

    def at_best(self, metric: str | None = None) -> np.ndarray:
        """The metric of every seed at ``best()``: one value per seed."""
        metric = metric or self.default_metric
        return getattr(self, metric)[int(np.argmin(self.score(metric).mean(axis=1)))].copy()

    def score_at(self, lr: float, metric: str | None = None) -> np.ndarray:
        """The score (lower is better, +inf when diverged) of every seed at the grid lr nearest
        ``lr`` on a log scale; NaN for an ``lr`` outside the grid (it was not measured)."""
        score = self.score(metric)
        if not self.lrs.min() <= lr <= self.lrs.max():
            return np.full(len(self.seeds), np.nan)
        return score[int(np.argmin(np.abs(np.log(self.lrs / lr))))]

    def plateau(self, margin: float = 0.1, metric: str | None = None) -> np.ndarray:
        """The lrs that train almost as well as the best: mean score <= best + margin * |best|.

        With the default val_loss and margin 0.1: the lrs whose validation loss, averaged over
        seeds, is at most 10% above the best one's.
        """
        if not (isinstance(margin, (int, float)) and margin >= 0):
            raise ValueError(f"margin must be a number >= 0, got {margin!r}")
        mean = self.score(metric).mean(axis=1)
        best = mean.min()
        return self.lrs[mean <= best + margin * abs(best)]

    def plot(self, ax: Axes | None = None, metric: str | None = None, **kwargs) -> Axes:
        """Draw the metric against lr: see ``lrwidgets.plots.plot_grids``."""
        from .plots import plot_grids

        return plot_grids({f"{self.schedule}, {self.epochs} epochs": self}, ax, metric, **kwargs)


def loss_on(model: nn.Module, batches: list, loss_fn) -> float:
    """The mean loss of ``model`` over ``batches`` (eval mode, no gradients)."""
    return evaluate(model, batches, loss_fn, None, nullcontext())[0]


def train_at_lrs(
    problem: Problem,
    lrs: Sequence[float] = DEFAULT_LRS,
    *,
    epochs: int = 3,
    seeds: Sequence[int] = (0,),
    schedule: str = "constant",
    optimizer_factory: OptimizerFactory | None = None,
    device: str = "auto",
    batched: bool | None = None,
) -> TrainingGrid:
    """Train a fresh ``problem.make_model(seed)`` for ``epochs`` at every lr and seed.

    ``schedule="constant"`` keeps the lr fixed; ``"one_cycle"`` uses it as the peak of
    ``one_cycle(total_steps, max_lr=lr)``. The seed sets both the initial weights and the batch
    order. ``optimizer_factory(model)`` builds the optimizer (default: ``fit``'s, SGD with
    momentum 0.9, the same as the range test's).

    ``batched``: train the whole grid as one batched ensemble (``fit_ensemble``: the same
    weights, batches, dropout masks and updates as one ``fit`` per lr and seed, several times
    faster), or one ``fit`` per lr and seed in a loop (False). None batches when it can
    (SGD, Adam or AdamW, a model torch.func batches, (X, y) data; see ``batching_obstacle``);
    True insists and raises a ValueError saying why it cannot.
    """
    lrs = np.asarray(lrs, dtype=float)
    if lrs.ndim != 1 or len(lrs) == 0 or not np.all(np.isfinite(lrs) & (lrs > 0)):
        raise ValueError(f"lrs must be a non-empty 1-D sequence of numbers > 0, got {lrs!r}")
    epochs = check_int("epochs", epochs, minimum=1)
    seeds = tuple(check_int("seeds", s, minimum=0) for s in seeds)
    if not seeds:
        raise ValueError("seeds must hold at least one seed, got an empty sequence")
    check_choice("schedule", schedule, TRAIN_SCHEDULES)
    if batched not in (None, True, False):
        raise TypeError(f"batched must be None, True or False, got {batched!r}")
    total_steps = epochs * steps_per_epoch(problem.train_data, problem.batch_size)
    target = resolve_device(device)
    train_batches = fixed_batches(problem.train_data, problem.batch_size, target)
    plans = [
        lr if schedule == "constant" else one_cycle(total_steps, max_lr=lr) for lr in lrs.tolist()
    ]
    if batched is not False:
        obstacle = grid_obstacle(problem, optimizer_factory, target)
        if obstacle is not None and batched:
            raise ValueError(
                f"batched=True, but this grid cannot be trained as one batched ensemble: "
                f"{obstacle}; pass batched=None (train it in a loop then) or False"
            )
        batched = obstacle is None
    train_grid = train_grid_batched if batched else train_grid_loop

    initial_loss = np.array(
        [loss_on(problem.make_model(s).to(target), train_batches, problem.loss_fn) for s in seeds]
    )
    train_loss, val_loss, val_accuracy = train_grid(
        problem, plans, seeds, epochs, optimizer_factory, target
    )
    with np.errstate(invalid="ignore"):
        diverged = ~np.isfinite(train_loss) | (train_loss > initial_loss)
    return TrainingGrid(
        lrs=lrs,
        seeds=seeds,
        schedule=schedule,
        epochs=epochs,
        train_loss=train_loss,
        val_loss=val_loss,
        val_accuracy=val_accuracy,
        initial_loss=initial_loss,
        diverged=diverged,
        default_metric="val_loss" if problem.val_data is not None else "train_loss",
    )


Grid = tuple[np.ndarray, np.ndarray, np.ndarray]  # train_loss, val_loss, val_accuracy (lr, seed)


def train_grid_loop(
    problem: Problem,
    plans: list,
    seeds: tuple[int, ...],
    epochs: int,
    optimizer_factory: OptimizerFactory | None,
    target: torch.device,
) -> Grid:
    """One ``fit`` per schedule in ``plans`` and seed, each from ``problem.make_model(seed)``."""
    train_batches = fixed_batches(problem.train_data, problem.batch_size, target)
    shape = (len(plans), len(seeds))
    train_loss, val_loss, val_accuracy = (np.full(shape, np.nan) for _ in range(3))
    for i, plan in enumerate(plans):
        for j, seed in enumerate(seeds):
            model = problem.make_model(seed).to(target)
            history = fit(
                model,
                problem.train_data,
                problem.loss_fn,
                optimizer_factory(model) if optimizer_factory else None,
                epochs=epochs,
                schedule=plan,
                val_data=problem.val_data,
                batch_size=problem.batch_size,
                device=target,
                seed=seed,
                progress=False,
            )
            train_loss[i, j] = loss_on(model, train_batches, problem.loss_fn)
            if len(history.val_loss):
                val_loss[i, j] = history.val_loss[-1]
                val_accuracy[i, j] = history.val_accuracy[-1]
    return train_loss, val_loss, val_accuracy


def train_grid_batched(
    problem: Problem,
    plans: list,
    seeds: tuple[int, ...],
    epochs: int,
    optimizer_factory: OptimizerFactory | None,
    target: torch.device,
) -> Grid:
    """What ``train_grid_loop`` gives, from one ``fit_ensemble`` (member seed-major)."""
    models = [problem.make_model(seed).to(target) for seed in seeds]
    run = fit_ensemble(
        models,
        problem.train_data,
        problem.loss_fn,
        optimizer_factory(models[0]) if optimizer_factory else None,
        plans,
        seeds=seeds,
        epochs=epochs,
        val_data=problem.val_data,
        batch_size=problem.batch_size,
        device=target,
    )
    train_batches = fixed_batches(problem.train_data, problem.batch_size, target)
    last = np.maximum(run.epochs_recorded - 1, 0)
    members = np.arange(len(last))
    none = run.epochs_recorded == 0  # no epoch finished: no validation, as in the loop
    val_loss = np.where(none, np.nan, run.val_loss[members, last])
    val_accuracy = np.where(none, np.nan, run.val_accuracy[members, last])
    train_loss = run.loss_on(train_batches, problem.loss_fn)
    # member k * len(plans) + i is (seed k, plan i): rows per seed, transposed to (lr, seed)
    return tuple(a.reshape(len(seeds), len(plans)).T for a in (train_loss, val_loss, val_accuracy))


def grid_obstacle(
    problem: Problem, optimizer_factory: OptimizerFactory | None, target: torch.device
) -> str | None:
    """Why ``train_at_lrs`` cannot batch this problem (``batching_obstacle``), or None."""
    model = problem.make_model(0).to(target)
    optimizer = optimizer_factory(model) if optimizer_factory else None
    return batching_obstacle(
        model, optimizer, problem.train_data, problem.batch_size, problem.loss_fn
    )


def best_lr(grid: TrainingGrid, metric: str | None = None) -> float:
    """The lr that trained best by ``metric`` (default: val_loss when there is validation data):
    the best score averaged over seeds (a diverged seed rules its lr out)."""
    return float(grid.lrs[np.argmin(grid.score(metric).mean(axis=1))])


def best_lr_per_seed(grid: TrainingGrid, metric: str | None = None) -> np.ndarray:
    """Each seed's own best lr by ``metric``, one per seed (``best_lr`` averages first)."""
    return grid.lrs[np.argmin(grid.score(metric), axis=0)]


def curve_minimum_lr(result: RangeTestResult, beta: float | None = None) -> float:
    """The lr at the lowest point of the smoothed range-test curve (non-finite tail trimmed).

    Why not train there? The curve is measured while the lr keeps growing, one batch per lr;
    at its minimum the loss is about to blow up, and a whole run at that lr is near or past the
    edge. On digits-mlp (3 epochs, constant lr, seeds 0-4) the curve minimum is 0.42-0.89. At
    lr 1 no run diverges by ``TrainingGrid``'s rule (final loss finite and below the start), but
    none learns much: validation loss 1.5-1.9 after 3 epochs (2.3 at the start), against
    0.13-0.17 at lr 0.05; at lr 2 one run of five diverges. Draw the two side by side::

        import matplotlib.pyplot as plt
        from lrwidgets import best_lr, curve_minimum_lr, get_problem, range_test, train_at_lrs

        problem = get_problem("digits-mlp")
        result = range_test(problem.make_model(0), problem.train_data, problem.loss_fn, seed=0)
        grid = train_at_lrs(problem, epochs=3, seeds=(0, 1, 2))
        fig, (top, bottom) = plt.subplots(2, 1, sharex=True)
        result.plot(ax=top)
        bottom.plot(grid.lrs, grid.mean("val_loss"), "o-", label="val loss after 3 epochs")
        for ax in (top, bottom):
            ax.axvline(curve_minimum_lr(result), color="red", ls="--", label="curve minimum")
            ax.axvline(best_lr(grid), color="green", ls=":", label="best lr")
        bottom.set_xscale("log")
        bottom.legend()

    (Gaps in the bottom curve are learning rates where a seed diverged.)
    """
    lrs, losses = trim_curve(result.lrs, result.smoothed(beta))
    return float(lrs[int(np.argmin(losses))])


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
            f"{'rule':14s} {'suggested':>10s} {'best':>10s} {'gap (decades)':>14s} "
            f"{'best/sugg.':>10s} {'cost':>8s}",
        ]
        costs = self.costs()
        for name, g in self.gaps.items():
            lines.append(
                f"{name:14s} {g.suggested_gmean:10.3g} {g.best_gmean:10.3g} {g.mean_gap:+14.2f} "
                f"{10**-g.mean_gap:10.2g} {np.mean(costs[name]):+8.3f}"
            )
        lines.append(
            f"(geometric means over seeds {list(self.seeds)}; best by {self.metric} after "
            f"{self.grid.epochs} epochs with a {self.grid.schedule} schedule; cost: the "
            f"{self.metric} at the suggestion minus at the best lr, mean over seeds, nan when "
            "a suggestion lies outside the grid)"
        )
        return "\n".join(lines)


def geometric_mean(values: np.ndarray) -> float:
    """exp(mean(log x)) over the finite values (NaN when there are none)."""
    logs = np.log(np.asarray(values, dtype=float))
    logs = logs[np.isfinite(logs)]
    return float(np.exp(logs.mean())) if len(logs) else math.nan


def range_test_gap(
    problem: Problem,
    *,
    seeds: Sequence[int] = (0, 1, 2),
    lrs: Sequence[float] = DEFAULT_LRS,
    epochs: int = 3,
    schedule: str = "one_cycle",
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
        schedule=schedule,
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
    seed, as in ``train_at_lrs``), with the problem's loss and batch size."""
    return repeat_range_test(
        problem.make_model,
        problem.train_data,
        seeds=tuple(seeds),
        vary="both",
        optimizer_factory=optimizer_factory,
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


def suggestions_by_run(
    results: Sequence[RangeTestResult], method: str, beta: float | None
) -> np.ndarray:
    """Each result's suggestion by ``method``, NaN where that rule had no answer.

    One ``UnreliableCurveWarning`` counts the curves that never fall clearly, instead of one
    warning per curve.
    """
    flat = sum(r.unreliable(beta) is not None for r in results)
    if flat:
        warnings.warn(
            f"{flat} of {len(results)} range tests never fall clearly below their start: "
            "their suggestions are unreliable (RangeTestResult.unreliable() says why)",
            UnreliableCurveWarning,
            stacklevel=2,
        )
    return np.array([r.suggestions(beta, warn=False).get(method, np.nan) for r in results])


@dataclass
class Spread:
    """How much one rule's suggestion moves between runs.

    ``decades`` = log10(max / min) and ``log10_std`` = the standard deviation of log10(lr)
    over the runs that gave an answer; both are 0 when all runs agree.
    """

    values: np.ndarray
    geometric_mean: float
    decades: float
    log10_std: float


def suggestion_spread(
    results: Sequence[RangeTestResult], beta: float | None = None
) -> dict[str, Spread]:
    """Per suggestion rule, how far apart the suggestions of several range tests are.

    Typical use: ``suggestion_spread(repeat_range_test(problem.make_model, data, vary="init"))``.
    A rule that no result could answer is left out.
    """
    if len(results) == 0:
        raise ValueError("results must hold at least one RangeTestResult, got none")
    spreads = {}
    for method in SUGGESTION_METHODS:
        values = suggestions_by_run(results, method, beta)
        logs = np.log10(values[np.isfinite(values)])
        if len(logs) == 0:
            continue
        spreads[method] = Spread(
            values=values,
            geometric_mean=float(10 ** logs.mean()),
            decades=float(logs.max() - logs.min()),
            log10_std=float(logs.std()),
        )
    return spreads


# -- fair comparisons ----------------------------------------------------------------------------
@dataclass
class Comparison:
    """Several trainings compared fairly: each at its own best lr, over the same seeds.

    ``grids`` maps a name ("constant", "one_cycle", "full batch", ...) to a ``TrainingGrid``;
    each is judged at its own ``best()`` lr by ``metric`` (default: the first grid's).
    ``str(comparison)`` is a table: best lr, the metric there (mean and standard deviation over
    seeds), the range of the seeds' own best lrs, and the plateau (lrs within ``margin``).
    """

    grids: dict[str, TrainingGrid]
    metric: str | None = None
    margin: float = 0.1

    def __post_init__(self) -> None:
        if not self.grids:
            raise ValueError("grids must hold at least one TrainingGrid, got none")
        first = next(iter(self.grids.values()))
        self.metric = check_choice("metric", self.metric or first.default_metric, METRICS)

    def best(self, name: str) -> float:
        return self.grids[name].best(self.metric)

    def at_best(self, name: str) -> np.ndarray:
        """The metric of every seed at the best lr of ``name``."""
        return self.grids[name].at_best(self.metric)

    def difference(self, a: str, b: str) -> tuple[float, float]:
        """Mean and standard deviation over seeds of at_best(a) - at_best(b), seed by seed
        (the same initial weights and batch order on both sides)."""
        diff = self.at_best(a) - self.at_best(b)
        return float(np.mean(diff)), float(np.std(diff))

    def __str__(self) -> str:
        lines = [
            f"{'training':22s} {'best lr':>8s} {self.metric + ' there':>22s} "
            f"{'seeds best lrs':>16s} {f'plateau ({self.margin:.0%})':>18s}"
        ]
        for name, grid in self.grids.items():
            values = self.at_best(name)
            own = best_lr_per_seed(grid, self.metric)
            plateau = grid.plateau(self.margin, self.metric)
            lines.append(
                f"{name:22s} {self.best(name):8.3g} "
                f"{np.mean(values):13.4f} ± {np.std(values):6.4f} "
                f"{own.min():7.3g}..{own.max():<7.3g} {plateau.min():8.3g}..{plateau.max():<8.3g}"
            )
        seeds = next(iter(self.grids.values())).seeds
        lines.append(f"(mean ± standard deviation over seeds {list(seeds)})")
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None, **kwargs) -> Axes:
        """Every grid's metric against lr, bests marked: see ``lrwidgets.plots.plot_grids``."""
        from .plots import plot_grids

        return plot_grids(self.grids, ax, self.metric, **kwargs)


def compare_schedules(
    problem: Problem,
    lrs: Sequence[float] = DEFAULT_LRS,
    *,
    schedules: Sequence[str] = TRAIN_SCHEDULES,
    epochs: int = 3,
    seeds: Sequence[int] = (0, 1, 2),
    metric: str | None = None,
    progress: bool = True,
    **train_kwargs,
) -> Comparison:
    """Train ``problem`` with each schedule at every lr of ``lrs`` and seed (``train_at_lrs``),
    then compare the schedules each at its own best lr (``Comparison``)."""
    for schedule in schedules:
        check_choice("schedule", schedule, TRAIN_SCHEDULES)
    grids = {
        schedule: train_at_lrs(
            problem, lrs, epochs=epochs, seeds=seeds, schedule=schedule, **train_kwargs
        )
        for schedule in tqdm(schedules, desc="schedules", disable=not progress)
    }
    return Comparison(grids, metric)


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
    schedule: str = "one_cycle",
    metric: str | None = None,
    beta: float | None = None,
    progress: bool = True,
    **range_test_kwargs,
) -> BudgetStudy:
    """Does the gap between the suggestions and the best lr depend on how long one trains?

    One range test per seed, then ``train_at_lrs`` for every number of ``epochs``, and a
    ``GapReport`` (gaps and costs of every rule) per budget.
    """
    epochs = [check_int("epochs", e, minimum=1) for e in epochs]
    if not epochs:
        raise ValueError("epochs must hold at least one number of epochs, got none")
    check_choice("schedule", schedule, TRAIN_SCHEDULES)
    if metric is not None:
        check_choice("metric", metric, METRICS)
    results = seeded_range_tests(problem, seeds, **range_test_kwargs)
    per_epoch = steps_per_epoch(problem.train_data, problem.batch_size)
    reports = {}
    for e in tqdm(epochs, desc="budgets", disable=not progress):
        grid = train_at_lrs(problem, lrs, epochs=e, seeds=seeds, schedule=schedule)
        reports[e] = gap_report(results, grid, metric, beta)
    return BudgetStudy(
        reports=reports,
        steps={e: e * per_epoch for e in epochs},
        range_test_steps=len(results[0].planned_lrs),
    )


# -- batch size and optimizer --------------------------------------------------------------------
OPTIMIZER_CHOICES: dict[str, OptimizerFactory] = {
    "SGD, momentum 0.9": lambda model: make_optimizer("sgd_momentum", model.parameters()),
    "SGD, momentum 0": lambda model: make_optimizer("sgd", model.parameters()),
    "Adam": lambda model: make_optimizer("adam", model.parameters()),
}


@dataclass
class SettingStudy:
    """Range tests and trainings under several settings (batch sizes, optimizers).

    For every setting (by name): ``range_tests`` (one per seed) and ``grids`` (``train_at_lrs``
    with the same problem, batch size and optimizer). Does the range test follow the best lr
    when the setting changes?
    """

    range_tests: dict[str, list[RangeTestResult]]
    grids: dict[str, TrainingGrid]
    metric: str

    def curve_minimum(self, name: str) -> float:
        """The geometric mean over seeds of the curve minimum (``curve_minimum_lr``)."""
        return geometric_mean(np.array([curve_minimum_lr(r) for r in self.range_tests[name]]))

    def suggestion(self, name: str, method: str) -> float:
        """The geometric mean over seeds of the suggestion by ``method``."""
        return geometric_mean(suggestions_by_run(self.range_tests[name], method, None))

    def best(self, name: str) -> float:
        return self.grids[name].best(self.metric)

    def comparison(self) -> Comparison:
        return Comparison(self.grids, self.metric)

    def __str__(self) -> str:
        lines = [
            f"{'setting':20s} {'curve min':>10s} {'valley':>8s} {'best lr':>8s} "
            f"{'best/curve min':>15s} {self.metric + ' at best':>17s}"
        ]
        for name in self.grids:
            values = self.grids[name].at_best(self.metric)
            lines.append(
                f"{name:20s} {self.curve_minimum(name):10.3g} "
                f"{self.suggestion(name, 'valley'):8.3g} {self.best(name):8.3g} "
                f"{self.best(name) / self.curve_minimum(name):15.2f} "
                f"{np.mean(values):10.4f} ± {np.std(values):.4f}"
            )
        grid = next(iter(self.grids.values()))
        lines.append(
            f"(geometric means over seeds {list(grid.seeds)}; best lr after {grid.epochs} "
            f"epochs, {grid.schedule} schedule)"
        )
        return "\n".join(lines)

    def plot(self, axes: Sequence[Axes] | None = None) -> list[Axes]:
        """Range-test curves (top) above the trainings (bottom): ``plots.plot_setting_study``."""
        from .plots import plot_setting_study

        return plot_setting_study(self, axes)


def study_settings(
    settings: Mapping[str, tuple[Problem, OptimizerFactory | None]],
    lrs: Sequence[float] = DEFAULT_LRS,
    *,
    epochs: int = 3,
    seeds: Sequence[int] = (0, 1, 2),
    schedule: str = "constant",
    metric: str | None = None,
    progress: bool = True,
    **range_test_kwargs,
) -> SettingStudy:
    """For every setting ``name -> (problem, optimizer_factory)``: range tests over ``seeds``
    and ``train_at_lrs`` with the same problem and optimizer."""
    if not settings:
        raise ValueError("settings must hold at least one setting, got none")
    check_choice("schedule", schedule, TRAIN_SCHEDULES)
    if metric is not None:
        check_choice("metric", metric, METRICS)
    range_tests, grids = {}, {}
    for name, (problem, factory) in tqdm(settings.items(), desc="settings", disable=not progress):
        range_tests[name] = seeded_range_tests(problem, seeds, factory, **range_test_kwargs)
        grids[name] = train_at_lrs(
            problem,
            lrs,
            epochs=epochs,
            seeds=seeds,
            schedule=schedule,
            optimizer_factory=factory,
        )
    first = next(iter(grids.values()))
    return SettingStudy(range_tests, grids, metric or first.default_metric)


def batch_size_study(
    problem: Problem, batch_sizes: Sequence[int] = (16, 64, 256), **kwargs
) -> SettingStudy:
    """``study_settings`` over batch sizes: the same problem, SGD with momentum 0.9, the range
    test and the training both with each batch size (same epochs, so more steps when smaller)."""
    sizes = [check_int("batch_sizes", b, minimum=1) for b in batch_sizes]
    settings = {f"batch {b}": (replace(problem, batch_size=b), None) for b in sizes}
    return study_settings(settings, **kwargs)


def optimizer_study(
    problem: Problem, optimizers: Mapping[str, OptimizerFactory] | None = None, **kwargs
) -> SettingStudy:
    """``study_settings`` over optimizers (default ``OPTIMIZER_CHOICES``: SGD with momentum
    0.9 and 0, Adam), each used for both the range test and the training."""
    optimizers = OPTIMIZER_CHOICES if optimizers is None else optimizers
    for name, factory in optimizers.items():
        if not callable(factory):
            raise TypeError(f"optimizers[{name!r}] must be callable (model -> optimizer)")
    return study_settings({name: (problem, f) for name, f in optimizers.items()}, **kwargs)


# -- precision and accuracy ----------------------------------------------------------------------
@dataclass
class BiasVariance:
    """How precise (variance) and how accurate (bias) each rule is, in decades of lr.

    Per rule: ``single_std`` = std of log10(suggestion) over single range tests;
    ``pooled_std`` = std of log10 of the geometric mean of ``pool`` tests, over disjoint pools;
    ``bias`` = log10(geometric mean of all suggestions / ``best``).
    Averaging shrinks the first two (roughly by sqrt(pool)); it leaves the bias where it is.
    """

    best: float
    pool: int
    single_std: dict[str, float]
    pooled_std: dict[str, float]
    bias: dict[str, float]

    def __str__(self) -> str:
        lines = [
            f"{'rule':8s} {'std, 1 test':>12s} {f'std, mean of {self.pool}':>14s} "
            f"{'bias':>8s} {'bias / std of mean':>19s}"
        ]
        for rule, bias in self.bias.items():
            pooled = self.pooled_std[rule]
            lines.append(
                f"{rule:8s} {self.single_std[rule]:12.2f} {pooled:14.2f} {bias:+8.2f} "
                f"{abs(bias) / pooled if pooled > 0 else math.inf:19.1f}"
            )
        lines.append(f"(decades of lr; bias against the best lr {self.best:.3g})")
        return "\n".join(lines)


def bias_and_variance(
    results: Sequence[RangeTestResult], best: float, pool: int = 3, beta: float | None = None
) -> BiasVariance:
    """Variance and bias of every rule's suggestion over ``results`` against the lr ``best``
    (see ``BiasVariance``); ``results`` is cut into ``len(results) // pool`` disjoint pools."""
    pool = check_int("pool", pool, minimum=1)
    if len(results) < 2 * pool:
        raise ValueError(
            f"results must hold at least 2 * pool = {2 * pool} range tests, got {len(results)}"
        )
    if not (isinstance(best, (int, float)) and best > 0):
        raise ValueError(f"best must be a learning rate > 0, got {best!r}")
    pools = len(results) // pool
    single, pooled, bias = {}, {}, {}
    for method in SUGGESTION_METHODS:
        logs = np.log10(suggestions_by_run(results, method, beta))
        if not np.all(np.isfinite(logs)):
            continue
        single[method] = float(logs.std())
        pooled[method] = float(logs[: pools * pool].reshape(pools, pool).mean(axis=1).std())
        bias[method] = float(logs.mean() - np.log10(best))
    return BiasVariance(best, pool, single, pooled, bias)
