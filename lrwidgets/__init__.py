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
    History,
    RangeTestResult,
    fit,
    range_test,
    repeat_range_test,
    resolve_device,
    steps_per_epoch,
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
]
