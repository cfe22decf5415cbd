"""A matplotlib figure inside a widget layout, with the backend chosen automatically.

- ``"ipympl"``: the figure's canvas *is* an ipywidget (``ipympl.backend_nbagg.Canvas``); a
  redraw is ``draw_idle()``, which only tells the front-end to fetch a new image. Interactive
  (zoom, pan) in JupyterLab and Notebook 7.
- ``"inline"``: a plain Agg figure rendered to PNG into an ``ipywidgets.Image`` on every redraw.
  Works wherever ipywidgets do (VS Code, nbconvert, a front-end without ipympl).

``backend=None`` picks ipympl when it is installed. The figure is never registered with pyplot:
``plt.show()`` does not show it again and ``plt.get_fignums()`` does not grow, and pyplot's own
backend is left as it was.
"""

from __future__ import annotations

import importlib.util
import io
import math
import sys
import threading
import time
import warnings
from typing import TYPE_CHECKING

import ipywidgets
import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes

from ..core.checks import check_choice
from .blit import Blitter
from .controls import close_tree

BACKENDS = ("ipympl", "inline")


def ipympl_available() -> bool:
    return importlib.util.find_spec("ipympl") is not None


def resolve_backend(backend: str | None) -> str:
    """``"ipympl"`` or ``"inline"``; None picks ipympl when it is installed."""
    if backend is None:
        return "ipympl" if ipympl_available() else "inline"
    check_choice("backend", backend, BACKENDS)
    if backend == "ipympl" and not ipympl_available():
        raise ValueError("backend='ipympl' needs the ipympl package; use backend='inline'")
    return backend


def import_ipympl() -> tuple[type, type]:
    """ipympl's ``Canvas`` and ``FigureManager`` classes.

    ``import ipympl`` calls ``matplotlib.use("module://ipympl.backend_nbagg")`` when matplotlib
    is already imported, which would switch pyplot's backend under the learner's feet
    (``%matplotlib inline`` figures would turn into widgets). We put the backend back.
    """
    if "ipympl.backend_nbagg" not in sys.modules:
        before = matplotlib.get_backend()
        fallback = matplotlib.rcParams["backend_fallback"]
        importlib.import_module("ipympl.backend_nbagg")
        if matplotlib.get_backend() != before:
            matplotlib.use(before)
        matplotlib.rcParams["backend_fallback"] = fallback
    from ipympl.backend_nbagg import Canvas, FigureManager

    return Canvas, FigureManager


def locked_canvas(Canvas: type, figure: SharedFigure):
    """An ipympl canvas whose ``draw()`` (render, then send the image to the front-end) holds
    the figure's lock from start to end, so a final draw from a run's thread and a redraw the
    front-end asked for in the kernel's thread never interleave (one would send an image
    rendered half by the other)."""

    class LockedCanvas(Canvas):
        def draw(self) -> None:
            with self.figure.lock:
                super().draw()

    return LockedCanvas(figure)


