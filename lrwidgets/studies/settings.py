"""Are the results batch-size or optimizer dependent?  Range tests and trainings per setting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from tqdm.auto import tqdm

from ..core.checks import check_choice, check_int
from ..problems import Problem
from ..training.optimizers import make_optimizer
from ..training.result import RangeTestResult
from .compare import Comparison
from .curves import curve_minimum_lr, geometric_mean, suggestions_by_run
from .gap import seeded_range_tests
from .grid import (
    DEFAULT_LRS,
    METRICS,
    TRAIN_POLICIES,
    OptimizerFactory,
    TrainingGrid,
    best_lr_per_seed,
    train_at_lrs,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes


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

    def curve_minima(self, name: str) -> np.ndarray:
        """Each seed's curve minimum (``curve_minimum_lr``) under setting ``name``."""
        return np.array([curve_minimum_lr(r) for r in self.range_tests[name]])

    def curve_minimum(self, name: str) -> float:
        """The geometric mean over seeds of the curve minimum."""
        return geometric_mean(self.curve_minima(name))

    def best_per_seed(self, name: str) -> np.ndarray:
        """Each seed's own best lr under setting ``name`` (``best_lr_per_seed``)."""
        return best_lr_per_seed(self.grids[name], self.metric)

    def moves(self, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
        """Seed by seed, how far the best lr and the curve minimum move from setting ``a`` to
        ``b``, in decades: log10(best_b / best_a) and log10(minimum_b / minimum_a)."""
        best = np.log10(self.best_per_seed(b) / self.best_per_seed(a))
        return best, np.log10(self.curve_minima(b) / self.curve_minima(a))

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
            f"epochs, {grid.policy} schedule)"
        )
        return "\n".join(lines)

    def plot(self, axes: Sequence[Axes] | None = None) -> list[Axes]:
        """Range-test curves (top) above the trainings (bottom): ``plots.plot_setting_study``."""
        from ..plots import plot_setting_study

        return plot_setting_study(self, axes)


def study_settings(
    settings: Mapping[str, tuple[Problem, OptimizerFactory | None]],
    lrs: Sequence[float] = DEFAULT_LRS,
    *,
    epochs: int = 3,
    seeds: Sequence[int] = (0, 1, 2),
    policy: str = "constant",
    metric: str | None = None,
    progress: bool = True,
    **range_test_kwargs,
) -> SettingStudy:
    """For every setting ``name -> (problem, optimizer_factory)``: range tests over ``seeds``
    and ``train_at_lrs`` with the same problem and optimizer."""
    if not settings:
        raise ValueError("settings must hold at least one setting, got none")
    check_choice("policy", policy, TRAIN_POLICIES)
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
            policy=policy,
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
