"""Drive JupyterLab in headless Chromium, for the browser tests and ``docs/screenshots.py``.

A :class:`LabServer` runs ``jupyter lab`` on a free localhost port with token auth, in a private
root directory and with private settings (no news pop-ups, every cell kept in the page so the
checks can see them). :func:`launch_browser` starts the system Chromium through the ``playwright``
package (never a downloaded browser). :class:`NotebookPage` wraps one open notebook with the waits
a test needs.

Every wait follows the work instead of a fixed budget that a busy machine can exceed: it waits
for what a person waits for (the kernel idle, an element present, a progress bar at its end)
and fails only after ``timeout`` seconds in which nothing moved: the kernel was idle and the
progress it watches did not change (``wait_until``). ``MAX_WAIT`` bounds any one wait.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--headless"]

# User settings written into the server's private settings directory.
LAB_SETTINGS = {
    # No "would you like to receive news?" toast over the notebook.
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    # Keep every cell in the DOM so selectors see all outputs, however long the notebook.
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

# Text that means a widget or an output failed to render.
RENDER_ERRORS = ("Error displaying widget", "Error rendering output", "Failed to load model class")


# The longest any one wait may take, however busy the kernel stays (a hung kernel must end).
MAX_WAIT = 30 * 60


class BrowserSetupError(RuntimeError):
    """The browser or the server could not be started; the message says how to fix it."""


class BrowserMissing(BrowserSetupError):
    """No Chromium, or no ``playwright`` package: the browser tests cannot run here."""


def skip_or_fail(error: BrowserSetupError) -> None:
    """In a test: skip with the reason when the browser is missing on a person's machine; fail
    when it is missing under CI (the environment variable ``CI`` set: CI installs Chromium, so a
    skip there would hide that the browser tests never ran), and fail on any other setup error."""
    import pytest

    if isinstance(error, BrowserMissing) and not os.environ.get("CI"):
        pytest.skip(f"browser tests need Chromium: {error}")
    pytest.fail(str(error), pytrace=False)


def find_chromium() -> str:
    """Path of the system Chromium, or raise :class:`BrowserSetupError` saying how to install it."""
    override = os.environ.get("LRWIDGETS_CHROMIUM")
    candidates = ([override] if override else []) + list(CHROMIUM_CANDIDATES)
    for path in candidates:
        if path and Path(path).is_file() and os.access(path, os.X_OK):
            return path
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    raise BrowserMissing(
        "Chromium not found (looked at "
        + ", ".join(candidates)
        + " and PATH). Install it with `apt-get install chromium`, or point LRWIDGETS_CHROMIUM "
        "at a Chromium binary. The browser test never downloads a browser."
    )


def exit_on_sigterm() -> None:
    """Turn SIGTERM (e.g. from ``timeout``) into SystemExit, so that ``finally`` blocks and
    fixtures still stop the server and the browser. Only where nobody handles SIGTERM yet."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """``jupyter lab`` in a subprocess on 127.0.0.1, with a random token and a temporary root.

    Use as a context manager; :meth:`stop` always terminates the server and its kernels.
    """

    def __init__(self, startup_timeout: float = 90.0):
        self.startup_timeout = startup_timeout
        self.tmp = Path(tempfile.mkdtemp(prefix="lrwidgets-lab-"))
        self.root = self.tmp / "root"
        self.root.mkdir()
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.tmp / "server.log"
        self.proc: subprocess.Popen | None = None
        self._log = None

    # -- files -------------------------------------------------------------------------------
    def add_notebook(self, source: str | Path, name: str | None = None) -> str:
        """Copy a notebook into the server's root directory; return its name there."""
        source = Path(source)
        name = name or source.name
        shutil.copyfile(source, self.root / name)
        return name

    def write_notebook(self, nb, name: str) -> str:
        import nbformat

        nb.metadata.setdefault("kernelspec", dict(KERNELSPEC))
        nbformat.write(nb, self.root / name)
        return name

    # -- lifecycle -----------------------------------------------------------------------------
    def _write_settings(self) -> dict:
        settings = self.tmp / "lab-settings"
        for plugin, values in LAB_SETTINGS.items():
            package, name = plugin.rsplit("/", 1)
            folder = settings / package
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{name}.jupyterlab-settings").write_text(json.dumps(values))
        env = dict(os.environ)
        env.pop("MPLBACKEND", None)  # let the notebook pick ipympl as a person's would
        env.update(
            JUPYTER_CONFIG_DIR=str(self.tmp / "config"),
            JUPYTER_RUNTIME_DIR=str(self.tmp / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(self.tmp / "workspaces"),
            PYTHONUNBUFFERED="1",
        )
        return env

    def start(self) -> LabServer:
        exit_on_sigterm()
        env = self._write_settings()
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=",
        ]
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.root,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() also ends the kernels
        )
        deadline = time.monotonic() + self.startup_timeout
        status = f"{self.url}/api/status?token={self.token}"
        while True:
            if self.proc.poll() is not None:
                raise BrowserSetupError(
                    f"jupyter lab exited with code {self.proc.returncode}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(status, timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise BrowserSetupError(
                    f"jupyter lab did not answer within {self.startup_timeout:.0f} s:\n"
                    + self.log_tail()
                )
            time.sleep(0.25)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def log_tail(self, n: int = 40) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no server log)"
        return "\n".join(lines[-n:])

    def notebook_url(self, name: str, workspace: str | None = None) -> str:
        """URL that opens ``name`` alone, in a fresh workspace (nothing restored from before)."""
        workspace = workspace or f"w{secrets.token_hex(6)}"
        return f"{self.url}/lab/workspaces/{workspace}/tree/{name}?reset&token={self.token}"

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.cleanup()


