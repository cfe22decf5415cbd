"""Real-browser tests: JupyterLab in headless Chromium, driven as a learner would use it.

A JupyterLab server runs on a free localhost port with token auth and a private root directory
holding a copy of the notebook under test. Playwright drives the system Chromium (never a
downloaded one): open the notebook, run all cells, then look at and click what a person would.

Run only these with ``pytest -m browser``. When Chromium (or the ``playwright`` package) is missing
they are skipped with a reason saying how to install it, except under CI (the environment variable
``CI`` set, as ``.ci/run`` does): CI installs Chromium, so there they fail instead of skipping.

Every wait follows the work (``browser_helpers.wait_until``): the bounds below count only time in
which the kernel was idle and nothing moved, so a busy machine slows the tests but does not fail
them.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from browser_helpers import (
    IPYMPL_CANVAS,
    BrowserSetupError,
    LabServer,
    NotebookPage,
    canvas_ink,
    canvas_png,
    kernel_execute,
    launch_browser,
    press_slider_key,
    progress_percent,
    select_widget_option,
    set_widget_text,
    settled_canvas_png,
    skip_or_fail,
    slider_value,
    type_slider_value,
    wait_for_text,
    wait_until,
    widget_slider,
)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"

# Bounds (seconds) for the waits below: time without progress, not sleeps and not budgets.
RUN_ALL_TIMEOUT = 120
RUN_BUTTON_TIMEOUT = 90
REDRAW_TIMEOUT = 30
REACT_TIMEOUT = 10


@pytest.fixture(scope="module")
def lab():
    try:
        server = LabServer().start()
    except BrowserSetupError as err:
        skip_or_fail(err)
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def browser():
    try:
        pw, chromium = launch_browser()
    except BrowserSetupError as err:
        skip_or_fail(err)
    try:
        yield chromium
    finally:
        try:
            chromium.close()
        finally:
            pw.stop()


def _open(browser, lab, name) -> NotebookPage:
    nb = NotebookPage(browser, lab, name)
    try:
        nb.open()
    except Exception:
        nb.close()
        raise
    return nb


def _diagnostics(nb: NotebookPage, lab: LabServer) -> str:
    return (
        f"\n--- browser console errors ---\n{nb.console_errors[-20:]}"
        f"\n--- server log (tail) ---\n{lab.log_tail(20)}"
    )


# A widget's own message box starts with this when it refuses settings or a run fails.
WIDGET_ERROR = "Cannot do that"


def _assert_no_errors(nb: NotebookPage, lab: LabServer) -> None:
    errors = nb.error_outputs()
    if WIDGET_ERROR in nb.page.inner_text(".jp-Notebook"):
        errors.append(f"a widget shows {WIDGET_ERROR!r}")
    assert not errors, "cells show errors:\n" + "\n---\n".join(errors) + _diagnostics(nb, lab)


def _wait_canvas_changes(page, before, timeout: float, within=None, busy=None) -> str:
    return wait_until(
        lambda: (png := canvas_png(page, within=within)) != before and png,
        timeout=timeout,
        message="the figure to be redrawn",
        busy=busy,
    )


def _widget_output(page, code: str):
    """The output area of the code cell whose source contains ``code``."""
    cell = page.locator(".jp-Notebook .jp-CodeCell").filter(has_text=code)
    assert cell.count() == 1, f"expected one cell containing {code!r}, found {cell.count()}"
    return cell.locator(".jp-OutputArea-output").last


def _button(scope, text: str):
    return scope.locator(".jupyter-widgets.widget-button", has_text=re.compile(rf"^\s*{text}\s*$"))


def _wait_drawn(canvas, timeout: float = REDRAW_TIMEOUT) -> None:
    canvas.wait_for(state="visible", timeout=timeout * 1000)
    wait_until(lambda: canvas_ink(canvas) > 2000, timeout, message="the figure to be drawn")


# -- the harness itself, on plain ipywidgets + ipympl ----------------------------------------------
MINIMAL_SETUP = "%matplotlib widget\nimport ipywidgets as W\nimport matplotlib.pyplot as plt\n"
MINIMAL_WIDGET = """\
import numpy as np
x = np.random.default_rng(0).normal(size=200).cumsum()
fig, ax = plt.subplots(figsize=(5, 3))
(line,) = ax.plot(x)
beta = W.FloatSlider(value=0.5, min=0.0, max=0.99, step=0.01, description="beta")
run = W.Button(description="Run")
bar = W.IntProgress(value=0, max=100)
status = W.Label("")

