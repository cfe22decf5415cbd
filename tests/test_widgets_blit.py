"""Blitting: a reading control of RangeTestWidget redraws the loss axes alone, and the pixels are
those of a whole render (lrwidgets/widgets/blit.py)."""

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from lrwidgets.widgets import RangeTestWidget


@pytest.fixture(scope="module")
def widget():
    w = RangeTestWidget("spirals", seed=0, num_iter=60, end_lr=1.0, backend="ipympl")
    w.run()
    canvas = w.figure.canvas
    canvas.syncing_data_url = False  # as when a browser has taken the canvas
    canvas.sent = []
    canvas.send = lambda *args, **kwargs: canvas.sent.append(kwargs.get("buffers"))
    yield w
    w.close()


def pixels(canvas):
    return np.asarray(canvas.get_renderer().buffer_rgba()).copy()


def differs_from_a_whole_render(w):
    """How many pixels the canvas shows differently from a render of the whole figure."""
    shown = pixels(w.figure.canvas)
    FigureCanvasAgg.draw(w.figure.canvas)
    return int((shown != pixels(w.figure.canvas)).any(-1).sum())


def test_a_beta_move_redraws_the_lines_alone_and_sends_them(widget):
    w = widget
    w.beta.value = 0.95  # first change: both backgrounds are taken
    w.beta.value = 0.951
    assert w.view.blitter.last == "lines"
    sent = len(w.figure.canvas.sent)
    w.beta.value = 0.9
    assert w.view.blitter.last == "lines" and len(w.figure.canvas.sent) == sent + 1
    # The lines are drawn over the frame's edges rather than under them: a few dozen pixels.
    assert differs_from_a_whole_render(w) < 100


def test_limits_that_move_redraw_the_whole_axes_and_pins_redraw_over_the_background(widget):
    w = widget
    w.beta.value = 0.98
    w.show_raw.value = not w.show_raw.value  # the raw dip leaves (or enters) the view
    assert w.view.blitter.last in ("axes", "figure")
    assert differs_from_a_whole_render(w) < 100
    w.show_raw.value = not w.show_raw.value
    w.pin()
    assert w.view.blitter.last in ("lines", "legend", "axes", "figure")
    assert differs_from_a_whole_render(w) < 100
    w.clear_pins()
