"""What the widgets share: the figure backend, the runner, the message box, the controls, close."""

import subprocess
import sys
import threading

import ipywidgets
import matplotlib.pyplot as plt
import pytest
from ipywidgets.widgets.widget import _instances

from lrwidgets.widgets import RangeTestWidget, ScheduleWidget, TrainingWidget
from lrwidgets.widgets.controls import log_slider, set_value
from lrwidgets.widgets.figure import FigureView, resolve_backend
from lrwidgets.widgets.messages import MessageBox
from lrwidgets.widgets.runner import Runner


def test_backend_choice():
    assert resolve_backend(None) == "ipympl"  # installed here
    assert resolve_backend("inline") == "inline"
    with pytest.raises(ValueError, match="backend must be one of 'ipympl', 'inline'"):
        resolve_backend("widget")


def test_inline_view_renders_a_png_and_ipympl_view_is_the_canvas_widget():
    inline = FigureView((2, 2), "inline")
    inline.figure.add_subplot().plot([1, 2])
    inline.draw()
    assert isinstance(inline.widget, ipywidgets.Image)
    assert bytes(inline.widget.value).startswith(b"\x89PNG")
    ipympl = FigureView((2, 2), "ipympl")
    assert isinstance(ipympl.widget, ipywidgets.DOMWidget)
    assert ipympl.figure.canvas is ipympl.widget
    ipympl.draw()
    for view in (inline, ipympl):
        view.close()
        assert view.widget.comm is None


def test_live_redraws_wait_at_least_twice_the_last_draw():
    view = FigureView((2, 2), "inline")
    view.min_interval = 0.0
    assert view.due()
    view._last_cost = 60.0  # a (pretend) one-minute render
    view.draw()
    assert not view.due()
    view.close()


def test_drawing_waits_for_an_update_in_progress():
    view = FigureView((2, 2), "ipympl")
    view.figure.add_subplot().plot([1, 2])
    order, holding, release = [], threading.Event(), threading.Event()

    def update():  # a training thread in the middle of moving lines
        with view.figure.lock:
            holding.set()
            release.wait(10)

    def render():  # the front-end asking for an image
        view.figure.canvas.draw()
        order.append("drawn")

    updater = threading.Thread(target=update)
    updater.start()
    holding.wait(10)
    renderer = threading.Thread(target=render)
    renderer.start()
    renderer.join(0.5)
    order.append("released")
    release.set()
    for thread in (updater, renderer):
        thread.join(10)
    assert order == ["released", "drawn"]
    view.close()


def test_ipympl_does_not_switch_pyplots_backend():
    code = (
        "import matplotlib; matplotlib.use('agg'); import matplotlib.pyplot as plt\n"
        "from lrwidgets.widgets.figure import FigureView\n"
        "FigureView((2, 2), 'ipympl')\n"
        "print(matplotlib.get_backend(), plt.get_backend())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["agg", "agg"]


def test_widgets_never_register_figures_with_pyplot_and_close_everything_they_made():
    figures = plt.get_fignums()
    for make in (RangeTestWidget, ScheduleWidget, TrainingWidget):
        for backend in ("ipympl", "inline"):
            before = set(_instances)
            w = make(backend=backend)
            if isinstance(w, ScheduleWidget):
                w.policy.value = "exp_range"  # other controls on screen, rows replaced
            assert plt.get_fignums() == figures
            w.close()
            w.close()  # twice is harmless
            assert set(_instances) == before, f"{make.__name__} left widgets open"


def test_runner_runs_in_the_caller_or_in_a_thread_and_reports_errors():
    message = MessageBox()
    calls = []

    def work():
        calls.append(threading.current_thread())
        raise KeyError("<b>not html</b>")

    runner = Runner(work, message)
    with pytest.raises(KeyError):
        runner.run()
    assert calls[-1] is threading.current_thread()
    assert "KeyError" in message.value and "&lt;b&gt;not html&lt;/b&gt;" in message.value
    message.clear()
    runner.run_button.click()
    runner.join(10)
    assert calls[-1] is not threading.current_thread()
    assert isinstance(runner.error, KeyError) and "KeyError" in message.value
    assert not runner.running and not runner.run_button.disabled and runner.stop_button.disabled


def test_prepare_runs_in_the_callers_thread_before_the_work_and_can_refuse():
    seen = []
    here = threading.current_thread()

    def prepare():
        seen.append(("prepare", threading.current_thread()))
        if len(seen) > 2:
            raise ValueError("start_lr must be < end_lr")

    runner = Runner(
        lambda: seen.append(("work", threading.current_thread())), MessageBox(), prepare
    )
    assert runner.start()
    runner.join(10)
    assert seen[0] == ("prepare", here) and seen[1][0] == "work" and seen[1][1] is not here
    thread = runner.thread
    runner.start()  # prepare refuses: the message says why, no thread starts, buttons come back
    assert runner.thread is thread and len(seen) == 3
    assert "start_lr must be &lt; end_lr" in runner.message.value
    assert not runner.running and not runner.run_button.disabled and runner.stop_button.disabled


def test_stop_right_after_run_is_not_lost():
    started, seen = threading.Event(), []

    def work():
        started.wait(10)
        seen.append(runner.stop_requested)

    runner = Runner(work, MessageBox())
    runner.start()
    runner.stop()
    started.set()
    runner.join(10)
    assert seen == [True]


def test_set_value_refuses_what_a_control_would_clamp():
    slider = ipywidgets.FloatSlider(0.5, min=0.0, max=0.999)
    with pytest.raises(ValueError, match=r"beta must be in \[0.0, 0.999\], got 1.5"):
        set_value(slider, "beta", 1.5)
    with pytest.raises(ValueError, match="mode must be one of 'exp', 'linear'"):
        set_value(ipywidgets.ToggleButtons(options=["exp", "linear"]), "mode", "log")
    with pytest.raises(TypeError, match="debias must be True or False"):
        set_value(ipywidgets.Checkbox(True), "debias", 1)
    with pytest.raises(TypeError, match="num_iter must be an integer"):
        set_value(ipywidgets.IntText(5), "num_iter", 5.5)
    lr = log_slider("lr", 1e-3, low=-4, high=0)
    set_value(lr, "lr", 1e-9)
    assert lr.value == 1e-9 and lr.min == -9
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        set_value(lr, "lr", 0.0)
