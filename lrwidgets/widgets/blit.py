"""Redraw one Axes of a figure, not the whole figure: what makes the beta slider follow the hand.

Rendering a whole range-test figure takes about 100-200 ms (two panels, tick labels, legends);
a beta move only changes the lines of the loss Axes (and now and then a suggestion's entry in
its legend). So the figure is rendered
once with those left out, kept as a picture (a *background*, matplotlib's ``copy_from_bbox``),
and a change pastes the background back and draws only what changed over it (blitting):

- ``lines``: the background holds the Axes' frame, ticks, grid, labels and legend; the Axes'
  lines are drawn over it (a few ms). Valid while the Axes' limits, scales, titles and legend
  entries and the figure's layout stay as they were when it was taken.
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
    """What the ``lines`` background of ``ax`` depends on, besides the layout: limits, scales,
    titles and the legend's entries (the legend is part of that background)."""
    titles = tuple(ax.get_title(loc) for loc in ("left", "center", "right"))
    legend = ax.get_legend()
    entries = tuple(t.get_text() for t in legend.get_texts()) if legend is not None else ()
    return ax.get_xlim(), ax.get_ylim(), ax.get_xscale(), ax.get_yscale(), titles, entries


def dynamic_artists(ax: Axes) -> list:
    """The artists a beta move changes: the Axes' lines (a legend below the Axes never
    overlaps them, so it can stay in the background while its entries read the same)."""
    return list(ax.lines)


class Blitter:
    """The two backgrounds of one Axes of ``figure`` (see the module docstring)."""

    def __init__(self, figure: Figure) -> None:
        self.figure = figure
        self.axes: Axes | None = None
        self.axes_bg = self.lines_bg = None
        self.layout = self.lines_for = None
        self.last = ""  # how the last redraw went: "lines", "axes" or "figure", for tests

    def forget(self) -> None:
        """The figure changed outside the Axes (a new run): take new backgrounds next time."""
        self.axes_bg = self.lines_bg = None

    def redraw(self, ax: Axes, layout: tuple) -> None:
        """Bring the canvas's pixels up to date with ``ax``, redrawing as little as the
        backgrounds allow; ``layout`` is the figure's layout key (``layout_key``)."""
        canvas = self.figure.canvas
        if ax is not self.axes or layout != self.layout:
            self.axes, self.layout = ax, layout
            self.forget()
        if self.lines_bg is not None and self.lines_for == axes_key(ax):
            canvas.restore_region(self.lines_bg)
            self._draw_over(ax, dynamic_artists(ax))
            self.last = "lines"
            return
        if self.axes_bg is None:
            with hidden([ax]):
                FigureCanvasAgg.draw(canvas)  # render only; the caller sends
            self.axes_bg = canvas.copy_from_bbox(self.figure.bbox)
            self.last = "figure"
        else:
            canvas.restore_region(self.axes_bg)
            self.last = "axes"
        renderer = canvas.get_renderer()
        dynamic = dynamic_artists(ax)
        with hidden(dynamic):
            ax.draw(renderer)
        self.lines_bg = canvas.copy_from_bbox(self.figure.bbox)
        self.lines_for = axes_key(ax)
        self._draw_over(ax, dynamic)

    def _draw_over(self, ax: Axes, artists: list) -> None:
        for artist in sorted(artists, key=lambda a: a.get_zorder()):
            if artist.get_visible():
                ax.draw_artist(artist)


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
