"""lrwidgets: interactive widgets that teach the learning-rate range test, CLR and one-cycle.

Layers (imports point downwards only):
    lrwidgets.widgets    ipywidgets + matplotlib, no numerics of their own
    lrwidgets.plots      matplotlib drawing of results, one picture per module
    lrwidgets.studies    experiments over problems, one question per module (gap, spread, ...)
    lrwidgets.problems   the course's problems and data (toy, digits, a transformer, local MNIST)
    lrwidgets.training   torch mechanics: range test, fit with a schedule, devices, restore
    lrwidgets.core       numpy only: sweeps, EWMA, divergence rule, suggestions, schedules

``from lrwidgets import range_test`` works as usual, but each name is imported on first use
(PEP 562), so ``import lrwidgets.core`` loads numpy and nothing else.
"""

from importlib import import_module

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    # core (numpy)
    "Schedule": "core",
    "UnreliableCurveWarning": "core",
    "constant": "core",
    "cyclic": "core",
    "ewma": "core",
    "ewma_from_first": "core",
    "fastai_skips": "core",
    "fastai_one_cycle": "core",
    "lr_sweep": "core",
    "one_cycle": "core",
    "suggest_lr": "core",
    "warmup_cosine": "core",
    # training (torch)
    "History": "training",
    "RangeTestResult": "training",
    "fit": "training",
    "range_test": "training",
    "repeat_range_test": "training",
    "resolve_device": "training",
    "steps_per_epoch": "training",
    # problems and studies
    "PROBLEMS": "problems",
    "get_problem": "problems",
    "best_lr": "studies",
    "curve_minimum_lr": "studies",
    "range_test_gap": "studies",
    "suggestion_spread": "studies",
    "train_at_lrs": "studies",
    "Comparison": "studies",
    "compare_schedules": "studies",
    "budget_study": "studies",
    "batch_size_study": "studies",
    "optimizer_study": "studies",
    "study_settings": "studies",
    "bias_and_variance": "studies",
    # drawing and widgets (matplotlib, ipywidgets)
    "plot_grids": "plots",
    "plot_training": "plots",
    "plot_curves": "plots",
    "mark_lrs": "plots",
    "RangeTestWidget": "widgets",
    "ScheduleWidget": "widgets",
    "TrainingWidget": "widgets",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'lrwidgets' has no attribute {name!r}")
    value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