def launch_browser():
    """Start Playwright and the system Chromium; return ``(playwright, browser)`` to close later."""
    executable = find_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as err:  # pragma: no cover - dev dependency
        raise BrowserMissing("the `playwright` Python package is not installed") from err
    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True, timeout=60_000
        )
    except Exception as err:
        pw.stop()
        raise BrowserSetupError(f"could not start Chromium at {executable}: {err}") from err
    return pw, browser


# JavaScript run in the page. ``window.jupyterapp`` exists because of expose_app_in_browser.
_JS_NOTEBOOK_READY = """
async (name) => {
  const app = window.jupyterapp;
  if (!app) return false;
  const w = app.shell.currentWidget;
  if (!w || !w.context || w.context.path !== name) return false;
  await w.context.ready;
  await w.sessionContext.ready;
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  return !!kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
}
"""

_JS_ALL_CELLS_RAN = """
() => {
  const app = window.jupyterapp;
  const w = app.shell.currentWidget;
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')];
  return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}
"""


class NotebookPage:
    """One notebook open in JupyterLab, in a fresh browser page."""

    def __init__(self, browser, server: LabServer, name: str, viewport=(1400, 1000)):
        self.server = server
        self.name = name
        self.context = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}, device_scale_factor=1
        )
        self.page = self.context.new_page()
        self.console_errors: list[str] = []
        self.page.on(
            "console",
            lambda msg: self.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        self.page.on("pageerror", lambda err: self.console_errors.append(f"pageerror: {err}"))

    def open(self, timeout: float = 90.0) -> NotebookPage:
        self.page.goto(self.server.notebook_url(self.name), timeout=timeout * 1000)
        self.page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout * 1000)
        # A notebook without kernel metadata asks which kernel to start: accept the default,
        # as a person would. The check is a cheap look, not a wait.
        dialog = self.page.locator(".jp-Dialog", has_text="Select Kernel")
        if dialog.count():
            dialog.locator(".jp-mod-accept").click()
        self.page.wait_for_function(_JS_NOTEBOOK_READY, arg=self.name, timeout=timeout * 1000)
        return self

    def run_all(self, timeout: float = 120.0) -> NotebookPage:
        """Run all cells (the Run menu's command) and wait until every code cell has a number
        and the kernel is idle. The wait follows the work: it fails only after ``timeout`` s
        in which the kernel was idle and no cell finished."""
        self.page.wait_for_function(_JS_NOTEBOOK_READY, arg=self.name, timeout=timeout * 1000)
        # Clear the stored prompts first ("[1]:" saved in the file would read as already run),
        # then start the run without awaiting its promise: the wait below follows the work.
        self.page.evaluate(
            """async () => {
              const commands = window.jupyterapp.commands;
              await commands.execute('notebook:clear-all-cell-outputs');
              commands.execute('notebook:run-all-cells');
              return true;
            }"""
        )
        try:
            wait_until(
                lambda: self.page.evaluate(_JS_ALL_CELLS_RAN),
                timeout,
                interval=0.25,
                message=f"the cells of {self.name} to run",
                busy=self.kernel_busy,
                progress=self.prompts,
            )
        except TimeoutError as err:
            raise TimeoutError(f"{err}: {self.state()}") from err
        return self

    def prompts(self) -> list[str]:
        """The input prompts of the code cells ("[ ]:", "[*]:", "[3]:")."""
        return self.page.evaluate(
            "() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]"
            ".map(p => p.textContent)"
        )

    def kernel_busy(self) -> bool:
        """The kernel is running a cell (or has one queued)."""
        return bool(
            self.page.evaluate(
                """() => {
                  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                  const s = w && w.sessionContext;
                  const k = s && s.session && s.session.kernel;
                  const queued = [...document.querySelectorAll(
                    '.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
                    .some(p => p.textContent.includes('*'));
                  return (!!k && k.status === 'busy') || queued;
                }"""
            )
        )

    def state(self) -> str:
        """Kernel status and input prompts, for failure messages."""
        return str(
            self.page.evaluate(
                """() => {
                  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                  const s = w && w.sessionContext;
                  const k = s && s.session && s.session.kernel;
                  const prompts = [...document.querySelectorAll(
                    '.jp-Notebook .jp-CodeCell .jp-InputPrompt')].map(p => p.textContent);
                  return {path: w && w.context && w.context.path,
                          kernel: k ? [k.connectionStatus, k.status] : null, prompts};
                }"""
            )
        )

    def error_outputs(self) -> list[str]:
        """Text of every error/stderr output and every widget that failed to render."""
        found = []
        for el in self.page.query_selector_all(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
        ):
            found.append(el.inner_text())
        text = self.page.inner_text(".jp-Notebook")
        for marker in RENDER_ERRORS:
            if marker in text:
                found.append(f"the notebook shows {marker!r}")
        return found

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the browser may already be gone
            self.context.close()


