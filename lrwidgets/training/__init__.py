"""Training mechanics with torch: the range test, fit with a schedule, devices and batching,
optimizers, and saving and restoring what a run touches. ``run.py`` holds the frame both runs
share (seeding, held-out data, placement, progress bar, putting back afterwards).

Never imports ipywidgets or pyplot (``RangeTestResult.plot`` imports ``lrwidgets.plots`` lazily).
Importing it sets torch's threads to the CPUs the process may really use (``threads.py``).
"""

from .data import resolve_device, steps_per_epoch
from .fit import History, fit
from .optimizers import OPTIMIZERS, make_optimizer
from .range_test import range_test, repeat_range_test
from .result import RangeTestResult
from .threads import available_cpus, use_available_cpus

use_available_cpus()

__all__ = [
    "History",
    "OPTIMIZERS",
    "RangeTestResult",
    "available_cpus",
    "fit",
    "make_optimizer",
    "range_test",
    "repeat_range_test",
    "resolve_device",
    "steps_per_epoch",
    "use_available_cpus",
]
