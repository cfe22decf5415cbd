"""Run long work (a range test, training) from Python or from a Run button.

- ``run()`` does the work now, in the caller's thread, and raises what it raises (after
  showing the message in the widget): for scripts, tests and notebook cells.
- The Run button calls ``start()``: the same work in a background thread, so the notebook
  stays responsive while the progress bar moves and the plot updates. Errors are shown in the
  message box, never as a traceback (the exception is kept in ``error`` for debugging).
- ``prepare()``, when given, runs first and always in the caller's thread, before the work
  starts: whatever must be read from the learner's objects (a private copy of their model) is
  read there, never concurrently with the learner's next cell.
- Stop sets a flag; the work reads ``stop_requested`` (the training callback returns it).
- While a run is going on, another Run click is ignored and ``run()`` raises RuntimeError.
- When Python exits (a script ends, a kernel shuts down) during a background run, the run is
  asked to stop and joined (up to ``EXIT_TIMEOUT`` seconds) before the interpreter goes away,
  so it ends cleanly instead of aborting in the middle of a torch call.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from collections.abc import Callable

import ipywidgets

from .messages import MessageBox

STOPPED = "stopped"  # how a run ended by the Stop button reads (not "stopped by callback")

EXIT_TIMEOUT = 30.0  # seconds a background run gets to finish its step when Python exits
_background_runners: weakref.WeakSet[Runner] = weakref.WeakSet()


@atexit.register
def stop_background_runs() -> None:
    """At exit: ask every background run to stop, then wait for each to end."""
    runners = list(_background_runners)
    for runner in runners:
        runner.stop()
    for runner in runners:
        runner.join(EXIT_TIMEOUT)


class Runner:
    """Run / Stop buttons, a progress bar, and the thread for ``work()``."""

    def __init__(
        self,
        work: Callable[[], None],
        message: MessageBox,
        prepare: Callable[[], None] | None = None,
    ) -> None:
        self.work = work
        self.prepare = prepare
        self.message = message
        self.run_button = ipywidgets.Button(description="Run", button_style="primary", icon="play")
        self.stop_button = ipywidgets.Button(description="Stop", icon="stop", disabled=True)
        self.progress = ipywidgets.IntProgress(value=0, min=0, max=1)
        self.widget = ipywidgets.HBox([self.run_button, self.stop_button, self.progress])
        self.run_button.on_click(lambda _: self.start())
        self.stop_button.on_click(lambda _: self.stop())
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._busy = False

    @property
    def running(self) -> bool:
        return self._busy

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        """Ask the running work to stop after its current step."""
        self._stop.set()

    def set_progress(self, done: int, total: int | None = None) -> None:
        if total is not None:
            self.progress.max = max(total, 1)
        self.progress.value = min(done, self.progress.max)

    def run(self) -> None:
        """Do the work now; raise RuntimeError if a run is already going on."""
        if not self._claim():
            raise RuntimeError("a run is already going on: press Stop or wait for it to end")
        self._execute(prepare=True, reraise=True)

    def start(self) -> bool:
        """Prepare here, then do the work in a background thread; False (and nothing done) if a
        run is already going on."""
        if not self._claim():
            return False
        if self.prepare is not None and not self._execute(prepare=True, work=False):
            return True  # the message says why nothing runs
        self.thread = threading.Thread(target=self._execute, name="lrwidgets-run", daemon=True)
        _background_runners.add(self)
        self.thread.start()
        return True

    def join(self, timeout: float | None = None) -> None:
        """Wait for the background run to end."""
        if self.thread is not None:
            self.thread.join(timeout)

    def _claim(self) -> bool:
        """Become the one run going on (False if there is one already)."""
        with self._lock:
            if self._busy:
                return False
            self._busy = True
        self._stop.clear()  # here, not in the thread: a Stop right after Run must count
        self.error = None
        self.message.clear()
        self.run_button.disabled = True
        self.stop_button.disabled = False
        return True

    def _execute(self, prepare: bool = False, work: bool = True, reraise: bool = False) -> bool:
        """Prepare and/or work; on an error show it and end the run. True if all went well."""
        ok = False
        try:
            if prepare and self.prepare is not None:
                self.prepare()
            if work:
                self.work()
            ok = True
        except Exception as error:
            self.error = error
            self.message.show_error(error)
            if reraise:
                raise
        finally:
            if work or not ok:  # the run is over (after a prepare alone, the work follows)
                self._release()
        return ok

    def _release(self) -> None:
        self.run_button.disabled = False
        self.stop_button.disabled = True
        self._busy = False
