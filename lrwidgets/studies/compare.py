"""Which training is better?  Each at its own best learning rate, over the same seeds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from tqdm.auto import tqdm

from ..core.checks import check_choice
from ..problems import Problem
from .grid import (
    DEFAULT_LRS,
    METRICS,
    TRAIN_POLICIES,
    TrainingGrid,
    best_lr_per_seed,
    train_at_lrs,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes


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
        width = max(22, *(len(name) for name in self.grids))  # the names' column
        lines = [
            f"{'training':{width}s} {'best lr':>8s} {self.metric + ' there':>22s} "
            f"{'seeds best lrs':>16s} {f'plateau ({self.margin:.0%})':>18s}"
        ]
        for name, grid in self.grids.items():
            values = self.at_best(name)
            own = best_lr_per_seed(grid, self.metric)
            plateau = grid.plateau(self.margin, self.metric)
            lines.append(
                f"{name:{width}s} {self.best(name):8.3g} "
                f"{np.mean(values):13.4f} ± {np.std(values):6.4f} "
                f"{own.min():7.3g}..{own.max():<7.3g} {plateau.min():8.3g}..{plateau.max():<8.3g}"
            )
        seeds = next(iter(self.grids.values())).seeds
        lines.append(f"(mean ± standard deviation over seeds {list(seeds)})")
        return "\n".join(lines)

    def plot(self, ax: Axes | None = None, **kwargs) -> Axes:
        """Every grid's metric against lr, bests marked: see ``lrwidgets.plots.plot_grids``."""
        from ..plots import plot_grids

        return plot_grids(self.grids, ax, self.metric, **kwargs)


def compare_schedules(
    problem: Problem,
    lrs: Sequence[float] = DEFAULT_LRS,
    *,
    policies: Sequence[str] = ("constant", "one_cycle"),
    epochs: int = 3,
    seeds: Sequence[int] = (0, 1, 2),
    metric: str | None = None,
    progress: bool = True,
    **train_kwargs,
) -> Comparison:
    """Train ``problem`` with each schedule policy (of ``TRAIN_POLICIES``) at every lr of
    ``lrs`` and seed (``train_at_lrs``), then compare them each at its own best lr
    (``Comparison``)."""
    for policy in policies:
        check_choice("policies", policy, TRAIN_POLICIES)
    grids = {
        policy: train_at_lrs(
            problem, lrs, epochs=epochs, seeds=seeds, policy=policy, **train_kwargs
        )
        for policy in tqdm(policies, desc="schedules", disable=not progress)
    }
    return Comparison(grids, metric)