def redraw(change=None):
    avg, ys = 0.0, []
    for v in x:
        avg = beta.value * avg + (1 - beta.value) * v
        ys.append(avg)
    line.set_ydata(ys)
    fig.canvas.draw_idle()

def go(_):
    for i in range(101):
        bar.value = i
    status.value = "finished"

beta.observe(redraw, "value")
run.on_click(go)
redraw()
W.VBox([beta, W.HBox([run, bar, status])])
"""


def test_harness_on_plain_ipywidgets_and_ipympl(lab, browser):
    """The harness sees controls, a canvas, a button's effect and a redraw, on plain widgets."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(MINIMAL_SETUP), nbformat.v4.new_code_cell(MINIMAL_WIDGET)]
    name = lab.write_notebook(nb, "harness.ipynb")
    page_nb = _open(browser, lab, name)
    try:
        page = page_nb.page
        page_nb.run_all(timeout=RUN_ALL_TIMEOUT)
        _assert_no_errors(page_nb, lab)

        slider = widget_slider(page, "beta")
        slider.wait_for(state="visible")
        run = page.locator(".jupyter-widgets.widget-button", has_text="Run")
        run.wait_for(state="visible")
        page.locator(".jupyter-matplotlib-figure canvas").first.wait_for(state="visible")

        progress = page.locator(".widget-hprogress").first
        assert progress_percent(progress) == 0.0
        run.click()
        busy, moving = page_nb.kernel_busy, lambda: progress_percent(progress)
        wait_for_text(page, "finished", RUN_BUTTON_TIMEOUT, busy=busy, progress=moving)
        at_end = lambda: progress_percent(progress) >= 100.0  # noqa: E731
        wait_until(at_end, REACT_TIMEOUT, message="progress at 100%", busy=busy)

        before = canvas_png(page)
        value_before = slider_value(slider)
        press_slider_key(slider, "ArrowRight", times=20)
        moved = lambda: slider_value(slider) != value_before  # noqa: E731
        wait_until(moved, REACT_TIMEOUT, message="slider to move", busy=busy)
        _wait_canvas_changes(page, before, REDRAW_TIMEOUT, busy=busy)
        _assert_no_errors(page_nb, lab)
    finally:
        page_nb.close()


# -- the course's notebooks ------------------------------------------------------------------
def _steps_taken(widget, num_iter: int) -> int:
    """The steps the widget's summary says its last test took: "<taken> of <num_iter> steps"."""
    pattern = re.compile(rf"(\d+) of {num_iter} steps")
    found = widget.get_by_text(pattern).first
    found.wait_for()
    return int(pattern.search(found.inner_text()).group(1))


