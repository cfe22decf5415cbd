"""What every lrwidgets widget shares: it is a VBox holding its controls and its figure, and
``close()`` closes everything it made, so re-running a notebook cell does not pile up figures."""

from __future__ import annotations

import threading

import ipywidgets

from .controls import close_tree
from .figure import FigureView
from .messages import MessageBox
from .runner import Runner


class LRWidget(ipywidgets.VBox):
    """Base class: ``view`` (a FigureView), ``figure``, ``message`` and, for widgets that run
    long work, ``runner`` (its buttons: ``run_button``, ``stop_button``, ``progress``)."""

    view: FigureView
    runner: Runner | None = None

    def _setup(self, figsize: tuple[float, float], backend: str | None) -> None:
        self.view = FigureView(figsize, backend)
        self.figure = self.view.figure
        self.message = MessageBox()
        self.draw_lock = threading.RLock()  # the worker thread and the controls both draw

    def _setup_runner(self, work) -> None:
        self.runner = Runner(work, self.message)
        self.run_button = self.runner.run_button
        self.stop_button = self.runner.stop_button
        self.progress = self.runner.progress

    def close(self) -> None:
        """Stop a run, then close the figure and every control of this widget."""
        if self.runner is not None:
            self.runner.stop()
            if self.runner.thread is not threading.current_thread():
                self.runner.join(timeout=30)
        self.view.close()
        for child in self.children:
            close_tree(child)
        super().close()
