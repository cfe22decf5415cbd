"""How long from a key press on RangeTestWidget's controls to the first changed pixel of its plot,
in JupyterLab in headless Chromium? Run by hand: ``python benchmarks/bench_slider_latency.py``.

A JupyterLab server and the system Chromium (``tests/browser_helpers.py``) open a notebook that
runs a range test (digits-mlp, seed 0) in a RangeTestWidget. Each trial, timed on the browser's
clock (``performance.now()``):

- start: the ``keydown`` event of the key press (Playwright presses the key, as a person would);
- end: the first ``drawImage`` onto the figure's canvas after which its pixels differ from
  those before the key press (ipympl draws every image it receives onto that canvas).

Cases: ArrowRight / ArrowLeft on the beta slider's handle (beta 0.980 <-> 0.981); the same with
two pinned curves; Space on the "raw loss" checkbox (on, off). Between trials the figure must be
still for ``--quiet`` seconds. Prints the median and the 90th percentile of each case, and the
machine's load average, since other work on the machine slows everything down.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from browser_helpers import (  # noqa: E402
    IPYMPL_CANVAS,
    LabServer,
    NotebookPage,
    kernel_execute,
    launch_browser,
    wait_until,
    widget_slider,
)

CELL = """\
import torch
torch.set_num_threads(1)
from lrwidgets.widgets import RangeTestWidget
w = RangeTestWidget("digits-mlp", seed=0)
w.run()
w
"""
PIN_TWO = "w.pin(); w.seed.value = 1; w.run(); w.pin(); w.seed.value = 2; w.run()"

# Installed before each key press: remember the canvas's pixels, then time the key press and
# the first drawImage that changes them.
ARM = """
(canvas) => {
  const ctx = canvas.getContext('2d');
  const pixels = () => new Uint32Array(
    ctx.getImageData(0, 0, canvas.width, canvas.height).data.buffer);
  const before = pixels();
  const probe = {t0: null, t1: null, draws: 0};
  window.__latency = probe;
  document.addEventListener('keydown', () => {
    if (probe.t0 === null) probe.t0 = performance.now();
  }, {capture: true, once: true});
  if (!ctx.__timed) {
    const draw = ctx.drawImage;
    ctx.drawImage = function (...args) {
      draw.apply(this, args);
      const p = window.__latency;
      if (!p || p.t0 === null || p.t1 !== null) return;
      p.draws += 1;
      const now = pixels();
      for (let i = 0; i < now.length; i++) {
        if (now[i] !== p.before[i]) { p.t1 = performance.now(); return; }
      }
    };
    ctx.__timed = true;
  }
  probe.before = before;
  return true;
}
"""
RESULT = "() => { const p = window.__latency; return p && p.t1 !== null ? p.t1 - p.t0 : null; }"
LAST_DRAW = """
(canvas) => {
  const ctx = canvas.getContext('2d');
  if (!ctx.__watched) {
    const draw = ctx.drawImage;
    ctx.drawImage = function (...args) { window.__lastDraw = performance.now();
                                         return draw.apply(this, args); };
    ctx.__watched = true;
  }
  return window.__lastDraw ? performance.now() - window.__lastDraw : 1e9;
}
"""


def settle(page, canvas, quiet: float, timeout: float = 60.0) -> None:
    """Wait until no image has reached the canvas for ``quiet`` seconds."""
    wait_until(
        lambda: canvas.evaluate(LAST_DRAW) >= 1000 * quiet,
        timeout,
        interval=0.05,
        message="the figure to be still",
    )


def trial(page, canvas, press) -> float:
    """One key press; its latency in ms (browser clock)."""
    canvas.evaluate(ARM)
    press()
    return wait_until(lambda: page.evaluate(RESULT), 30, interval=0.01, message="a new frame")


def measure(page, canvas, presses, n: int, quiet: float) -> list[float]:
    times = []
    for i in range(n):
        settle(page, canvas, quiet)
        times.append(trial(page, canvas, presses[i % len(presses)]))
    return times


def summary(name: str, times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return (
        f"{name:<28} n={len(times):>3}  median {statistics.median(times):6.0f} ms  "
        f"p90 {p90:6.0f} ms  min {ordered[0]:5.0f}  max {ordered[-1]:5.0f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30, help="key presses per case")
    parser.add_argument("--quiet", type=float, default=0.4, help="still seconds between trials")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with LabServer() as lab:
        nb_file = nbformat.v4.new_notebook()
        nb_file.cells = [nbformat.v4.new_code_cell(CELL)]
        name = lab.write_notebook(nb_file, "latency.ipynb")
        pw, browser = launch_browser()
        try:
            nb = NotebookPage(browser, lab, name, viewport=(1400, 1400)).open()
            page = nb.page
            nb.run_all(timeout=300)
            output = page.locator(".jp-Notebook .jp-CodeCell .jp-OutputArea-output").last
            canvas = output.locator(IPYMPL_CANVAS).first
            canvas.wait_for(state="visible")
            canvas.scroll_into_view_if_needed()
            handle = widget_slider(page, "beta", within=output).locator(".noUi-handle").first
            raw = output.locator(".widget-checkbox", has_text="raw loss").locator("input").first
            slider = [lambda: handle.press("ArrowRight"), lambda: handle.press("ArrowLeft")]
            toggle = [lambda: raw.press("Space")]
            handle.focus()
            results = [("beta slider", measure(page, canvas, slider, args.trials, args.quiet))]
            raw.focus()
            results.append(("raw toggle", measure(page, canvas, toggle, args.trials, args.quiet)))
            kernel_execute(page, PIN_TWO)
            handle.focus()
            pinned = measure(page, canvas, slider, args.trials, args.quiet)
            results.append(("beta slider, two pins", pinned))
            nb.close()
        finally:
            browser.close()
            pw.stop()
    after = os.getloadavg()
    print("latency from key press to the first changed pixel of the plot (browser clock)")
    for name, times in results:
        print(summary(name, times))
    print(
        f"load average (1 min) {load[0]:.1f} before, {after[0]:.1f} after, "
        f"on {os.cpu_count()} CPUs; {time.strftime('%Y-%m-%d')}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
