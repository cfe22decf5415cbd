"""Controls set from Python: ``w.beta = 0.5`` sets the slider; a value the parameter does not
allow is refused with its name and range, never clamped; a valid value outside a slider's range
widens the slider so the value stands; the widget stays whole and ``close()`` never raises."""

import ipywidgets
import numpy as np
import pytest

from lrwidgets.core import one_cycle
from lrwidgets.widgets import RangeTestWidget, ScheduleWidget


@pytest.fixture
def w():
    widget = RangeTestWidget("quadratic", backend="inline", num_iter=20)
    yield widget
    widget.close()


def smoothed_line(figure):
    (line,) = [ln for ax in figure.axes for ln in ax.lines if ln.get_gid() == "smoothed-debiased"]
    return line.get_ydata()


def test_assigning_to_a_control_sets_its_value(w):
    w.run()
    slider = w.beta
    w.beta = 0.5
    assert w.beta is slider and slider.value == 0.5
    np.testing.assert_array_equal(smoothed_line(w.figure), w.result.smoothed(0.5))
    w.mode, w.num_iter = "linear", 25
    assert w.run().steps <= 25 and w.result.mode == "linear"


@pytest.mark.parametrize(
    ("name", "value", "error", "match"),
    [
        ("beta", 1.5, ValueError, r"beta must be in \[0, 1\), got 1.5"),
        ("beta", "0.5", TypeError, "beta must be a number"),
        ("start_lr", -1, ValueError, "start_lr must be a finite number > 0, got -1"),
        ("mode", "log", ValueError, "mode must be one of 'exp', 'linear'"),
        ("debias", "no", TypeError, "debias must be True or False"),
        ("beta", ipywidgets.FloatSlider(), TypeError, "beta is a control of this widget"),
    ],
)
def test_a_refused_assignment_says_why_and_leaves_the_control_as_it_was(
    w, name, value, error, match
):
    before = getattr(w, name).value
    with pytest.raises(error, match=match):
        setattr(w, name, value)
    assert getattr(w, name).value == before
    assert isinstance(getattr(w, name), ipywidgets.ValueWidget)


def test_after_refused_assignments_the_widget_still_runs_and_closes(w):
    for name, value in [("beta", 1.5), ("beta", ipywidgets.FloatSlider()), ("num_iter", 2.5)]:
        with pytest.raises((ValueError, TypeError)):
            setattr(w, name, value)
    assert w.run().steps == 20
    w.close()
    w.close()  # twice is harmless


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("start_lr", -1, "start_lr must be a finite number > 0"),
        ("start_lr", 0.0, "start_lr must be a finite number > 0"),
        ("end_lr", float("inf"), "end_lr must be a finite number > 0"),
        ("beta", 1.5, r"beta must be in \[0, 1\)"),
        ("beta", -0.1, r"beta must be in \[0, 1\)"),
    ],
)
def test_an_out_of_range_value_is_refused_not_clamped(w, name, value, match):
    before = getattr(w, name).value
    with pytest.raises(ValueError, match=match):
        getattr(w, name).value = value
    assert getattr(w, name).value == before


def test_a_valid_value_outside_a_sliders_range_stands(w):
    w.end_lr.value = 1e5  # the slider went up to 1e2
    w.beta.value = 0.9995  # the slider went up to 0.999
    assert w.end_lr.value == 1e5 and w.end_lr.max >= 5
    assert w.beta.value == 0.9995 and w.beta.max >= 0.9995
    result = w.run()
    assert result.planned_lrs[-1] == 1e5 and result.beta == 0.9995


def test_schedule_controls_widen_or_refuse():
    s = ScheduleWidget(total_steps=100, backend="inline")
    s.max_lr.value = 100.0  # the slider went up to 10
    assert s.max_lr.value == 100.0
    np.testing.assert_array_equal(s.schedule.lr, one_cycle(100, 100.0).lr)
    for value in (0, 1, 1.2):
        with pytest.raises(ValueError, match=r"pct_start must be in \(0, 1\)"):
            s.pct_start.value = value
    assert s.pct_start.value == 0.3
    with pytest.raises(ValueError, match=r"max_momentum must be in \[0, 1\)"):
        s.max_momentum = 1.0
    s.pct_start = 0.005  # valid for one_cycle, below the slider's 0.01
    assert s.schedule.params["pct_start"] == 0.005
    s.close()


def test_close_never_raises_even_with_a_control_knocked_out(w):
    w.__dict__["beta"] = 0.5  # bypasses the guard, as a careless subclass might
    w.close()
