"""RangeTestWidget: run a learning-rate range test and look at its curve from every side.

The controls above the plot set up a test (problem, optimizer, sweep); Run trains. The controls
below the plot only change how the stored curve is read: the smoothing (beta, bias
correction, the three EWMA conventions), the points the rules skip and the suggestion method.
They never train again: they call ``result.smoothed(...)`` and ``result.suggestions(...)`` on
the raw losses kept in ``w.result`` and move the lines in place. Pin keeps the current curve on
the plot, so that the next run (another batch size, optimizer, ...) can be compared with it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import traitlets
from torch import nn

from ..core import SUGGESTION_METHODS, lr_sweep
from ..core.checks import check_choice, check_int
from ..core.defaults import (
    PROBLEM,
)
from ..plots import CurveView, update_range_test
from ..problems import PROBLEMS, Problem, get_problem
from ..training import RangeTestResult, range_test
from ..training.copies import private_copy, private_data
from ..training.data import is_tensor_pair
from ..training.loop import STOPPED_BY_CALLBACK
from ..training.optimizers import make_optimizer
from .base import LRWidget, check_batch_size_applies, check_custom_parts
from .controls import apply_defaults, offer_optimizers, row
from .pins import RUN_SETTINGS, Pins
from .range_test_controls import make_controls
from .runner import STOPPED
from .summary import range_test_summary

CUSTOM = "custom"


class RangeTestWidget(Pins, LRWidget):
    """A range test you can run, stop, re-smooth and read suggestions from.

    ``problem`` is one of ``lrwidgets.problems.PROBLEMS``; pass ``model`` and ``data``
    (and optionally ``loss_fn`` or ``step_fn(model, batch) -> loss`` for batches that are not
    ``(inputs, targets)``, and ``optimizer``) to test your own model instead ("custom").
    Every run tests a private copy of your model and optimizer (``private_copy``: a deepcopy of
    both in one call, made when Run is pressed) and of a DataLoader (``private_data``: its own
    workers, sampler and generator), so yours are never touched: you can go on training
    them in the next cell while a Run-button test goes on. ``batch_size`` shows only for
    ``(X, y)`` data (a DataLoader batches itself); the optimizer choice only without
    ``optimizer``; a problem with its own optimizer (the transformer's AdamW, the fine-tune's
    two param groups) offers it as "own" and starts with it. Other keyword arguments set the
    controls: ``start_lr``, ``end_lr``, ``endpoint`` (False: fastai's sweep, one step short of
    end_lr, see ``range_test``), ``num_iter``, ``mode``, ``beta``, ``diverge_th``,
    ``batch_size``, ``seed``, ``accumulation_steps``, ``clip_grad_norm`` (0: no clipping),
    ``optimizer_name``, ``debias``, ``show_raw``, ``show_smoothed``, ``show_conventions``,
    ``skip_start``, ``skip_end``, ``method``.

    After a run: ``w.result`` (the RangeTestResult), ``w.suggestions`` (every method's lr on
    the current smoothing and trimming; ``skip_start`` follows num_iter // 10 and ``skip_end``
    is 5, as fastai's ``lr_find``) and ``w.suggested_lr`` (the chosen method's; observable, e.g.
    by a ScheduleWidget). The suggestion pre-selected is "valley", fastai's default; the course
    measures it more than ten times below the best lr on digits (notebook 05). A curve that
    never falls clearly says so above the plot and in the summary (its numbers: at the current
    beta). Markers sit on the smoothed curve drawn, else on the raw loss, else are hidden.
    ``w.run()`` runs synchronously and raises on bad settings (the message also shows in the
    widget); the Run button runs in the background and only shows it.

    ``w.pin(label=None)`` (the Pin button) keeps the current curve on the plot; by default its
    legend names the settings that differ between the pinned runs and the current one (batch
    size, optimizer, ...). ``w.pinned`` lists (label, result); ``w.clear_pins()`` removes them.
    """

    result = traitlets.Instance(RangeTestResult, allow_none=True)
    suggestions = traitlets.Dict()
    suggested_lr = traitlets.Float(None, allow_none=True)

    # the controls a run reads, when Run is pressed
    TEST_SETTINGS = (
        "mode",
        "start_lr",
        "end_lr",
        "endpoint",
        "num_iter",
        "beta",
        "diverge_th",
        "batch_size",
        "seed",
        "accumulation_steps",
        "clip_grad_norm",
    )

    CONTROLS = (
        "optimizer_name",
        "mode",
        "start_lr",
        "end_lr",
        "endpoint",
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
        "skip_start",
        "skip_end",
        "method",
    )

    def __init__(
        self,
        problem: str = PROBLEM,
        *,
        model: nn.Module | None = None,
        data: Any = None,
        loss_fn: Any = None,
        optimizer: Any = None,
        step_fn: Any = None,
        backend: str | None = None,
        **defaults: Any,
    ) -> None:
        check_batch_size_applies(model, data, defaults)
        super().__init__()
        check_custom_parts(model, data, loss_fn, step_fn, optimizer=optimizer)
        self.model, self.data, self.loss_fn, self.optimizer = model, data, loss_fn, optimizer
        self.step_fn = step_fn
        self._problems: dict[str, Problem] = {}
        self._pins: list[tuple[str | None, RangeTestResult, dict[str, Any]]] = []
        self._run_settings: dict[str, Any] = {}
        self._live = False  # a running test's unfinished curve is on the plot (draw_lock)
        self._setup((5.8, 6.4), backend)
        self._setup_runner(self._range_test, prepare=self._prepare)
        self._job: dict[str, Any] = {}
        self._make_controls(custom=model is not None)
        self.problem.value = (
            CUSTOM if model is not None else check_choice("problem", problem, PROBLEMS)
        )
        self._problem_changed()
        self.num_iter.observe(self._num_iter_changed, "value")
        self._num_iter_changed()
        # skip_start follows num_iter: set it after num_iter, whatever the keyword order.
        apply_defaults(self, sorted_skips_last(defaults), self.CONTROLS)
        self._wire()
        self._lay_out()
        self.view.draw()

    # -- building the widget ----------------------------------------------------------------------
    def _make_controls(self, custom: bool) -> None:
        make_controls(self, [CUSTOM] if custom else [])

    def _wire(self) -> None:
        """The reading controls redraw the stored curve; none of them trains again."""
        self.pin_button.on_click(lambda _: self._pin_from_button())
        self.clear_pins_button.on_click(lambda _: self.clear_pins())
        self.problem.observe(self._problem_changed, "value")
        smoothing = (
            self.beta,
            self.debias,
            self.show_raw,
            self.show_smoothed,
            self.show_conventions,
            self.skip_start,
            self.skip_end,
        )
        for control in smoothing:
            control.observe(self._restyle, "value")
        self.method.observe(self._pick_suggestion, "value")

    def _lay_out(self) -> None:
        """The test's settings above the plot, the ways of reading it below."""
        self.children = [
            row(self.problem, self.optimizer_name, self.mode),
            row(self.start_lr, self.end_lr, self.endpoint),
            row(self.num_iter, self.batch_size, self.diverge_th, self.seed),
            row(self.accumulation_steps, self.clip_grad_norm),
            self.runner.widget,
            self.message,
            self.view.widget,
            row(self.beta, self.debias),
            row(self.show_raw, self.show_smoothed, self.show_conventions),
            row(self.skip_start, self.skip_end, self.method),
            self.summary,
            row(self.pin_button, self.pin_label, self.clear_pins_button),
        ]

    # -- running ----------------------------------------------------------------------------------
    def run(self) -> RangeTestResult:
        """Run the range test now with the controls' values and return its result.

        Bad settings raise ValueError/TypeError (the message also shows in the widget) and
        leave ``w.result`` as it was.
        """
        self.runner.run()
        return self.result

    def _prepare(self) -> None:
        """Before the work (in the caller's thread): read the controls and make the model."""
        job = {name: getattr(self, name).value for name in self.TEST_SETTINGS}
        # The sweep checks start_lr, end_lr, num_iter and mode now and is the live lr panel.
        job["planned"] = lr_sweep(
            job["start_lr"], job["end_lr"], job["num_iter"], job["mode"], job["endpoint"]
        )
        self._check_skips()
        job["settings"] = {name: getattr(self, name).value for name in RUN_SETTINGS}
        job["parts"] = self._parts()
        self._job = job

    def _range_test(self) -> None:
        """The work behind Run: one range test, drawn live, kept in ``self.result``."""
        job, self._job = self._job, {}
        mode, beta, diverge_th, planned = (
            job["mode"],
            job["beta"],
            job["diverge_th"],
            job["planned"],
        )
        model, data, loss_fn, optimizer = job["parts"]
        settings = job["settings"]
        self.runner.set_progress(0, len(planned))
        with self.draw_lock:
            self._live = True
            self.suggestions, self.suggested_lr = {}, None  # the last run's no longer apply
        self.summary.value = "running..."
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
            start_lr=job["start_lr"],
            end_lr=job["end_lr"],
            num_iter=job["num_iter"],
            mode=mode,
            endpoint=job["endpoint"],
            beta=beta,
            diverge_th=diverge_th,
            batch_size=job["batch_size"],
            seed=job["seed"],
            progress=False,
            callback=callback,
            step_fn=self.step_fn if self.problem.value == CUSTOM else None,
            accumulation_steps=job["accumulation_steps"],
            clip_grad_norm=job["clip_grad_norm"] or None,
        )
        if result.stop_reason == STOPPED_BY_CALLBACK:  # our callback only stops on Stop
            result = replace(result, stop_reason=STOPPED)
        with self.draw_lock:  # the beta read for the suggestions is the beta shown
            self._run_settings = settings
            self.result = result
            self._live = False
            self._draw(result, final=True)

    def _parts(self) -> tuple[nn.Module, Any, Any, Any]:
        """Model, data, loss and optimizer of the chosen problem: a fresh model for built-ins,
        a private copy of the learner's model and optimizer for "custom"."""
        if self.problem.value == CUSTOM:
            optimizer = self.optimizer
            if optimizer is None:
                optimizer = make_optimizer(self.optimizer_name.value, self.model.parameters())
            model, optimizer = private_copy(self.model, optimizer)
            return model, private_data(self.data), self.loss_fn, optimizer
        problem = self._get_problem(self.problem.value)
        model = problem.make_model(self.seed.value)
        optimizer = problem.optimizer_for(model, self.optimizer_name.value)
        return model, problem.train_data, problem.loss_fn, optimizer

    def _get_problem(self, name: str) -> Problem:
        if name not in self._problems:
            self._problems[name] = get_problem(name)
        return self._problems[name]

    # -- drawing ----------------------------------------------------------------------------------
    def _draw(self, result: RangeTestResult, live: bool = False, final: bool = False) -> None:
        """Draw ``result`` with the smoothing controls' values; after a run, also update the
        suggestions (a live, unfinished curve gets no markers). ``final``: a run's last frame,
        sent to the front-end now (``FigureView.draw(now=True)``). All under ``draw_lock``: the
        controls' values read, the suggestions set and ``suggested_lr`` (a linked
        ScheduleWidget's max_lr) belong together, whichever thread draws."""
        with self.draw_lock:
            view = CurveView(
                beta=self.beta.value,
                debias=self.debias.value,
                show_raw=self.show_raw.value,
                show_smoothed=self.show_smoothed.value,
                suggestions=() if live else SUGGESTION_METHODS,
                conventions=self.show_conventions.value,
                skip_start=self.skip_start.value,
                skip_end=self.skip_end.value,
                legend_beta=False,  # on the slider: a beta move leaves the legend as it is
            )
            found = update_range_test(self.artists, result, view, pinned=self.pinned)
            only = None if live or final else self.artists.loss_ax
            self.view.draw(now=final, only=only, live=live)
            if not live:
                self.suggestions = found
                self._pick_suggestion()

    def _restyle(self, change: dict | None = None) -> None:
        """A smoothing control moved: re-smooth the stored losses; no training. Skips that are
        not integers >= 0 are explained in the message box and leave the picture as it was."""
        try:
            self._check_skips()
        except (ValueError, TypeError) as error:
            self.message.show_error(error)
            return
        self.message.clear()
        with self.draw_lock:  # a run that ends meanwhile draws before or after, never across
            if self.result is not None and not (self._live and self.runner.running):
                self._draw(self.result)

    def _check_skips(self) -> None:
        check_int("skip_start", self.skip_start.value, minimum=0)
        check_int("skip_end", self.skip_end.value, minimum=0)

    def _pick_suggestion(self, change: dict | None = None) -> None:
        with self.draw_lock:
            method = self.method.value
            self.suggested_lr = self.suggestions.get(method)
            self.summary.value = self._summary()

    def _summary(self) -> str:
        return range_test_summary(
            self.result,
            self.method.value,
            self.suggested_lr,
            self.beta.value,
            self.skip_start.value,
            self.skip_end.value,
        )

    def _num_iter_changed(self, change: dict | None = None) -> None:
        """fastai's lr_find skips num_iter // 10 points at the start."""
        if isinstance(self.num_iter.value, int) and self.num_iter.value >= 0:
            self.skip_start.value = self.num_iter.value // 10

    def _problem_changed(self, change: dict | None = None) -> None:
        """A built-in problem brings its own batch size (and its own optimizer, where it has one:
        ``offer_optimizers``); the optimizer choice applies unless a custom optimizer was given."""
        name = self.problem.value
        self.optimizer_name.disabled = name == CUSTOM and self.optimizer is not None
        self.optimizer_name.layout.display = "none" if self.optimizer_name.disabled else None
        offer_optimizers(self.optimizer_name, None if name == CUSTOM else self._get_problem(name))
        batched = name == CUSTOM and not is_tensor_pair(self.data)  # a loader batches itself
        self.batch_size.layout.display = "none" if batched else None
        if name != CUSTOM:
            self.batch_size.value = self._get_problem(name).batch_size


def sorted_skips_last(defaults: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments with skip_start / skip_end last."""
    return dict(sorted(defaults.items(), key=lambda item: item[0].startswith("skip_")))
