"""The course's look: colours, line styles, names, and the small helpers every picture uses.

Colours are the Okabe-Ito palette, which stays distinguishable with the common colour-vision
deficiencies. pyplot is imported only in ``new_axes``, to create a figure for a notebook cell.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.lines import Line2D


# Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
GREY = "#999999"

SMOOTHED_STYLE = {
    "debiased": dict(color=OKABE_ITO["blue"], lw=2.0, ls="-"),
    "biased": dict(color=OKABE_ITO["orange"], lw=1.5, ls="--"),
    "from-first": dict(color=OKABE_ITO["reddish_purple"], lw=1.5, ls="-."),
}
SMOOTHED_NAME = {
    "debiased": "EWMA, debiased",
    "biased": "EWMA from 0, biased",
    "from-first": "EWMA started at the first loss",
}
SUGGESTION_STYLE = {
    "valley": dict(color=OKABE_ITO["black"], marker="o"),
    "slide": dict(color=OKABE_ITO["sky_blue"], marker="D"),
    "minimum": dict(color=OKABE_ITO["vermillion"], marker="v"),
    "steep": dict(color=OKABE_ITO["bluish_green"], marker="^"),
    "steepest": dict(color=OKABE_ITO["reddish_purple"], marker="s"),
}
SUGGESTION_NAME = {
    "valley": "valley",
    "slide": "slide",
    "minimum": "minimum / 10",
    "steep": "steep",
    "steepest": "steepest (torch-lr-finder)",
}
WARNING_COLOR = OKABE_ITO["vermillion"]
RUN_COLORS = (
    OKABE_ITO["blue"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["orange"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["black"],
)


def new_axes(
    nrows: int = 1, figsize: tuple[float, float] = (6.0, 4.0), sharex: bool = False
) -> list[Axes]:
    """A new pyplot figure with ``nrows`` Axes stacked, for a notebook cell."""
    import matplotlib.pyplot as plt

    _, axes = plt.subplots(nrows, 1, figsize=figsize, sharex=sharex, layout="constrained")
    return list(np.atleast_1d(axes))


def format_lr(lr: float) -> str:
    """A learning rate the way the legends and tables write it: 0.0032, 3.2e-05."""
    return f"{lr:.2g}"


def show_or_hide(artist: Line2D, visible: bool, label: str = "") -> None:
    """Show or hide an artist; a hidden one also leaves the legend."""
    artist.set_visible(visible)
    artist.set_label(label if visible else "_hidden")


LEGEND_ENTRIES = 12  # the most entries a legend lists; the rest are counted in "+N more"


def legend_below(ax: Axes, ncols: int = 2, max_entries: int = LEGEND_ENTRIES) -> None:
    """The legend under the Axes (below the x label), where it never covers a curve; a
    constrained-layout figure makes room for it below, never beside, so the curves keep the
    figure's width. At most ``max_entries`` entries, in ``ncols`` columns (one when a label is
    too long for two to fit): the last line says how many more ("+3 more") were left out."""
    from matplotlib.lines import Line2D

    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        if ax.get_legend() is not None:
            ax.get_legend().remove()
        return
    if len(handles) > max_entries:
        more = len(handles) - (max_entries - 1)
        handles = handles[: max_entries - 1] + [Line2D([], [], ls="none")]
        labels = labels[: max_entries - 1] + [f"+{more} more"]
    if max(len(label) for label in labels) > 44:
        ncols = 1
    ax.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.16),
        ncols=ncols,
        fontsize="small",
        frameon=False,
    )
