"""lrwidgets: interactive widgets that teach the learning-rate range test, CLR and one-cycle.

Layers (imports point downwards only):
    lrwidgets.widgets   ipywidgets + matplotlib, no numerics of their own
    lrwidgets.training  torch: range test, fit with a schedule, toy and real problems
    lrwidgets.core      numpy only: sweeps, EWMA, divergence rule, suggestions, schedules
"""

from .core import (
    Schedule,
    constant,
    cyclic,
    ewma,
    ewma_seeded,
    lr_sweep,
    one_cycle,
    suggest_lr,
)
from .training import (
    PROBLEMS,
    History,
    RangeTestResult,
    best_lr,
    curve_minimum_lr,
    fit,
    get_problem,
    range_test,
    range_test_gap,
    repeat_range_test,
    resolve_device,
    steps_per_epoch,
    suggestion_spread,
    train_at_lrs,
)

__version__ = "0.1.0"

__all__ = [
    "Schedule",
    "constant",
    "cyclic",
    "ewma",
    "ewma_seeded",
    "lr_sweep",
    "one_cycle",
    "suggest_lr",
    # training
    "History",
    "RangeTestResult",
    "fit",
    "range_test",
    "repeat_range_test",
    "resolve_device",
    "steps_per_epoch",
    # problems and studies
    "PROBLEMS",
    "best_lr",
    "curve_minimum_lr",
    "get_problem",
    "range_test_gap",
    "suggestion_spread",
    "train_at_lrs",
]
