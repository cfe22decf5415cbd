"""The schedule picture: the lr (and the momentum) against the step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .style import OKABE_ITO, new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.lines import Line2D
    from matplotlib.text import Text

    from ..core import Schedule


@dataclass
class ScheduleArtists:
    """The lr per step on ``lr_ax`` and, when drawn, the momentum per step on ``momentum_ax``."""

    lr_ax: Axes
    lr: Line2D
    momentum_ax: Axes | None = None
    momentum: Line2D | None = None
    no_momentum: Text | None = None  # shown when the schedule leaves the momentum alone


def draw_schedule(lr_ax: Axes, momentum_ax: Axes | None = None) -> ScheduleArtists:
    """Empty, labelled schedule artists (gids "lr" and "momentum")."""
    (lr,) = lr_ax.plot([], [], color=OKABE_ITO["blue"], lw=2.0, gid="lr")
    lr_ax.set_ylabel("learning rate")
    if momentum_ax is None:
        lr_ax.set_xlabel("step")
    lr_ax.grid(alpha=0.3)
    artists = ScheduleArtists(lr_ax, lr)
    if momentum_ax is not None:
        (artists.momentum,) = momentum_ax.plot(
            [], [], color=OKABE_ITO["vermillion"], lw=2.0, gid="momentum"
        )
        artists.no_momentum = momentum_ax.text(
            0.5, 0.5, "", transform=momentum_ax.transAxes, ha="center", va="center"
        )
        artists.momentum_ax = momentum_ax
        momentum_ax.set_ylabel("momentum")
        momentum_ax.set_xlabel("step")
        momentum_ax.grid(alpha=0.3)
    return artists


def update_schedule(artists: ScheduleArtists, schedule: Schedule) -> None:
    """Draw ``schedule.lr`` (and ``schedule.momentum``) against the step, in place."""
    steps = np.arange(len(schedule))
    artists.lr.set_data(steps, schedule.lr)
    artists.lr_ax.set_title(f"{schedule.name}, {len(schedule)} steps", fontsize="medium")
    artists.lr_ax.relim()
    artists.lr_ax.autoscale_view()
    if artists.momentum_ax is None:
        return
    if schedule.momentum is None:
        artists.momentum.set_data([], [])
        artists.no_momentum.set_text("this schedule leaves the momentum alone")
    else:
        artists.momentum.set_data(steps, schedule.momentum)
        artists.no_momentum.set_text("")
        artists.momentum_ax.relim()
        artists.momentum_ax.autoscale_view()


def clear_schedule(artists: ScheduleArtists, why: str = "no schedule") -> None:
    """Empty the picture (the controls describe no schedule), so no stale one stays in view."""
    artists.lr.set_data([], [])
    artists.lr_ax.set_title(why, fontsize="medium")
    if artists.momentum_ax is not None:
        artists.momentum.set_data([], [])
        artists.no_momentum.set_text("")


def plot_schedule(
    schedule: Schedule, ax: Axes | None = None, momentum_ax: Axes | None = None
) -> Axes:
    """Plot a schedule's lr per step; with no ``ax``, a new figure with the momentum below."""
    if ax is None:
        ax, momentum_ax = new_axes(2, figsize=(6.0, 5.0), sharex=True)
    update_schedule(draw_schedule(ax, momentum_ax), schedule)
    return ax
