"""RangeTestWidget: run a learning-rate range test and look at its curve from every side.

The controls above the plot set up a test (problem, optimizer, sweep); Run trains. The controls
below the plot only change how the stored curve is read: the smoothing (beta, bias
correction, the three EWMA conventions) and the suggestion method. They never train again:
they call ``result.smoothed(...)`` and ``result.suggestions(...)`` on the raw losses kept in
``w.result`` and move the lines in place.
"""

from __future__ import annotations

from typing import Any

import ipywidgets
import numpy as np
import traitlets
from torch import nn

from ..core import SUGGESTION_METHODS, SWEEP_MODES, lr_sweep
from ..core.checks import check_choice
from ..plots import draw_range_test, format_lr, update_range_test
from ..problems import PROBLEMS, Problem, get_problem
from ..training import RangeTestResult, range_test
from ..training.data import is_tensor_pair
from ..training.optimizers import OPTIMIZERS, make_optimizer
from .base import LRWidget
from .controls import STYLE, apply_defaults, log_slider, number_box, row, toggle

CUSTOM = "custom"


class RangeTestWidget(LRWidget):
    """A range test you can run, stop, re-smooth and read suggestions from.

    ``problem`` is one of ``lrwidgets.problems.PROBLEMS``; pass ``model`` and ``data``
    (and optionally ``loss_fn`` or ``step_fn(model, batch) -> loss`` for batches that are not
    ``(inputs, targets)``, and ``optimizer``) to test your own model instead ("custom"):
    ``range_test`` leaves it exactly as it was. ``batch_size`` shows only for ``(X, y)`` data (a
    DataLoader batches itself); the optimizer choice only without ``optimizer``. Other keyword
    arguments set the controls: ``start_lr``, ``end_lr``, ``num_iter``, ``mode``, ``beta``,
    ``diverge_th``, ``batch_size``, ``seed``, ``accumulation_steps``, ``clip_grad_norm`` (0:
    no clipping), ``optimizer_name``, ``debias``, ``show_raw``, ``show_smoothed``,
    ``show_conventions``, ``suggestion_method``.

    After a run: ``w.result`` (the RangeTestResult), ``w.suggestions`` (every method's lr on
    the current smoothing) and ``w.suggested_lr`` (the chosen method's; observable, e.g. by
    a ScheduleWidget). ``w.run()`` runs synchronously and raises on bad settings (the message
    also shows in the widget); the Run button runs in the background and only shows it.
    """

    result = traitlets.Instance(RangeTestResult, allow_none=True)
    suggestions = traitlets.Dict()
    suggested_lr = traitlets.Float(None, allow_none=True)

    CONTROLS = (
        "optimizer_name",
        "mode",
        "start_lr",
        "end_lr",
        "num_iter",
        "batch_size",
        "diverge_th",
        "seed",
        "accumulation_steps",
        "clip_grad_norm",
        "beta",
        "debias",
        "show_raw",
        "show_smoothed",
        "show_conventions",
        "suggestion_method",
    )

    def __init__(
        self,
        problem: str = "spirals",
        *,
        model: nn.Module | None = None,
        data: Any = None,
        loss_fn: Any = None,
        optimizer: Any = None,
        step_fn: Any = None,
        backend: str | None = None,
        **defaults: Any,
    ) -> None:
        super().__init__()
        if (model is None) != (data is None):
            raise ValueError("a custom problem needs both model= and data=")
        if model is None and (loss_fn, optimizer, step_fn) != (None, None, None):
            raise ValueError("loss_fn=, step_fn= and optimizer= go with model= and data=")
        if loss_fn is not None and step_fn is not None:
            raise ValueError("pass loss_fn or step_fn, not both: step_fn computes the loss itself")
        self.model, self.data, self.loss_fn, self.optimizer = model, data, loss_fn, optimizer
        self.step_fn = step_fn
        self._problems: dict[str, Problem] = {}
        self._setup((6.5, 5.2), backend)
        self._setup_runner(self._range_test)

        choices = ([CUSTOM] if model is not None else []) + list(PROBLEMS)
        self.problem = ipywidgets.Dropdown(options=choices, description="problem", style=STYLE)
        self.optimizer_name = ipywidgets.Dropdown(
            options=OPTIMIZERS, value="sgd_momentum", description="optimizer", style=STYLE
        )
        self.mode = toggle("mode", SWEEP_MODES)
        self.start_lr = log_slider("start_lr", 1e-7)
        self.end_lr = log_slider("end_lr", 10.0)
        self.num_iter = number_box(ipywidgets.IntText, "num_iter", 100)
        self.batch_size = number_box(ipywidgets.IntText, "batch_size", 64)
        self.diverge_th = number_box(ipywidgets.FloatText, "diverge_th", 4.0)
        self.seed = number_box(ipywidgets.IntText, "seed", 0)
        self.accumulation_steps = number_box(ipywidgets.IntText, "accumulation_steps", 1)
        self.clip_grad_norm = number_box(ipywidgets.FloatText, "clip_grad_norm", 0.0)
        self.beta = ipywidgets.FloatSlider(
            0.98, min=0.0, max=0.999, step=0.001, readout_format=".3f", description="beta"
        )
        # Live while dragging with ipympl (a few ms a change); on release for the PNG fallback.
        self.beta.continuous_update = self.view.backend == "ipympl"
        self.debias = ipywidgets.Checkbox(True, description="debias (divide by 1 - beta^t)")
        self.show_raw = ipywidgets.Checkbox(True, description="raw loss")
        self.show_smoothed = ipywidgets.Checkbox(True, description="smoothed loss")
        self.show_conventions = ipywidgets.Checkbox(False, description="all 3 EWMA conventions")
        self.suggestion_method = ipywidgets.Dropdown(
            options=SUGGESTION_METHODS, value="valley", description="suggestion", style=STYLE
        )
        self.summary = ipywidgets.HTML()

        loss_ax, lr_ax = self.figure.subplots(2, 1, height_ratios=[2.2, 1])
        self.artists = draw_range_test(loss_ax, lr_ax)

        self.problem.value = (
            CUSTOM if model is not None else check_choice("problem", problem, PROBLEMS)
        )
        self._problem_changed()
        apply_defaults(self, defaults, self.CONTROLS)

        self.problem.observe(self._problem_changed, "value")
        smoothing = (
            self.beta,
            self.debias,
            self.show_raw,
            self.show_smoothed,
            self.show_conventions,
        )
        for control in smoothing:
            control.observe(self._restyle, "value")
        self.suggestion_method.observe(self._pick_suggestion, "value")

        self.children = [
            row(self.problem, self.optimizer_name, self.mode),
            row(self.start_lr, self.end_lr),
            row(self.num_iter, self.batch_size, self.diverge_th, self.seed),
            row(self.accumulation_steps, self.clip_grad_norm),
            self.runner.widget,
            self.message,
            self.view.widget,
            row(self.beta, self.debias),
            row(self.show_raw, self.show_smoothed, self.show_conventions),
            row(self.suggestion_method, self.summary),
        ]
        self.view.draw()

    # -- running ----------------------------------------------------------------------------------
    def run(self) -> RangeTestResult:
        """Run the range test now with the controls' values and return its result.

        Bad settings raise ValueError/TypeError (the message also shows in the widget) and
        leave ``w.result`` as it was.
        """
        self.runner.run()
        return self.result

    def _range_test(self) -> None:
        """The work behind Run: one range test, drawn live, kept in ``self.result``."""
        mode, beta, diverge_th = self.mode.value, self.beta.value, self.diverge_th.value
        # The sweep checks start_lr, end_lr, num_iter and mode now and is the live lr panel.
        planned = lr_sweep(self.start_lr.value, self.end_lr.value, self.num_iter.value, mode)
        model, data, loss_fn, optimizer = self._parts()
        self.runner.set_progress(0, len(planned))
        lrs, losses = [], []

        def callback(step: int, lr: float, loss: float) -> bool:
            lrs.append(lr)
            losses.append(loss)
            self.runner.set_progress(step + 1)
            if self.view.due():
                so_far = RangeTestResult(
                    lrs=np.array(lrs),
                    losses=np.array(losses),
                    planned_lrs=planned,
                    mode=mode,
                    beta=beta,
                    diverge_th=diverge_th,
                )
                self._draw(so_far, live=True)
            return self.runner.stop_requested

        result = range_test(
            model,
            data,
            loss_fn,
            optimizer,
            start_lr=self.start_lr.value,
            end_lr=self.end_lr.value,
            num_iter=self.num_iter.value,
            mode=mode,
            beta=beta,
            diverge_th=diverge_th,
            batch_size=self.batch_size.value,
            seed=self.seed.value,
            progress=False,
            callback=callback,
            step_fn=self.step_fn if self.problem.value == CUSTOM else None,
            accumulation_steps=self.accumulation_steps.value,
            clip_grad_norm=self.clip_grad_norm.value or None,
        )
        self.result = result
        self._draw(result)

    def _parts(self) -> tuple[nn.Module, Any, Any, Any]:
        """Model, data, loss and optimizer of the chosen problem (a fresh model for built-ins)."""
        if self.problem.value == CUSTOM:
            optimizer = self.optimizer
            if optimizer is None:
                optimizer = make_optimizer(self.optimizer_name.value, self.model.parameters())
            return self.model, self.data, self.loss_fn, optimizer
        problem = self._get_problem(self.problem.value)
        model = problem.make_model(self.seed.value)
        optimizer = make_optimizer(self.optimizer_name.value, model.parameters())
        return model, problem.train_data, problem.loss_fn, optimizer

    def _get_problem(self, name: str) -> Problem:
        if name not in self._problems:
            self._problems[name] = get_problem(name)
        return self._problems[name]

    # -- drawing ----------------------------------------------------------------------------------
    def _draw(self, result: RangeTestResult, live: bool = False) -> None:
        """Draw ``result`` with the smoothing controls' values; after a run, also update the
        suggestions (a live, unfinished curve gets no markers)."""
        with self.draw_lock:
            found = update_range_test(
                self.artists,
                result,
                beta=self.beta.value,
                debias=self.debias.value,
                show_raw=self.show_raw.value,
                show_smoothed=self.show_smoothed.value,
                suggestions=() if live else SUGGESTION_METHODS,
                conventions=self.show_conventions.value,
            )
            self.view.draw()
        if not live:
            self.suggestions = found
            self._pick_suggestion()

    def _restyle(self, change: dict | None = None) -> None:
        """A smoothing control moved: re-smooth the stored losses; no training."""
        if self.result is not None and not self.runner.running:
            self._draw(self.result)

    def _pick_suggestion(self, change: dict | None = None) -> None:
        method = self.suggestion_method.value
        self.suggested_lr = self.suggestions.get(method)
        self.summary.value = self._summary()

    def _summary(self) -> str:
        result = self.result
        if result is None:
            return ""
        method = self.suggestion_method.value
        lr = self.suggested_lr
        text = f"{method} suggests <b>{format_lr(lr) if lr is not None else 'nothing'}</b>"
        text += f" (beta={self.beta.value:.3g}); {result.steps} of {len(result.planned_lrs)} steps"
        if result.stop_reason:
            text += f"; {result.stop_reason}"
        return text

    def _problem_changed(self, change: dict | None = None) -> None:
        """A built-in problem brings its own batch size; the optimizer choice applies unless a
        custom optimizer was given."""
        name = self.problem.value
        self.optimizer_name.disabled = name == CUSTOM and self.optimizer is not None
        self.optimizer_name.layout.display = "none" if self.optimizer_name.disabled else None
        batched = name == CUSTOM and not is_tensor_pair(self.data)  # a loader batches itself
        self.batch_size.layout.display = "none" if batched else None
        if name != CUSTOM:
            self.batch_size.value = self._get_problem(name).batch_size