IPYMPL_CANVAS = ".jupyter-matplotlib-canvas-div canvas:first-child"


def canvas_png(page, index: int = 0, within=None) -> str | None:
    """The pixels matplotlib drew on the ``index``-th ipympl figure, as a PNG data URL.

    Read from the canvas itself, so the toolbar that fades in over a hovered figure does not
    count. ``within`` (a locator) restricts the search to one part of the page.
    """
    scope = within if within is not None else page
    canvases = scope.locator(IPYMPL_CANVAS)
    if canvases.count() <= index:
        return None
    return canvases.nth(index).evaluate("c => c.toDataURL('image/png')")


def settled_canvas_png(page, within=None, quiet: float = 1.0, timeout: float = 30.0) -> str:
    """``canvas_png`` once the figure has stopped changing for ``quiet`` seconds.

    Take the "before" picture with this: ipympl sends a redraw a little after the work that
    asked for it, and a late image must not pass for the effect of the next action.
    """
    last, since = canvas_png(page, within=within), time.monotonic()
    deadline = since + timeout
    while time.monotonic() - since < quiet:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the figure kept changing for {timeout:.0f} s")
        time.sleep(0.1)
        now = canvas_png(page, within=within)
        if now != last:
            last, since = now, time.monotonic()
    return last


def canvas_ink(canvas) -> int:
    """How many pixels of a canvas (a locator) are not white: 0 for a figure never drawn."""
    return canvas.evaluate(
        """(c) => {
          if (!c.width || !c.height) return 0;
          const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let ink = 0;
          for (let i = 0; i < data.length; i += 4) {
            if (data[i + 3] > 0 && (data[i] < 250 || data[i + 1] < 250 || data[i + 2] < 250)) ink++;
          }
          return ink;
        }"""
    )


