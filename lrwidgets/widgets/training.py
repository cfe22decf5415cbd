"""TrainingWidget: train with a schedule next to a constant learning rate, from the same start.

Every run builds the same initial model (``problem.make_model(seed)``) and sees the batches in
the same order (``fit(..., seed=seed)``), so the curves differ only by their learning rates.
The training loss is drawn live; the validation curve of a run appears when the run ends
(``fit`` measures it once per epoch and returns it in its History).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

import ipywidgets
import numpy as np
import torch
from torch import nn

from ..core import Schedule
from ..core.checks import check_choice, check_int
from ..core.defaults import BATCH_SIZE, OPTIMIZER, PROBLEM
from ..plots import draw_training, format_lr, update_training, validation_values
from ..problems import PROBLEMS, Problem, get_problem
from ..training import History, fit, steps_per_epoch
from ..training.copies import private_copy, private_data
from ..training.data import is_tensor_pair
from ..training.loop import STOPPED_BY_CALLBACK
from ..training.optimizers import OPTIMIZERS, make_optimizer
from .base import LRWidget, check_batch_size_applies, check_custom_parts
from .controls import (
    STYLE,
    apply_defaults,
    log_slider,
    number_box,
    offer_optimizers,
    row,
    set_log_value,
)
from .range_test import CUSTOM
from .runner import STOPPED
from .schedule import ScheduleWidget
from .summary import results_table


def peak_lr(schedule: Schedule) -> float:
    """The learning rate a schedule is built around: its ``max_lr`` (fastai's ``lr_max``, a
    constant's ``lr``)."""
    params = schedule.params
    return next(params[key] for key in ("max_lr", "lr_max", "lr") if key in params)


class TrainingWidget(LRWidget):
    """Train ``problem`` with a schedule and with a constant learning rate, and compare.

    ``schedule``: a ScheduleWidget (its ``total_steps`` is kept equal to this widget's number
    of steps, and the constant ``lr`` follows its peak learning rate), a Schedule (its length
    must be epochs x steps per epoch), or None (constant learning rates only); kept as
    ``w.schedule_source``.
    With ``neighbours`` checked, the constant lr x 3 and / 3 are trained too.

    Your own model instead of a built-in problem ("custom"): ``model=`` and ``data=``, with
    ``loss_fn=`` or ``step_fn(model, batch) -> loss`` (dict batches), ``optimizer=`` and
    ``val_data=`` as for ``fit``. Run copies the model and the optimizer once, when it is
    pressed (``private_copy``: its groups, hyper-parameters and state; a DataLoader gets its
    own iterator, ``private_data``), and every run trains a copy of that copy: all runs start
    from your model as it was then, also while you go on training it, and your objects are
    left as they were. ``batch_size`` shows only for ``(X, y)`` data, the optimizer choice
    only without ``optimizer=``; a problem with its own optimizer (the transformer's AdamW,
    the fine-tune's two param groups) starts with it ("own").

    Keyword arguments set the controls: ``optimizer_name``, ``batch_size``,
    ``accumulation_steps``, ``clip_grad_norm`` (0: no clipping; both as in ``fit``), ``lr``,
    ``neighbours``, ``seed``. After ``run()``: ``w.histories`` maps each run's name to its
    History, and ``w.table`` shows their last numbers. ``run()`` raises on bad settings (the
    message also shows in the widget); the Run button only shows it.
    """

    CONTROLS = (
        "optimizer_name",
        "batch_size",
        "accumulation_steps",
        "clip_grad_norm",
        "lr",
        "neighbours",
        "seed",
    )

    def __init__(
        self,
        problem: str = PROBLEM,
        *,
        schedule: ScheduleWidget | Schedule | None = None,
        epochs: int = 10,
        model: nn.Module | None = None,
        data: Any = None,
        loss_fn: Any = None,
        step_fn: Any = None,
        optimizer: Any = None,
        val_data: Any = None,
        backend: str | None = None,
        **defaults: Any,
    ) -> None:
        check_batch_size_applies(model, data, defaults)
        super().__init__()
        check_custom_parts(model, data, loss_fn, step_fn, optimizer=optimizer, val_data=val_data)
        if model is None:
            check_choice("problem", problem, PROBLEMS)
        self.model, self.data, self.val_data = model, data, val_data
        self.loss_fn, self.step_fn, self.optimizer = loss_fn, step_fn, optimizer
        if schedule is not None and not isinstance(schedule, (ScheduleWidget, Schedule)):
            raise TypeError(
                "schedule must be a ScheduleWidget, a Schedule or None, "
                f"got {type(schedule).__name__}"
            )
        self.schedule_source = schedule  # a ScheduleWidget to follow, or a fixed Schedule
        self.histories: dict[str, History] = {}
        self._problems: dict[str, Problem] = {}
        self._setup((5.8, 6.0), backend)
        self._setup_runner(self._train, prepare=self._prepare)
        self._start: tuple[nn.Module, torch.optim.Optimizer | None] | None = None
        self._job_task: tuple[Any, Any, Any, Any, str] | None = None
        self._new_optimizer: Any = None  # model -> the optimizer chosen when Run was pressed

        self._make_controls(problem, epochs, custom=model is not None)
        self._show_what_applies()
        apply_defaults(self, defaults, self.CONTROLS)
        self._wire()
        self._sync_steps()
        self._follow()
        self._lay_out()
        self._draw_waiting()

    # -- building the widget ----------------------------------------------------------------------
    def _make_controls(self, problem: str, epochs: int, custom: bool) -> None:
        self.problem = ipywidgets.Dropdown(
            options=([CUSTOM] if custom else []) + list(PROBLEMS),
            value=CUSTOM if custom else problem,
            description="problem",
            style=STYLE,
        )
        self.optimizer_name = ipywidgets.Dropdown(
            options=OPTIMIZERS, value=OPTIMIZER, description="optimizer", style=STYLE
        )
        self.epochs = number_box(ipywidgets.IntText, "epochs", epochs)
        self.batch_size = number_box(ipywidgets.IntText, "batch_size", BATCH_SIZE)
        self.accumulation_steps = number_box(ipywidgets.IntText, "accumulation_steps", 1)
        self.clip_grad_norm = number_box(ipywidgets.FloatText, "clip_grad_norm", 0.0)
        self.lr = log_slider("lr", 0.01, low=-6, high=1)
        self.lr.description = "constant lr"
        self.neighbours = ipywidgets.Checkbox(False, description="also lr x 3 and lr / 3")
        self.seed = number_box(ipywidgets.IntText, "seed", 0)
        self.steps_info = ipywidgets.HTML()
        self.table = ipywidgets.HTML()
        self.axes = self.figure.subplots(2, 1)

    def _draw_waiting(self) -> None:
        """Before the first run: the labelled, empty panels and what Run will do."""
        self.artists = draw_training(*self.axes, [], self._task()[4])
        self.axes[0].text(
            0.5,
            0.5,
            "press Run: the schedule and the constant lr\ntrain from the same start",
            transform=self.axes[0].transAxes,
            ha="center",
            va="center",
            color="#555555",
            gid="waiting",
        )
        self.view.draw()

    def _wire(self) -> None:
        """The number of steps follows the problem, epochs and batch size; the constant lr
        follows a linked ScheduleWidget."""
        self.problem.observe(self._problem_changed, "value")
        for control in (self.epochs, self.batch_size, self.accumulation_steps):
            control.observe(self._sync_steps, "value")
        if isinstance(self.schedule_source, ScheduleWidget):
            self._link(self.schedule_source, self._follow, ["schedule"])

    def _lay_out(self) -> None:
        self.children = [
            row(self.problem, self.optimizer_name, self.seed),
            row(self.epochs, self.batch_size, self.steps_info),
            row(self.accumulation_steps, self.clip_grad_norm),
            row(self.lr, self.neighbours),
            self.runner.widget,
            self.message,
            self.view.widget,
            self.table,
        ]

    # -- running ----------------------------------------------------------------------------------
    def run(self) -> dict[str, History]:
        """Train every run now (blocking); return ``w.histories``."""
        self.runner.run()
        return self.histories

    def runs(self) -> dict[str, Schedule | float]:
        """What will be trained, by name: the schedule (if any) and the constant lr(s)."""
        runs: dict[str, Schedule | float] = {}
        schedule = self._current_schedule()
        if schedule is not None:
            runs[schedule.name] = schedule
        lr = self.lr.value
        runs[f"constant {format_lr(lr)}"] = lr
        if self.neighbours.value:
            runs[f"constant {format_lr(3 * lr)} (x 3)"] = 3 * lr
            runs[f"constant {format_lr(lr / 3)} (/ 3)"] = lr / 3
        return runs

    def _task(self) -> tuple[Any, Any, Any, Any, str]:
        """Training data, validation data, loss_fn, step_fn and the metric drawn below."""
        if self.problem.value == CUSTOM:
            return self.data, self.val_data, self.loss_fn, self.step_fn, "loss"
        problem = self._get_problem(self.problem.value)
        # one class per example: accuracy; one per position (the language model): its loss
        labels = problem.task == "classification" and problem.train_data[1].ndim == 1
        metric = "accuracy" if labels else "loss"
        return problem.train_data, problem.val_data, problem.loss_fn, None, metric

    def _prepare(self) -> None:
        """When Run is pressed, in the caller's thread: the start of every run, made once (a
        private copy of the learner's model, optimizer and DataLoaders, or the problem's
        model), and the data the runs read."""
        data, val_data, loss_fn, step_fn, metric = self._task()
        if self.problem.value == CUSTOM:
            self._start = private_copy(self.model, self.optimizer)
            data, val_data = private_data(data), private_data(val_data)
            name = self.optimizer_name.value
            self._new_optimizer = lambda model: make_optimizer(name, model.parameters())
        else:
            problem = self._get_problem(self.problem.value)
            self._start = (problem.make_model(self.seed.value), None)
            self._new_optimizer = partial(problem.optimizer_for, name=self.optimizer_name.value)
        self._job_task = (data, val_data, loss_fn, step_fn, metric)

    def _fresh(self) -> tuple[nn.Module, torch.optim.Optimizer]:
        """The model and optimizer of one run: a copy of the start made when Run was pressed,
        with the optimizer chosen then (the problem's own by default, where it has one)."""
        model, optimizer = private_copy(*self._start)
        if optimizer is None:
            optimizer = self._new_optimizer(model)
        return model, optimizer

    def _train(self) -> None:
        data, val_data, loss_fn, step_fn, metric = self._job_task
        per_run = self.epochs.value * self._steps_per_epoch(data)
        runs = self.runs()
        self.runner.set_progress(0, per_run * len(runs))
        with self.draw_lock:
            for ax in self.axes:
                ax.cla()
            self.artists = draw_training(*self.axes, list(runs), metric)
            self.view.draw()
        self.histories = {}
        self.table.value = ""
        for i, (name, schedule) in enumerate(runs.items()):
            if self.runner.stop_requested:
                break
            model, optimizer = self._fresh()
            history = fit(
                model,
                data,
                loss_fn,
                optimizer,
                epochs=self.epochs.value,
                schedule=schedule,
                val_data=val_data,
                step_fn=step_fn,
                batch_size=self.batch_size.value,
                seed=self.seed.value,
                progress=False,
                accumulation_steps=self.accumulation_steps.value,
                clip_grad_norm=self.clip_grad_norm.value or None,
                callback=self._live(name, offset=i * per_run),
            )
            if history.stop_reason == STOPPED_BY_CALLBACK:  # our callback only stops on Stop
                history = replace(history, stop_reason=STOPPED)
            self.histories[name] = history
            with self.draw_lock:
                update_training(
                    self.artists, name, history.loss, validation_values(history, metric)
                )
                self.view.draw(now=True)  # a run's last frame reaches the browser
            self.table.value = results_table(self.histories, metric, self.seed.value)

    def _live(self, name: str, offset: int):
        """The callback of one run: progress, live loss curve, and the Stop button."""
        losses: list[float] = []

        def callback(step: int, lr: float, loss: float) -> bool:
            losses.append(loss)
            self.runner.set_progress(offset + step + 1)
            if self.view.due():
                with self.draw_lock:
                    update_training(self.artists, name, np.array(losses))
                    self.view.draw(live=True)
            return self.runner.stop_requested

        return callback

    # -- keeping in step with the schedule --------------------------------------------------------
    def _current_schedule(self) -> Schedule | None:
        source = self.schedule_source
        if isinstance(source, ScheduleWidget):
            if source.schedule is None:
                raise ValueError("the schedule widget shows no valid schedule: fix it first")
            return source.schedule
        return source

    def _get_problem(self, name: str) -> Problem:
        if name not in self._problems:
            self._problems[name] = get_problem(name)
        return self._problems[name]

    def _problem_changed(self, change: dict) -> None:
        self._show_what_applies()
        self._sync_steps()

    def _show_what_applies(self) -> None:
        """A built-in problem brings its batch size; a custom DataLoader batches itself (no
        batch_size box) and a custom optimizer leaves no optimizer to choose."""
        custom = self.problem.value == CUSTOM
        if not custom:
            self.batch_size.value = self._get_problem(self.problem.value).batch_size
        batched = custom and not is_tensor_pair(self.data)
        self.batch_size.layout.display = "none" if batched else None
        self.optimizer_name.layout.display = (
            "none" if custom and self.optimizer is not None else None
        )
        offer_optimizers(
            self.optimizer_name, None if custom else self._get_problem(self.problem.value)
        )

    def _sync_steps(self, change: dict | None = None) -> None:
        """Show the steps per run; a linked ScheduleWidget gets exactly that many steps."""
        try:
            epochs = check_int("epochs", self.epochs.value, minimum=1)
            per_epoch = self._steps_per_epoch(self._task()[0])
        except (ValueError, TypeError) as error:
            self.message.show_error(error)
            return
        self.message.clear()
        total = epochs * per_epoch
        self.steps_info.value = f"= {total} steps ({per_epoch} per epoch)"
        if isinstance(self.schedule_source, ScheduleWidget):
            self.schedule_source.total_steps.value = total

    def _steps_per_epoch(self, data: Any) -> int:
        return steps_per_epoch(data, self.batch_size.value, self.accumulation_steps.value)

    def _follow(self, change: dict | None = None) -> None:
        """The constant lr follows the schedule's peak learning rate."""
        schedule = self.schedule_source
        if isinstance(schedule, ScheduleWidget):
            schedule = schedule.schedule
        if schedule is not None:
            set_log_value(self.lr, "lr", peak_lr(schedule))
