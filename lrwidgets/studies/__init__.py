"""Measurements that answer the questions learners ask about the range test, one per module.

- ``grid``: train at a grid of learning rates over seeds (``train_at_lrs`` -> ``TrainingGrid``),
  the yardstick: the lr that trains best (``best_lr``).
- ``gap``: is the range test an unbiased estimate of the best lr?  ``range_test_gap`` reports,
  per suggestion rule, how many decades it is off and what that costs; ``budget_study`` does
  it for several training lengths.
- ``spread``: does the initialisation or the batch order change the suggestion?
  ``suggestion_spread`` over the results of ``repeat_range_test``; ``bias_and_variance``.
- ``compare``: which schedule trains better?  ``Comparison``: each at its own best lr.
- ``settings``: are the results batch-size or optimizer dependent?  ``batch_size_study``,
  ``optimizer_study``.
- ``curves``: what the others read off a range-test curve (``curve_minimum_lr``, ...).

No plotting here: these functions return numbers; their ``plot`` methods call ``lrwidgets.plots``.
"""

from .compare import Comparison, compare_schedules
from .curves import curve_minimum_lr, geometric_mean, suggestions_by_run
from .gap import (
    BudgetStudy,
    GapReport,
    MethodGap,
    budget_study,
    gap_report,
    range_test_gap,
    seeded_range_tests,
)
from .grid import (
    DEFAULT_LRS,
    METRICS,
    TRAIN_POLICIES,
    OptimizerFactory,
    TrainingGrid,
    best_lr,
    best_lr_per_seed,
    grid_obstacle,
    train_at_lrs,
)
from .settings import (
    OPTIMIZER_CHOICES,
    SettingStudy,
    batch_size_study,
    optimizer_study,
    study_settings,
)
from .spread import (
    BiasVariance,
    Spread,
    bias_and_variance,
    crossed_range_tests,
    source_moves,
    suggestion_spread,
)

__all__ = [
    "DEFAULT_LRS",
    "METRICS",
    "OPTIMIZER_CHOICES",
    "TRAIN_POLICIES",
    "BiasVariance",
    "BudgetStudy",
    "Comparison",
    "GapReport",
    "MethodGap",
    "OptimizerFactory",
    "SettingStudy",
    "Spread",
    "TrainingGrid",
    "batch_size_study",
    "best_lr",
    "best_lr_per_seed",
    "bias_and_variance",
    "budget_study",
    "compare_schedules",
    "crossed_range_tests",
    "curve_minimum_lr",
    "gap_report",
    "geometric_mean",
    "grid_obstacle",
    "optimizer_study",
    "range_test_gap",
    "seeded_range_tests",
    "source_moves",
    "study_settings",
    "suggestion_spread",
    "suggestions_by_run",
    "train_at_lrs",
]
