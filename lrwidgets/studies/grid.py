"""Train at a grid of learning rates over seeds: ``train_at_lrs`` -> ``TrainingGrid``.

The grid is where the course measures the best learning rate of full training, against which
every range-test suggestion is judged. ``batched=None`` trains the whole grid as one batched
ensemble (``studies.batched``, a marked speed-up: the same numbers as one ``fit`` per run).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..core import Schedule, one_cycle, warmup_share_cosine
from ..core.checks import check_choice, check_int, check_positive
from ..problems import Problem
from ..training.data import fixed_batches, resolve_device, steps_per_epoch
from ..training.fit import fit
from ..training.loop import evaluate
from .batched import batching_obstacle, fit_ensemble

if TYPE_CHECKING:
    from matplotlib.axes import Axes


TRAIN_POLICIES = ("constant", "one_cycle", "warmup_cosine")
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
    policy: str
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

    def step_costs(self, metric: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """What one grid step off ``best()`` costs each seed: (below, above), one value per seed,

            below = score[i - 1] - score[i],   above = score[i + 1] - score[i],   i = best row,

        so 0 means "as good as the best" (+inf where the run a step off diverged, NaN on a side
        where the best is the grid's end). Is a factor too high worse than one too low?
        """
        score = self.score(metric)
        i = int(np.argmin(score.mean(axis=1)))
        none = np.full(len(self.seeds), np.nan)
        below = score[i - 1] - score[i] if i > 0 else none
        above = score[i + 1] - score[i] if i + 1 < len(self.lrs) else none
        return below, above

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
        from ..plots import plot_grids

        return plot_grids({f"{self.policy}, {self.epochs} epochs": self}, ax, metric, **kwargs)


def own_optimizer(
    problem: Problem, optimizer_factory: OptimizerFactory | None
) -> OptimizerFactory | None:
    """The optimizer to train ``problem`` with: ``optimizer_factory`` when given, else the
    problem's own (``make_optimizer``: the transformer's AdamW, the fine-tune's two groups),
    else None (``fit``'s and ``range_test``'s default, SGD with momentum 0.9)."""
    return optimizer_factory if optimizer_factory is not None else problem.make_optimizer


def plan(policy: str, total_steps: int, lr: float) -> float | Schedule:
    """What ``fit`` follows for ``policy`` at ``lr``: the constant lr, or the schedule peaking
    there (``one_cycle``, ``warmup_share_cosine``)."""
    if policy == "constant":
        return lr
    if policy == "one_cycle":
        return one_cycle(total_steps, max_lr=lr)
    return warmup_share_cosine(total_steps, lr)


def loss_on(model: nn.Module, batches: list, loss_fn) -> float:
    """The mean loss of ``model`` over ``batches`` (eval mode, no gradients)."""
    return evaluate(model, batches, loss_fn, None, nullcontext())[0]


def train_at_lrs(
    problem: Problem,
    lrs: Sequence[float] = DEFAULT_LRS,
    *,
    epochs: int = 3,
    seeds: Sequence[int] = (0,),
    policy: str = "constant",
    optimizer_factory: OptimizerFactory | None = None,
    batch_size: int | None = None,
    device: str = "auto",
    clip_grad_norm: float | None = None,
    accumulation_steps: int = 1,
    batched: bool | None = None,
) -> TrainingGrid:
    """Train a fresh ``problem.make_model(seed)`` for ``epochs`` at every lr and seed.

    ``batch_size`` (None: the problem's own), ``device``, ``clip_grad_norm`` and
    ``accumulation_steps`` go to every run, as in ``fit`` and ``range_test``.

    ``policy="constant"`` keeps the lr fixed; ``"one_cycle"`` uses it as the peak of
    ``one_cycle(total_steps, max_lr=lr)``. The seed sets both the initial weights and the batch
    order. ``policy="warmup_cosine"``: linear warm-up over the first tenth of the steps, then
    a cosine (``warmup_share_cosine``, the transformer's schedule) peaking at lr.
    ``optimizer_factory(model)`` builds the optimizer (default: the problem's own,
    ``problem.make_optimizer``, where it has one; else ``fit``'s, SGD with momentum 0.9, the
    same as the range test's).

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
    check_choice("policy", policy, TRAIN_POLICIES)
    optimizer_factory = own_optimizer(problem, optimizer_factory)
    if batched not in (None, True, False):
        raise TypeError(f"batched must be None, True or False, got {batched!r}")
    batch_size = problem.batch_size if batch_size is None else batch_size
    settings = Settings(optimizer_factory, batch_size, clip_grad_norm, accumulation_steps)
    total_steps = epochs * steps_per_epoch(problem.train_data, batch_size, accumulation_steps)
    if clip_grad_norm is not None:
        check_positive("clip_grad_norm", clip_grad_norm)
    target = resolve_device(device)
    train_batches = fixed_batches(problem.train_data, batch_size, target)
    plans = [plan(policy, total_steps, lr) for lr in lrs.tolist()]
    if batched is not False:
        obstacle = grid_obstacle(
            problem,
            optimizer_factory,
            target,
            batch_size=batch_size,
            clip_grad_norm=clip_grad_norm,
            accumulation_steps=accumulation_steps,
        )
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
        problem, plans, seeds, epochs, settings, target, train_batches
    )
    with np.errstate(invalid="ignore"):
        diverged = ~np.isfinite(train_loss) | (train_loss > initial_loss)
    return TrainingGrid(
        lrs=lrs,
        seeds=seeds,
        policy=policy,
        epochs=epochs,
        train_loss=train_loss,
        val_loss=val_loss,
        val_accuracy=val_accuracy,
        initial_loss=initial_loss,
        diverged=diverged,
        default_metric="val_loss" if problem.val_data is not None else "train_loss",
    )


Grid = tuple[np.ndarray, np.ndarray, np.ndarray]  # train_loss, val_loss, val_accuracy (lr, seed)


@dataclass(frozen=True)
class Settings:
    """What every run of a grid trains with, besides its lr, seed and schedule."""

    optimizer_factory: OptimizerFactory | None
    batch_size: int
    clip_grad_norm: float | None
    accumulation_steps: int

    def optimizer(self, model: nn.Module) -> torch.optim.Optimizer | None:
        return self.optimizer_factory(model) if self.optimizer_factory else None


def train_grid_loop(
    problem: Problem,
    plans: list,
    seeds: tuple[int, ...],
    epochs: int,
    settings: Settings,
    target: torch.device,
    train_batches: list,
) -> Grid:
    """One ``fit`` per schedule in ``plans`` and seed, each from ``problem.make_model(seed)``;
    the final training loss is measured on ``train_batches`` (the training set, batched)."""
    shape = (len(plans), len(seeds))
    train_loss, val_loss, val_accuracy = (np.full(shape, np.nan) for _ in range(3))
    for i, plan in enumerate(plans):
        for j, seed in enumerate(seeds):
            model = problem.make_model(seed).to(target)
            history = fit(
                model,
                problem.train_data,
                problem.loss_fn,
                settings.optimizer(model),
                epochs=epochs,
                schedule=plan,
                val_data=problem.val_data,
                batch_size=settings.batch_size,
                device=target,
                seed=seed,
                progress=False,
                accumulation_steps=settings.accumulation_steps,
                clip_grad_norm=settings.clip_grad_norm,
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
    settings: Settings,
    target: torch.device,
    train_batches: list,
) -> Grid:
    """What ``train_grid_loop`` gives, from one ``fit_ensemble`` (member seed-major)."""
    models = [problem.make_model(seed).to(target) for seed in seeds]
    run = fit_ensemble(
        models,
        problem.train_data,
        problem.loss_fn,
        settings.optimizer(models[0]),
        plans,
        seeds=seeds,
        epochs=epochs,
        val_data=problem.val_data,
        batch_size=settings.batch_size,
        device=target,
    )
    last = np.maximum(run.epochs_recorded - 1, 0)
    members = np.arange(len(last))
    none = run.epochs_recorded == 0  # no epoch finished: no validation, as in the loop
    val_loss = np.where(none, np.nan, run.val_loss[members, last])
    val_accuracy = np.where(none, np.nan, run.val_accuracy[members, last])
    train_loss = run.loss_on(train_batches, problem.loss_fn)
    # member k * len(plans) + i is (seed k, plan i): rows per seed, transposed to (lr, seed)
    return tuple(a.reshape(len(seeds), len(plans)).T for a in (train_loss, val_loss, val_accuracy))


def grid_obstacle(
    problem: Problem,
    optimizer_factory: OptimizerFactory | None = None,
    target: torch.device | None = None,
    *,
    batch_size: int | None = None,
    clip_grad_norm: float | None = None,
    accumulation_steps: int = 1,
) -> str | None:
    """Why ``train_at_lrs`` with these arguments cannot batch this problem
    (``batching_obstacle``), or None when it can."""
    model = problem.make_model(0).to(target or resolve_device("auto"))
    return batching_obstacle(
        model,
        optimizer_factory(model) if optimizer_factory else None,
        problem.train_data,
        problem.batch_size if batch_size is None else batch_size,
        problem.loss_fn,
        clip_grad_norm=clip_grad_norm,
        accumulation_steps=accumulation_steps,
    )


def best_lr(grid: TrainingGrid, metric: str | None = None) -> float:
    """The lr that trained best by ``metric`` (default: val_loss when there is validation data):
    the best score averaged over seeds (a diverged seed rules its lr out)."""
    return float(grid.lrs[np.argmin(grid.score(metric).mean(axis=1))])


def best_lr_per_seed(grid: TrainingGrid, metric: str | None = None) -> np.ndarray:
    """Each seed's own best lr by ``metric``, one per seed (``best_lr`` averages first)."""
    return grid.lrs[np.argmin(grid.score(metric), axis=0)]
