"""Make the README's widget screenshots: JupyterLab in headless Chromium, one PNG per widget.

    python docs/screenshots.py            # writes docs/img/*.png

It reuses the browser test's helpers (``tests/browser_helpers.py``): a JupyterLab server on a free
localhost port, a notebook that builds and runs each widget, and the system Chromium driven by
Playwright. Each screenshot is of one cell's output, i.e. exactly what a learner sees.
"""

from __future__ import annotations

import argparse
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
    canvas_ink,
    launch_browser,
    wait_until,
)

MAX_BYTES = 300_000

# (file name, the cell's code); every cell leaves its widget as the cell's value.
SHOTS = [
    (
        "range_test_widget.png",
        "from lrwidgets.widgets import RangeTestWidget, ScheduleWidget, TrainingWidget\n\n"
        'rt = RangeTestWidget(problem="digits-mlp", method="minimum")\n'
        "rt.run()\n"
        "rt",
    ),
    ("schedule_widget.png", "sw = ScheduleWidget(total_steps=600, range_test=rt)\nsw"),
    (
        "training_widget.png",
        'tw = TrainingWidget(problem="digits-mlp", schedule=sw, epochs=8, neighbours=True)\n'
        "tw.run()\n"
        "tw",
    ),
]


def build_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code) for _, code in SHOTS]
    return nb


def wait_for_figures(page, count: int, timeout: float = 60.0) -> None:
    """Wait until ``count`` ipympl figures are on the page and every one has been drawn."""
    canvases = page.locator(IPYMPL_CANVAS)
    wait_until(
        lambda: (
            canvases.count() >= count
            and all(canvas_ink(canvases.nth(i)) > 2000 for i in range(canvases.count()))
        ),
        timeout,
        message=f"{count} drawn figures",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img")
    parser.add_argument("--width", type=int, default=1000, help="browser viewport width (px)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    t0 = time.monotonic()
    with LabServer() as lab:
        name = lab.write_notebook(build_notebook(), "screenshots.ipynb")
        pw, browser = launch_browser()
        try:
            nb = NotebookPage(browser, lab, name, viewport=(args.width, 1200)).open()
            try:
                # Give the notebook the whole width: fold the file browser away.
                nb.page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
                nb.run_all(timeout=300)
                errors = nb.error_outputs()
                if errors:
                    print("cells show errors:\n" + "\n---\n".join(errors), file=sys.stderr)
                    return 1
                page = nb.page
                # Move the pointer away so no toolbar or tooltip is drawn over a figure.
                page.mouse.move(0, 0)
                wait_for_figures(page, len(SHOTS))
                cells = page.locator(".jp-Notebook .jp-CodeCell")
                for i, (filename, _) in enumerate(SHOTS):
                    output = cells.nth(i).locator(".jp-OutputArea-output").last
                    output.scroll_into_view_if_needed()
                    path = args.out / filename
                    output.screenshot(path=str(path), animations="disabled")
                    size = path.stat().st_size
                    print(f"{path.relative_to(REPO)}: {size / 1000:.0f} kB")
                    if size > MAX_BYTES:
                        print(f"  larger than {MAX_BYTES / 1000:.0f} kB", file=sys.stderr)
                        return 1
            finally:
                nb.close()
        finally:
            browser.close()
            pw.stop()
    print(f"done in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
