"""Matplotlib drawings of the results of ``core``, ``training`` and ``studies``, one picture per
module: ``range_test`` (with ``view``, the rule for the loss axes' limits), ``schedule``,
``training`` and ``studies``; ``style`` holds the colours and names they share.

Each widget picture comes in two steps, so a widget can redraw in place instead of building a
new figure on every change: ``draw_*(ax, ...)`` creates empty, labelled artists (Line2D) on
given Axes; ``update_*(artists, ...)`` puts data into them (``set_data``), nothing else.
``plot_*`` do both at once for a notebook cell. Every number drawn comes from the result,
schedule or history passed in.
"""

from .range_test import (
    CurveView,
    RangeTestArtists,
    describe_stop,
    draw_range_test,
    plot_range_test,
    update_range_test,
)
from .schedule import ScheduleArtists, clear_schedule, draw_schedule, plot_schedule, update_schedule
from .studies import align_lr_axes, mark_lrs, plot_curves, plot_grids, plot_setting_study
from .style import OKABE_ITO, RUN_COLORS, format_lr, new_axes, show_or_hide
from .training import (
    TrainingArtists,
    draw_training,
    plot_training,
    update_training,
    validation_metric,
    validation_values,
)
from .view import SHOWN_FRACTION, loss_limits

__all__ = [
    "OKABE_ITO",
    "RUN_COLORS",
    "SHOWN_FRACTION",
    "CurveView",
    "RangeTestArtists",
    "ScheduleArtists",
    "TrainingArtists",
    "align_lr_axes",
    "clear_schedule",
    "describe_stop",
    "draw_range_test",
    "draw_schedule",
    "draw_training",
    "format_lr",
    "loss_limits",
    "mark_lrs",
    "new_axes",
    "plot_curves",
    "plot_grids",
    "plot_range_test",
    "plot_schedule",
    "plot_setting_study",
    "plot_training",
    "show_or_hide",
    "update_range_test",
    "update_schedule",
    "update_training",
    "validation_metric",
    "validation_values",
]
