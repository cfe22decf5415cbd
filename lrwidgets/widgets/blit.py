"""Redraw one Axes of a figure, not the whole figure: what makes the beta slider follow the hand.

Rendering a whole range-test figure takes about 100-200 ms (two panels, tick labels, legends);
a beta move only changes the lines of the loss Axes (and now and then a suggestion's entry in
its legend). So the figure is rendered
once with those left out, kept as a picture (a *background*, matplotlib's ``copy_from_bbox``),
and a change pastes the background back and draws only what changed over it (blitting):

- ``lines``: the background holds the Axes' frame, ticks, grid, labels and legend; the Axes'
  lines are drawn over it (a few ms). One is kept per legend seen (up to ``KEEP``), valid
  while the Axes' limits, scales and titles and the figure's layout stay as they were.
- ``legend``: new legend entries (a suggestion moved): the legend is drawn over the saved
  frame (the Axes without lines and legend), then the lines.
- ``axes``: the background holds everything but the Axes; the whole Axes is drawn over it (its
  ticks too, so its limits may change: a raw-loss toggle). Valid while the layout stays.
- otherwise the whole figure is rendered and both backgrounds are taken again.

The caller sends the result (ipympl's ``canvas.blit()`` sends the changed pixels at once).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from matplotlib.backends.backend_agg import FigureCanvasAgg

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def axes_key(ax: Axes) -> tuple:
    """What the Axes' frame, ticks, grid and labels depend on, besides the layout."""
    titles = tuple(ax.get_title(loc) for loc in ("left", "center", "right"))
    return ax.get_xlim(), ax.get_ylim(), ax.get_xscale(), ax.get_yscale(), titles


def legend_entries(ax: Axes) -> tuple:
    legend = ax.get_legend()
    return tuple(t.get_text() for t in legend.get_texts()) if legend is not None else ()


class Blitter:
    """The backgrounds of one Axes of ``figure`` (see the module docstring)."""

    KEEP = 8  # backgrounds with a legend kept: a slider going back and forth finds its own

    def __init__(self, figure: Figure) -> None:
        self.figure = figure
        self.axes: Axes | None = None
        self.axes_bg = self.frame_bg = None
        self.layout = self.frame_for = None
        self.with_legend: dict[tuple, object] = {}  # legend entries -> background
        self.last = ""  # how the last redraw went: "lines", "legend", "axes" or "figure"

    def forget(self) -> None:
        """The figure changed outside the Axes (a new run): take new backgrounds next time."""
        self.axes_bg = self.frame_bg = None
        self.with_legend = {}

    def redraw(self, ax: Axes, layout: tuple) -> None:
        """Bring the canvas's pixels up to date with ``ax``, redrawing as little as the
        backgrounds allow; ``layout`` is the figure's layout key (``layout_key``)."""
        canvas = self.figure.canvas
        if ax is not self.axes or layout != self.layout:
            self.axes, self.layout = ax, layout
            self.forget()
        entries, lines, legend = legend_entries(ax), list(ax.lines), ax.get_legend()
        if self.frame_bg is not None and self.frame_for == axes_key(ax):
            if entries in self.with_legend:
                canvas.restore_region(self.with_legend[entries])
                self.last = "lines"
            else:
                canvas.restore_region(self.frame_bg)
                self._keep_legend(ax, entries, legend)
                self.last = "legend"
        else:
            if self.axes_bg is None:
                with hidden([ax]):
                    FigureCanvasAgg.draw(canvas)  # render only; the caller sends
                self.axes_bg = canvas.copy_from_bbox(self.figure.bbox)
                self.last = "figure"
            else:
                canvas.restore_region(self.axes_bg)
                self.last = "axes"
            with hidden(lines + ([legend] if legend is not None else [])):
                ax.draw(canvas.get_renderer())
            self.frame_bg, self.frame_for = canvas.copy_from_bbox(self.figure.bbox), axes_key(ax)
            self.with_legend = {}
            self._keep_legend(ax, entries, legend)
        for artist in sorted(lines, key=lambda a: a.get_zorder()):
            if artist.get_visible():
                ax.draw_artist(artist)

    def _keep_legend(self, ax: Axes, entries: tuple, legend) -> None:
        """Draw the legend over the frame and keep that as the background for these entries
        (a legend below the Axes never overlaps the lines drawn over it)."""
        if legend is not None:
            ax.draw_artist(legend)
        if len(self.with_legend) >= self.KEEP:
            self.with_legend.pop(next(iter(self.with_legend)))
        self.with_legend[entries] = self.figure.canvas.copy_from_bbox(self.figure.bbox)


class hidden:
    """Leave ``artists`` out of the next renders (matplotlib skips animated artists)."""

    def __init__(self, artists: list) -> None:
        self.artists = artists

    def __enter__(self) -> None:
        for artist in self.artists:
            artist.set_animated(True)

    def __exit__(self, *exc) -> None:
        for artist in self.artists:
            artist.set_animated(False)
