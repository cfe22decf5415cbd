"""The code-free dashboard, in headless Chromium: ``python -m lrwidgets dashboard`` serves
notebooks/00_dashboard.ipynb with Voila; the page shows the three linked widgets and no code, a
training Run completes, moving beta redraws the range test's figure, and the kernels of closed
pages are shut down while an open page keeps its own.

Marker ``browser``, like tests/test_browser.py: without Chromium it is skipped with the reason,
except under CI (``CI`` set), where it fails.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from browser_helpers import (
    IPYMPL_CANVAS,
    BrowserSetupError,
    canvas_ink,
    canvas_png,
    exit_on_sigterm,
    free_port,
    launch_browser,
    press_slider_key,
    set_widget_text,
    settled_canvas_png,
    skip_or_fail,
    slider_value,
    wait_until,
    widget_slider,
)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
PAGE_TIMEOUT = 120  # Voila runs the notebook (a 100-step range test) before the page shows
RUN_TIMEOUT = 90
CLOSED_PAGES = 4
FREED_WITHIN = 150  # s after the pages close (the measure: <= 450 MB of kernels left)


@pytest.fixture(scope="module")
def dashboard():
    """The dashboard command on a free port; yields its URL; stops Voila and its kernel."""
    exit_on_sigterm()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    env.pop("MPLBACKEND", None)
    command = [sys.executable, "-m", "lrwidgets", "dashboard", "--port", str(port), "--no-browser"]
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )

        def log_text() -> str:
            log.seek(0)
            return log.read()

        try:
            wait_until(
                lambda: "running at" in log_text() or proc.poll() is not None,
                60,
                message="Voila to start",
            )
            assert proc.poll() is None, f"the dashboard command exited:\n{log_text()}"
            yield f"http://localhost:{port}/", log_text, proc.pid
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@pytest.fixture(scope="module")
def page(dashboard):
    url, log_text, _ = dashboard
    try:
        pw, chromium = launch_browser()
    except BrowserSetupError as err:
        skip_or_fail(err)
    context = chromium.new_context(viewport={"width": 1600, "height": 1200})
    try:
        page = context.new_page()
        page.goto(url, timeout=PAGE_TIMEOUT * 1000)
        try:
            page.locator(IPYMPL_CANVAS).nth(2).wait_for(timeout=PAGE_TIMEOUT * 1000)
        except Exception as err:
            raise AssertionError(
                f"no third figure on the page; Voila's log:\n{log_text()}"
            ) from err
        yield page
    finally:
        context.close()
        chromium.close()
        pw.stop()


def test_shows_the_three_widgets_drawn_and_no_code(page):
    canvases = page.locator(IPYMPL_CANVAS)
    assert canvases.count() == 3  # range test, schedule, training
    for i in range(3):
        wait_until(lambda i=i: canvas_ink(canvases.nth(i)) > 2000, 30, message=f"figure {i}")
    text = page.inner_text("body")
    assert "minimum suggests" in text  # the range test ran while the page was built
    assert "OneCycleLR" in page.locator("textarea").first.input_value()  # the schedule's code
    for code in ("RangeTestWidget(", "import ", "range_test.run()"):
        assert code not in text, f"the page shows code: {code!r}"
    assert page.locator(".jp-InputArea-editor, .cm-editor").count() == 0
    assert "Error" not in text and "Traceback" not in text


def test_a_training_run_completes(page):
    set_widget_text(page, "epochs", 2)
    page.get_by_text("= 46 steps").wait_for(timeout=10_000)
    run = page.locator(".jupyter-widgets.widget-button", has_text=re.compile(r"^\s*Run\s*$"))
    assert run.count() == 2  # the range test's and the training's
    run.last.click()
    steps = page.locator("table.lrwidgets-results td", has_text=re.compile(r"^46$"))
    wait_until(lambda: steps.count() == 4, RUN_TIMEOUT, message="4 runs of 46 steps")
    wait_until(run.last.is_enabled, 10, message="the Run button to come back")


def test_moving_beta_redraws_the_range_test(page):
    beta = widget_slider(page, "beta")
    figure = page.locator(".jupyter-matplotlib-figure").first  # the range test's
    before = settled_canvas_png(page, within=figure)
    press_slider_key(beta, "ArrowLeft", times=30)
    wait_until(lambda: slider_value(beta) == "0.950", 10, message="beta to read 0.950")
    wait_until(
        lambda: canvas_png(page, within=figure) != before,
        30,
        message="the range test's figure to be redrawn",
    )
    summary = page.get_by_text(re.compile(r"suggests .* \(beta=0\.95\)"))
    summary.wait_for(timeout=10_000)  # the summary follows the slider, without a new run


def kernels(server: int) -> dict[int, int]:
    """The kernel processes under the process ``server``: pid -> resident memory in bytes
    (read from /proc: Linux)."""
    parents, commands = {}, {}
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            commands[int(entry.name)] = (entry / "cmdline").read_bytes()
        except (ValueError, OSError):
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])

    def under(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == server:
                return True
        return False

    found = {}
    for pid, command in commands.items():
        if b"ipykernel" in command and under(pid):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            found[pid] = 1024 * int(status.split("VmRSS:")[1].split()[0])
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads kernels from /proc")
def test_closed_pages_free_their_kernels_and_an_open_page_keeps_its_own(dashboard, page):
    """Four pages opened and closed (their tabs gone without a word to Voila, as when a browser
    is closed or the connection drops): within FREED_WITHIN s their kernels are shut down; the
    open page's kernel, idle all that time, is kept."""
    url, log_text, server = dashboard
    kept = kernels(server)
    assert len(kept) == 1, kept  # the open page's
    contexts = [page.context.browser.new_context() for _ in range(CLOSED_PAGES)]
    try:
        tabs = [context.new_page() for context in contexts]
        for tab in tabs:  # all four load at once
            tab.goto(url, wait_until="commit", timeout=PAGE_TIMEOUT * 1000)
        for tab in tabs:
            tab.locator(IPYMPL_CANVAS).nth(2).wait_for(timeout=2 * PAGE_TIMEOUT * 1000)
        opened = kernels(server)
        assert len(opened) == 1 + CLOSED_PAGES, opened
    finally:
        for context in contexts:
            context.close()
    closed = time.monotonic()
    while set(kernels(server)) != set(kept) and time.monotonic() - closed < FREED_WITHIN:
        time.sleep(2)
    left = kernels(server)
    freed_after = time.monotonic() - closed
    assert set(left) == set(kept), (
        f"{len(left) - 1} closed pages' kernels ({sum(left.values()) / 2**20:.0f} MB with the "
        f"open page's) still run {freed_after:.0f} s after the pages closed; log:\n{log_text()}"
    )
    print(f"the closed pages' kernels were freed {freed_after:.0f} s after the pages closed")
    assert "Error" not in page.inner_text("body")  # the open page still has its kernel
