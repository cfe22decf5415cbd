"""What every lrwidgets widget shares: it is a VBox holding its controls and its figure, and
``close()`` closes everything it made, so re-running a notebook cell does not pile up figures.

Its controls are attributes named after what they set, and assigning to one sets the control:
``w.beta = 0.5`` is ``w.beta.value = 0.5`` (checked, ValueError/TypeError naming ``beta`` when
not allowed); putting another object in a control's place is refused, so the widget stays whole.
"""

from __future__ import annotations

import threading
from typing import Any

import ipywidgets

from ..training.data import is_tensor_pair
from .controls import close_tree, set_value
from .figure import FigureView
from .messages import MessageBox
from .runner import Runner


def check_custom_parts(model: Any, data: Any, loss_fn: Any, step_fn: Any, **more: Any) -> None:
    """Your own model comes as ``model=`` and ``data=`` together; ``loss_fn=``, ``step_fn=``
    and the ``more`` parts (``optimizer=``, ...) only with them; ``loss_fn`` or ``step_fn``,
    not both. ValueError otherwise."""
    if (model is None) != (data is None):
        raise ValueError("a custom problem needs both model= and data=")
    parts = {"loss_fn": loss_fn, "step_fn": step_fn, **more}
    if model is None and any(value is not None for value in parts.values()):
        names = [f"{name}=" for name in parts]
        raise ValueError(f"{', '.join(names[:-1])} and {names[-1]} go with model= and data=")
    if loss_fn is not None and step_fn is not None:
        raise ValueError("pass loss_fn or step_fn, not both: step_fn computes the loss itself")


def check_batch_size_applies(model: Any, data: Any, defaults: dict[str, Any]) -> None:
    """``batch_size`` batches ``(X, y)`` data; a DataLoader (or a list of batches) brings its
    own batches, so a ``batch_size=`` given with one would be ignored: ValueError instead."""
    if model is not None and "batch_size" in defaults and not is_tensor_pair(data):
        raise ValueError(
            f"batch_size applies to data given as (X, y) only; this data "
            f"({type(data).__name__}) brings its own batches: set the batch size where the "
            "batches are made (DataLoader(..., batch_size=16)) and leave batch_size= out"
        )


class LRWidget(ipywidgets.VBox):
    """Base class: ``view`` (a FigureView), ``figure``, ``message`` and, for widgets that run
    long work, ``runner`` (its buttons: ``run_button``, ``stop_button``, ``progress``)."""

    view: FigureView
    runner: Runner | None = None
    CONTROLS: tuple[str, ...] = ()  # the controls keyword arguments can set

    def _setup(self, figsize: tuple[float, float], backend: str | None) -> None:
        self.view = FigureView(figsize, backend)
        self.figure = self.view.figure
        self.message = MessageBox()
        self.draw_lock = self.figure.lock  # the worker thread and the controls both draw

    def _setup_runner(self, work, prepare=None) -> None:
        self.runner = Runner(work, self.message, prepare)
        self.run_button = self.runner.run_button
        self.stop_button = self.runner.stop_button
        self.progress = self.runner.progress

    def __setattr__(self, name: str, value: object) -> None:
        control = self.__dict__.get(name)
        if not isinstance(control, ipywidgets.ValueWidget):
            super().__setattr__(name, value)  # not a control (yet): a plain attribute
        elif isinstance(value, ipywidgets.Widget):
            raise TypeError(
                f"{name} is a control of this widget and stays one; set its value instead: "
                f"w.{name} = <value> (or w.{name}.value = <value>)"
            )
        else:
            set_value(control, name, value)

    def close(self) -> None:
        """Stop a run, then close the figure and every control of this widget.

        Closing twice is harmless (ipywidgets also calls ``close`` when a widget is deleted).
        """
        if getattr(self, "_closed", False):
            return
        self._closed = True
        for other, handler, names in getattr(self, "_links", []):
            other.unobserve(handler, names)
        if self.runner is not None:
            self.runner.stop()
            if self.runner.thread is not threading.current_thread():
                self.runner.join(timeout=30)
        if hasattr(self, "view"):
            self.view.close()
        hidden = [getattr(self, name) for name in self.CONTROLS if hasattr(self, name)]
        for part in [*self.children, *hidden]:  # a control can be off screen (ScheduleWidget)
            close_tree(part)
        self.layout.close()
        super().close()

    def _link(self, other: ipywidgets.Widget, handler, names: list[str]) -> None:
        """Observe another widget until this one closes."""
        other.observe(handler, names)
        self._links = [*getattr(self, "_links", []), (other, handler, names)]
