"""Every state of RangeTestWidget's reading controls draws a true picture (issue 14 of DESIGN).

Two problems (digits-mlp, spirals; seed 0), both sweeps (exp, linear), and every combination
of debias x all three conventions x raw x smoothed x four betas: 64 states per run, 256 in all.
In each, on the figure's artists: at least 90% of every smoothed curve drawn is inside the
axes, the raw loss's dip is inside, the suggestion markers sit on a drawn curve inside the
axes (hidden when no curve is drawn), something is drawn whenever something is ticked, and
the summary's numbers are those of the current beta.
"""

import itertools
import re

import numpy as np
import pytest

from lrwidgets.plots import SHOWN_FRACTION, format_lr, loss_limits
from lrwidgets.plots.view import loss_range
from lrwidgets.widgets import RangeTestWidget

PROBLEMS = ("digits-mlp", "spirals")
MODES = ("exp", "linear")
BETAS = (0.5, 0.9, 0.98, 0.999)
STATES = list(itertools.product((True, False), repeat=4))  # debias, conventions, raw, smoothed


@pytest.fixture(scope="module", params=list(itertools.product(PROBLEMS, MODES)), ids=str)
def widget(request):
    problem, mode = request.param
    w = RangeTestWidget(problem, mode=mode, seed=0)
    w.run()
    yield w
    w.close()


def inside(ax, x, y):
    """Which points (x, y) are inside the Axes' limits."""
    (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
    x, y = np.asarray(x, float), np.asarray(y, float)
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


def on_line(line, x, y, log_x):
    """Whether (x, y) lies on ``line`` (interpolated as the markers are: in log lr)."""
    xs, ys = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
    at = np.interp(np.log(x) if log_x else x, np.log(xs) if log_x else xs, ys)
    return np.isclose(at, y, rtol=1e-9, atol=1e-12)


def check_picture(w, state):
    ax, artists, result = w.artists.loss_ax, w.artists, w.result
    debias, conventions, raw, smoothed = state
    drawn = [line for line in ax.lines if line.get_visible() and len(line.get_xdata())]
    curves = [line for line in artists.smoothed.values() if line.get_visible()]
    assert len(curves) == (3 if conventions else 1) * smoothed, state
    if raw or smoothed:  # never an empty plot while something is ticked
        assert any(inside(ax, line.get_xdata(), line.get_ydata()).any() for line in drawn)
    for line in curves:
        y = np.asarray(line.get_ydata(), float)
        keep = np.isfinite(y)
        share = inside(ax, np.asarray(line.get_xdata())[keep], y[keep]).mean()
        assert share >= SHOWN_FRACTION, (state, line.get_gid(), share, ax.get_ylim())
    if raw:
        dip = int(np.nanargmin(result.losses))
        assert inside(ax, result.lrs[dip], result.losses[dip]), (state, ax.get_ylim())
    markers = [m for m in artists.suggestions.values() if m.get_visible()]
    if not (raw or smoothed):
        assert markers == []
        return
    assert markers, state
    main = artists.smoothed["debiased" if debias else "biased"]
    carrier = main if smoothed else artists.raw  # the markers' curve, and it is drawn
    assert carrier.get_visible()
    for marker in markers:
        (x,), (y,) = marker.get_xdata(), marker.get_ydata()
        assert inside(ax, x, y), (state, marker.get_gid(), y, ax.get_ylim())
        assert on_line(carrier, x, y, result.mode == "exp"), (state, marker.get_gid())


def check_summary(w, beta):
    result, text = w.result, w.summary.value
    skips = dict(skip_start=w.skip_start.value, skip_end=w.skip_end.value)
    found = result.suggestions(beta, warn=False, **skips)
    lr = found.get(w.method.value)
    assert f"suggests <b>{format_lr(lr) if lr is not None else 'nothing'}</b>" in text
    assert f"(beta={beta:.3g})" in text
    if result.stop_reason and result.stop_reason.startswith("diverged"):
        curve = result.smoothed(beta)
        curve = curve[np.isfinite(curve)]
        numbers = re.search(r"at beta=(\S+) it ends at ([-+.\de]+), its best is ([-+.\de]+)", text)
        assert numbers is not None, text
        assert numbers.groups() == (f"{beta:.3g}", f"{curve[-1]:.4g}", f"{curve.min():.4g}")


@pytest.mark.parametrize("beta", BETAS)
def test_every_state_draws_a_true_picture(widget, beta):
    w = widget
    w.beta = beta
    for state in STATES:
        w.debias, w.show_conventions, w.show_raw, w.show_smoothed = state
        check_picture(w, state)
        check_summary(w, beta)


def test_result_plot_uses_the_same_view_as_the_widget(widget):
    w = widget
    w.beta, w.debias, w.show_conventions = 0.99, False, False
    w.show_raw, w.show_smoothed = True, True
    ax = w.result.plot(beta=0.99, debias=False)  # a fresh picture: the rule's limits
    biased = w.result.smoothed(0.99, debias=False)
    markers = [m.get_ydata()[0] for m in ax.lines if m.get_gid().startswith("suggestion")]
    markers = [y for m, y in zip(ax.lines, markers, strict=False) if m.get_visible()] or markers
    needed = loss_range([biased], w.result.diverge_th, raw=[w.result.losses], points=markers)
    assert ax.get_ylim() == loss_limits(
        [biased], w.result.diverge_th, raw=[w.result.losses], points=markers
    )
    low, high = w.artists.loss_ax.get_ylim()  # the widget's: the same rule, kept steady
    assert low <= needed[0] and high >= needed[1]
    assert ax.get_xlim() == w.artists.loss_ax.get_xlim()