def test_range_test_notebook(lab, browser):
    """01_range_test: the RangeTestWidget renders, Run completes a new test, beta redraws."""
    name = lab.add_notebook(NOTEBOOKS / "01_range_test.ipynb")
    nb = _open(browser, lab, name)
    try:
        page = nb.page
        nb.run_all(timeout=RUN_ALL_TIMEOUT)
        _assert_no_errors(nb, lab)

        widget = _widget_output(page, "w = RangeTestWidget(")
        beta = widget_slider(page, "beta", within=widget)
        beta.wait_for(state="visible")
        run = _button(widget, "Run")
        run.wait_for(state="visible")
        assert run.is_enabled()
        assert _button(widget, "Stop").is_disabled()
        canvas = widget.locator(IPYMPL_CANVAS).first
        _wait_drawn(canvas)  # w.run() in the cell drew the curve
        progress = widget.locator(".widget-hprogress").first
        # digits blows up before its last step: the bar shows the share of steps taken
        assert progress_percent(progress) == pytest.approx(_steps_taken(widget, 100), abs=0.5)

        # A new, shorter test from the browser: the summary names its length when it is done.
        set_widget_text(page, "num_iter", 60, within=widget)
        before = settled_canvas_png(page, within=widget)
        run.click()
        busy, moving = nb.kernel_busy, lambda: progress_percent(progress)
        wait_for_text(widget, re.compile(r"\d+ of 60 steps"), RUN_BUTTON_TIMEOUT, busy, moving)
        share = 100 * _steps_taken(widget, 60) / 60
        at_end = lambda: abs(progress_percent(progress) - share) < 0.5  # noqa: E731
        wait_until(at_end, REACT_TIMEOUT, message="progress at the steps taken", busy=busy)
        wait_until(run.is_enabled, REACT_TIMEOUT, message="the Run button to come back", busy=busy)
        _wait_canvas_changes(page, before, REDRAW_TIMEOUT, within=widget, busy=busy)

        # A long test, stopped from the browser: Stop ends it early and says so.
        set_widget_text(page, "num_iter", 20000, within=widget)
        stop = _button(widget, "Stop")
        run.click()
        wait_until(stop.is_enabled, 30, message="the Stop button to be enabled", busy=busy)
        started = lambda: 0 < progress_percent(progress) < 100  # noqa: E731
        wait_until(started, 30, message="progress to move", busy=busy)
        stop.click()
        stopped = re.compile(r"of 20000 steps; stopped(?! by callback)")
        wait_for_text(widget, stopped, RUN_BUTTON_TIMEOUT, busy, moving)
        wait_until(run.is_enabled, REACT_TIMEOUT, message="the Run button to come back", busy=busy)
        assert stop.is_disabled()

        # Re-smoothing: type beta = 0.5; the curve and the summary follow, without a new run.
        before = settled_canvas_png(page, within=widget)
        type_slider_value(beta, "0.5")
        reads = lambda text: lambda: slider_value(beta) == text  # noqa: E731
        wait_until(reads("0.500"), REACT_TIMEOUT, message="beta to read 0.500", busy=busy)
        _wait_canvas_changes(page, before, REDRAW_TIMEOUT, within=widget, busy=busy)
        wait_for_text(widget, re.compile(r"beta=0\.5\)"), REDRAW_TIMEOUT, busy)
        # The keyboard moves the slider too.
        before = settled_canvas_png(page, within=widget)
        press_slider_key(beta, "ArrowRight", times=5)
        wait_until(reads("0.505"), REACT_TIMEOUT, message="beta to read 0.505", busy=busy)
        _wait_canvas_changes(page, before, REDRAW_TIMEOUT, within=widget, busy=busy)
        _assert_no_errors(nb, lab)
    finally:
        nb.close()


def test_training_notebook(lab, browser):
    """04_training: the three linked widgets render; the schedule follows the range test's
    suggestion and the training widget's epochs; Run trains every run again."""
    name = lab.add_notebook(NOTEBOOKS / "04_training.ipynb")
    nb = _open(browser, lab, name)
    try:
        page = nb.page
        nb.run_all(timeout=RUN_ALL_TIMEOUT)
        _assert_no_errors(nb, lab)

        range_test = _widget_output(page, "rt = RangeTestWidget(")
        schedule = _widget_output(page, "sw = ScheduleWidget(")
        training = _widget_output(page, "tw = TrainingWidget(")
        for widget in (range_test, schedule, training):
            _wait_drawn(widget.locator(IPYMPL_CANVAS).first)
        code = schedule.locator("textarea").first
        constant_lr = widget_slider(page, "constant lr", within=training)
        table = training.locator("table.lrwidgets-results")
        table.wait_for()
        assert table.locator("tr").count() == 5  # header + schedule + lr, x 3, / 3
        assert "OneCycleLR" in code.input_value()

        # Another suggestion rule in the range test: the schedule's max_lr and the constant lr
        # follow, without running anything.
        code_before, lr_before = code.input_value(), slider_value(constant_lr)
        before = settled_canvas_png(page, within=schedule)
        select_widget_option(page, "suggestion", "valley", within=range_test)  # from minimum
        busy = nb.kernel_busy
        code_moved = lambda: code.input_value() != code_before  # noqa: E731
        wait_until(code_moved, REACT_TIMEOUT, message="the code to follow", busy=busy)
        assert "max_lr=" in code.input_value()
        lr_moved = lambda: slider_value(constant_lr) != lr_before  # noqa: E731
        wait_until(lr_moved, REACT_TIMEOUT, message="lr to follow", busy=busy)
        _wait_canvas_changes(page, before, REDRAW_TIMEOUT, within=schedule, busy=busy)

        # Fewer epochs: the schedule gets exactly that many steps; Run trains every run again.
        set_widget_text(page, "epochs", 2, within=training)
        wait_for_text(training, re.compile("= 46 steps"), REACT_TIMEOUT, busy)
        in_code = lambda: "total_steps=46" in code.input_value()  # noqa: E731
        wait_until(in_code, REACT_TIMEOUT, message="46 steps", busy=busy)
        before = settled_canvas_png(page, within=training)
        _button(training, "Run").click()
        steps = table.locator("td", has_text=re.compile(r"^46$"))
        progress = training.locator(".widget-hprogress").first
        wait_until(
            lambda: steps.count() == 4,
            RUN_BUTTON_TIMEOUT,
            message="4 runs of 46 steps",
            busy=busy,
            progress=lambda: (steps.count(), progress_percent(progress)),
        )
        _wait_canvas_changes(page, before, REDRAW_TIMEOUT, within=training, busy=busy)
        _assert_no_errors(nb, lab)
    finally:
        nb.close()


