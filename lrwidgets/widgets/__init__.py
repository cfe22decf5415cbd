"""Jupyter widgets: ipywidgets + matplotlib (ipympl when installed, else a PNG image).

- ``RangeTestWidget``: run a range test, re-smooth it, read the suggestions.
- ``ScheduleWidget``: one-cycle, cyclical or constant schedules, linked to a range test.
- ``TrainingWidget``: train with the schedule next to constant learning rates.

Each widget is an ``ipywidgets.VBox``: leave it as a cell's value to show it. Its controls are
attributes named after what they set (``w.beta``, ``w.start_lr``, ...), its figure is
``w.figure``, ``w.run()`` runs synchronously, and ``w.close()`` closes it all.
"""

from .figure import BACKENDS
from .range_test import RangeTestWidget
from .schedule import ScheduleWidget
from .training import TrainingWidget

__all__ = ["BACKENDS", "RangeTestWidget", "ScheduleWidget", "TrainingWidget"]