def wait_until(
    predicate,
    timeout: float,
    interval: float = 0.2,
    message: str = "condition",
    busy=None,
    progress=None,
):
    """Poll ``predicate`` until it returns something truthy, following the work.

    ``timeout`` counts only the time in which nothing moved: the count starts again whenever
    ``busy()`` is true (the kernel is working) or ``progress()`` returns a new value (a progress
    bar, the cells run so far). TimeoutError after ``timeout`` s without either, or after
    ``MAX_WAIT`` s in all.
    """
    start = time.monotonic()
    deadline = start + timeout
    seen = progress() if progress is not None else None
    while True:
        value = predicate()
        if value:
            return value
        now = time.monotonic()
        moved = busy is not None and busy()
        if progress is not None and (current := progress()) != seen:
            seen, moved = current, True
        if moved:
            deadline = now + timeout
        if now > deadline or now - start > MAX_WAIT:
            raise TimeoutError(
                f"waited {now - start:.0f} s for {message}, the last {timeout:.0f} s without "
                "any progress"
            )
        time.sleep(interval)


def wait_for_text(scope, text, timeout: float, busy=None, progress=None):
    """Wait (as ``wait_until``) until ``scope`` (a page or locator) shows ``text`` (a string,
    matched exactly, or a compiled regex)."""
    found = (
        scope.get_by_text(text, exact=True) if isinstance(text, str) else scope.get_by_text(text)
    )
    wait_until(found.count, timeout, message=f"the text {text!r}", busy=busy, progress=progress)


# -- ipywidgets as a person sees them -------------------------------------------------------------
def widget_slider(page, label: str, within=None):
    """The ipywidgets slider whose description reads ``label``, optionally inside ``within``."""
    return widget_labelled(page, "widget-slider", label, within)


def slider_value(slider) -> str:
    return slider.locator(".widget-readout").first.inner_text().strip()


def type_slider_value(slider, value) -> None:
    """Type ``value`` into a slider's readout box and press Enter, as a person can."""
    readout = slider.locator(".widget-readout").first
    readout.click()
    readout.press("Control+a")
    readout.type(str(value))
    readout.press("Enter")


def press_slider_key(slider, key: str = "ArrowRight", times: int = 1) -> None:
    """Focus a slider's handle and press ``key`` ``times`` times (keyboard dragging)."""
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    for _ in range(times):
        handle.press(key)


def progress_percent(progress) -> float:
    """Width of an ipywidgets progress bar, in percent (0 when it has none yet)."""
    style = progress.locator(".progress-bar").first.get_attribute("style") or ""
    for part in style.split(";"):
        key, _, value = part.partition(":")
        if key.strip() == "width" and value.strip().endswith("%"):
            return float(value.strip()[:-1])
    return 0.0


def widget_labelled(page, kind: str, label: str, within=None):
    """The ipywidgets control of class ``kind`` (e.g. "widget-text", "widget-dropdown") whose
    description reads ``label``."""
    scope = within if within is not None else page
    exact = re.compile(rf"^\s*{re.escape(label)}\s*$")
    return scope.locator(f".{kind}").filter(has=page.locator("label.widget-label", has_text=exact))


def set_widget_text(page, label: str, value, within=None) -> None:
    """Type ``value`` into the IntText/FloatText/Text box described ``label`` and press Enter."""
    box = widget_labelled(page, "widget-text", label, within).locator("input").first
    box.fill(str(value))
    box.press("Enter")


def select_widget_option(page, label: str, option: str, within=None) -> None:
    """Pick ``option`` in the Dropdown described ``label``."""
    widget_labelled(page, "widget-dropdown", label, within).locator("select").first.select_option(
        label=option
    )


def kernel_execute(page, code: str) -> None:
    """Run ``code`` in the open notebook's kernel, without a cell (as a silent request), and
    wait until the kernel has run it."""
    page.evaluate(
        """async (code) => {
          const w = window.jupyterapp.shell.currentWidget;
          const kernel = w.sessionContext.session.kernel;
          await kernel.requestExecute({code, store_history: false}).done;
          return true;
        }""",
        code,
    )
