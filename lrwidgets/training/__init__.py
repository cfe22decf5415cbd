"""Training with torch: the range test, fit with a schedule, devices and batching, optimizers,
toy and real problems, and the studies that measure the range test.

Never imports ipywidgets or pyplot (``RangeTestResult.plot`` imports ``lrwidgets.plots`` lazily).
"""

from .data import resolve_device, steps_per_epoch
from .datasets import load_idx_images
from .fit import History, fit
from .optimizers import OPTIMIZERS, make_optimizer
from .problems import LOCAL_PROBLEMS, PROBLEMS, Problem, get_problem
from .range_test import range_test, repeat_range_test
from .result import RangeTestResult
from .studies import (
    GapReport,
    TrainingGrid,
    best_lr,
    curve_minimum_lr,
    range_test_gap,
    suggestion_spread,
    train_at_lrs,
)

__all__ = [
    "GapReport",
    "History",
    "LOCAL_PROBLEMS",
    "OPTIMIZERS",
    "PROBLEMS",
    "Problem",
    "RangeTestResult",
    "TrainingGrid",
    "best_lr",
    "curve_minimum_lr",
    "fit",
    "get_problem",
    "load_idx_images",
    "make_optimizer",
    "range_test",
    "range_test_gap",
    "repeat_range_test",
    "resolve_device",
    "steps_per_epoch",
    "suggestion_spread",
    "train_at_lrs",
]