FIT_CELLS = [
    "from lrwidgets.widgets import RangeTestWidget, TrainingWidget\n"
    'rt = RangeTestWidget(problem="digits-mlp", num_iter=60)\nrt.run()\nrt',
    'tw = TrainingWidget(problem="digits-mlp", epochs=1, neighbours=True)\ntw.run()\ntw',
]


def test_figures_fit_at_1024_px_with_the_file_browser_open(lab, browser):
    """On a 1024 px wide screen with JupyterLab's file browser open, every figure, its last
    decade and its legend included, lies inside the notebook's output area."""
    nb_file = nbformat.v4.new_notebook()
    nb_file.cells = [nbformat.v4.new_code_cell(code) for code in FIT_CELLS]
    name = lab.write_notebook(nb_file, "fit_1024.ipynb")
    nb = NotebookPage(browser, lab, name, viewport=(1024, 800))
    try:
        nb.open()
        page = nb.page
        page.evaluate("() => window.jupyterapp.shell.activateById('filebrowser')")
        nb.run_all(timeout=RUN_ALL_TIMEOUT)
        _assert_no_errors(nb, lab)
        assert page.locator("#jp-left-stack").bounding_box()["width"] > 200  # the browser is open
        cells = page.locator(".jp-Notebook .jp-CodeCell")
        for i in range(len(FIT_CELLS)):
            output = cells.nth(i).locator(".jp-OutputArea-output").last
            canvas = output.locator(IPYMPL_CANVAS).first
            _wait_drawn(canvas)
            area, figure = output.bounding_box(), canvas.bounding_box()
            assert figure["x"] >= area["x"]
            assert figure["x"] + figure["width"] <= area["x"] + area["width"]
    finally:
        nb.close()


PINNED_RUNS_CELL = """\
from lrwidgets.widgets import RangeTestWidget
w = RangeTestWidget("spirals", seed=0, num_iter=100)
w.view.min_interval = 0.0  # live frames as often as they can go: one is in flight at the end
w
"""


def test_the_last_frame_of_every_run_reaches_the_browser_with_growing_pins(lab, browser):
    """Five runs from the Run button, a pin after each: when a run ends, the browser shows the
    kernel's final picture (the curve with its markers and every pin). Checked by asking the
    kernel to render and send its figure again: the image it sends then differs from the one
    the browser shows exactly when the browser missed a frame."""
    nb_file = nbformat.v4.new_notebook()
    nb_file.cells = [nbformat.v4.new_code_cell(PINNED_RUNS_CELL)]
    name = lab.write_notebook(nb_file, "pinned_runs.ipynb")
    nb = _open(browser, lab, name)
    try:
        page = nb.page
        nb.run_all(timeout=RUN_ALL_TIMEOUT)
        widget = _widget_output(page, "w = RangeTestWidget(")
        run, pin = _button(widget, "Run"), _button(widget, "Pin this curve")
        run.wait_for(state="visible")
        busy = nb.kernel_busy
        for round_ in range(1, 6):
            set_widget_text(page, "seed", round_, within=widget)  # a new curve every round
            run.click()
            wait_until(run.is_disabled, REACT_TIMEOUT, message="the run to start", busy=busy)
            wait_until(run.is_enabled, RUN_BUTTON_TIMEOUT, message="the run to end", busy=busy)
            shown = settled_canvas_png(page, within=widget, quiet=2.0)
            kernel_execute(page, "w.view.draw(now=True)")  # the kernel's picture, sent again
            again = settled_canvas_png(page, within=widget, quiet=2.0)
            assert again == shown, f"round {round_}: the browser missed the run's last frame"
            pin.click()
            _wait_canvas_changes(page, again, REDRAW_TIMEOUT, within=widget, busy=busy)
        _assert_no_errors(nb, lab)
    finally:
        nb.close()