class SharedFigure(Figure):
    """A Figure that a training thread updates while the front-end may ask ipympl, in the
    kernel's main thread, for a new image: artists change under ``lock``, and drawing takes
    the lock too, so no image shows a line whose x and y disagree in length."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lock = threading.RLock()

    def draw(self, renderer) -> None:
        with self.lock:
            super().draw(renderer)


def layout_key(figure: Figure) -> tuple:
    """What the layout depends on: the figure's size, and per Axes its scales, x limits,
    titles, the width of its y tick labels and its legend (rows, roughly its width). Data
    moving, or y limits whose tick labels are as wide, leave it unchanged."""
    key: list = [tuple(figure.get_size_inches())]
    for ax in figure.axes:
        legend = ax.get_legend()
        texts = [t.get_text() for t in legend.get_texts()] if legend is not None else []
        widest = max((len(t) for t in texts), default=0)
        titles = tuple(ax.get_title(loc) for loc in ("left", "center", "right"))
        key.append((ax.get_xscale(), ax.get_yscale(), ax.get_xlim(), titles))
        key.append(((len(texts) + 1) // 2, widest // 8, ax.get_xlabel(), ax.get_ylabel()))
        key.append(tick_label_width(ax))
    return tuple(key)


def tick_label_width(ax: Axes) -> int:
    """The longest y tick label of ``ax``, in characters: the room the layout gives them."""
    axis = ax.yaxis
    low, high = sorted(ax.get_ylim())
    locs = [x for x in axis.get_majorticklocs() if low <= x <= high]
    return max((len(t) for t in axis.get_major_formatter().format_ticks(locs)), default=0)


class FigureView:
    """A ``Figure`` (``.figure``) and the widget that shows it (``.widget``).

    Call ``draw()`` after changing artists; ``close()`` when the figure is replaced or its
    widget closes. While training, redraw only when ``due()``: at most every ``min_interval``
    seconds, and never spending more than a third of the time drawing (a PNG render can take
    longer than a training step).
    """

    def __init__(self, figsize: tuple[float, float], backend: str | None = None) -> None:
        self.backend = resolve_backend(backend)
        self.min_interval = 0.2
        self._last_end = -math.inf
        self._last_cost = 0.0
        self.figure = SharedFigure(figsize=figsize, layout="constrained")
        self._layout_key: tuple | None = None
        self.blitter = Blitter(self.figure)
        if self.backend == "ipympl":
            Canvas, FigureManager = import_ipympl()
            canvas = locked_canvas(Canvas, self.figure)
            with warnings.catch_warnings():  # ipympl's Toolbar passes traitlets an extra argument
                warnings.filterwarnings(
                    "ignore", "Passing unrecognized arguments", DeprecationWarning
                )
                FigureManager(canvas, 0)  # handles the front-end's messages (resize, zoom, ...)
            canvas.header_visible = False
            self.widget = canvas
        else:
            FigureCanvasAgg(self.figure)
            self.widget = ipywidgets.Image(format="png")

    def draw(self, now: bool = False, only: Axes | None = None, live: bool = False) -> None:
        """Show the figure's current state: ask the front-end to redraw, or render the PNG.

        ``now=True`` (the last frame of a run) renders and sends the image at once. ipympl's
        ``draw_idle`` only asks the front-end to ask for an image, and the front-end drops
        that request while it still waits for the previous image: a run's last request,
        made from the run's thread while the kernel renders a live frame, would be lost and
        the browser would keep showing a curve from the middle of the run. (Before a
        front-end shows the figure, ``draw_idle`` is enough: it asks for a frame when it starts.)

        ``only``: nothing changed outside this Axes (a reading control moved): with ipympl,
        redraw it over a saved background and send the changed pixels at once (``Blitter``).
        ``live``: a frame while a run goes on keeps the layout it finds (``lay_out`` costs as
        much as a render, and the run's last frame lays the figure out again).
        """
        with self.figure.lock:
            if not live or self._layout_key is None:
                self.lay_out()
            start = time.perf_counter()  # what a redraw costs, the layout aside
            shown = self.backend == "ipympl" and self.front_end_ready()
            if shown and only is not None:
                self.blitter.redraw(only, self._layout_key)
                self.figure.canvas.blit()  # ipympl sends the pixels that changed
            elif shown and now:
                self.blitter.forget()
                self.figure.canvas.draw()
            elif self.backend == "ipympl":
                self.blitter.forget()
                self.figure.canvas.draw_idle()
            else:
                png = io.BytesIO()
                self.figure.savefig(png, format="png")
                self.widget.value = png.getvalue()
        self._last_end = time.perf_counter()
        self._last_cost = self._last_end - start

    def front_end_ready(self) -> bool:
        """Whether a browser shows the ipympl canvas and takes images (it said "initialized").
        Before that, ipympl would store a frame sent unasked as a broken image; the front-end
        asks for a frame when it starts, so there is nothing to send yet."""
        return not getattr(self.figure.canvas, "syncing_data_url", True)

    def lay_out(self, force: bool = False) -> None:
        """Place the Axes, legends and titles (constrained layout) when the figure's structure
        has changed since the last time (``layout_key``), then freeze them: a redraw that only
        moves data (a beta move) renders without recomputing the layout, which costs about
        half of a whole render, and two renders of the same state give the same pixels."""
        key = layout_key(self.figure)
        if (key == self._layout_key and not force) or not self.figure.axes:
            return
        self.figure.set_layout_engine("constrained")
        engine = self.figure.get_layout_engine()
        for _ in range(2):  # the second pass settles what the first moved
            engine.execute(self.figure)
        self.figure.set_layout_engine("none")
        self._layout_key = key

    def due(self) -> bool:
        """Whether a live redraw is due (see the class docstring)."""
        wait = max(self.min_interval, 2.0 * self._last_cost)
        return time.perf_counter() - self._last_end >= wait

    def close(self) -> None:
        """Close the widget (and ipympl's toolbar widget); the figure is then garbage."""
        toolbar = getattr(self.widget, "toolbar", None)
        close_tree(self.widget)
        if toolbar is not None:
            close_tree(toolbar)
