"""Real-browser tests: JupyterLab in headless Chromium, driven as a learner would use it.

A JupyterLab server runs on a free localhost port with token auth and a private root directory
holding a copy of the notebook under test. Playwright drives the system Chromium (never a
downloaded one): open the notebook, run all cells, then look at and click what a person would.

Run only these with ``pytest -m browser``; CI installs Chromium (see ``.ci/run``). When Chromium is
missing the tests fail with a message saying how to install it: they are never skipped.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from browser_helpers import (
    BrowserSetupError,
    LabServer,
    NotebookPage,
    canvas_png,
    launch_browser,
    press_slider_key,
    progress_percent,
    slider_value,
    wait_until,
    widget_slider,
)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"

# Bounds (seconds) for the waits below; they are ceilings, not sleeps.
RUN_ALL_TIMEOUT = 120
RUN_BUTTON_TIMEOUT = 90
REDRAW_TIMEOUT = 30


@pytest.fixture(scope="module")
def lab():
    try:
        server = LabServer().start()
    except BrowserSetupError as err:
        pytest.fail(str(err), pytrace=False)
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def browser():
    try:
        pw, chromium = launch_browser()
    except BrowserSetupError as err:
        pytest.fail(str(err), pytrace=False)
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


def _assert_no_errors(nb: NotebookPage, lab: LabServer) -> None:
    errors = nb.error_outputs()
    assert not errors, "cells show errors:\n" + "\n---\n".join(errors) + _diagnostics(nb, lab)


def _wait_canvas_changes(page, before: bytes, timeout: float) -> bytes:
    return wait_until(
        lambda: (png := canvas_png(page)) != before and png,
        timeout=timeout,
        message="the figure to be redrawn",
    )


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
        page.get_by_text("finished", exact=True).wait_for(timeout=RUN_BUTTON_TIMEOUT * 1000)
        wait_until(lambda: progress_percent(progress) >= 100.0, 10, message="progress at 100%")

        before = canvas_png(page)
        value_before = slider_value(slider)
        press_slider_key(slider, "ArrowRight", times=20)
        wait_until(lambda: slider_value(slider) != value_before, 10, message="slider to move")
        _wait_canvas_changes(page, before, REDRAW_TIMEOUT)
        _assert_no_errors(page_nb, lab)
    finally:
        page_nb.close()
