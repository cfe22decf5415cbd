"""The training picture: training loss per step and a validation metric per epoch, per run."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .style import RUN_COLORS, new_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.lines import Line2D

    from ..training import History


@dataclass
class TrainingArtists:
    """Per run (by name): the training loss per step and the validation metric per epoch."""

    loss_ax: Axes
    val_ax: Axes
    loss: dict[str, Line2D]
    val: dict[str, Line2D]


def draw_training(
    loss_ax: Axes, val_ax: Axes, names: Sequence[str], metric: str = "accuracy"
) -> TrainingArtists:
    """Empty lines for the runs ``names`` (gids "loss-<name>", "val-<name>"), one colour each.

    ``metric`` ("accuracy" or "loss") labels the validation panel.
    """
    loss, val = {}, {}
    for name, color in zip(names, RUN_COLORS, strict=False):
        (loss[name],) = loss_ax.plot([], [], color=color, lw=1.0, label=name, gid=f"loss-{name}")
        (val[name],) = val_ax.plot(
            [], [], color=color, lw=2.0, marker="o", ms=4, label=name, gid=f"val-{name}"
        )
    loss_ax.set_xlabel("step")
    loss_ax.set_ylabel("training loss")
    loss_ax.set_yscale("log")
    val_ax.set_xlabel("epoch")
    val_ax.set_ylabel(f"validation {metric}")
    for ax in (loss_ax, val_ax):
        ax.grid(alpha=0.3)
    artists = TrainingArtists(loss_ax, val_ax, loss, val)
    training_legend(artists)
    return artists


def update_training(
    artists: TrainingArtists, name: str, loss: np.ndarray, val: np.ndarray | None = None
) -> None:
    """Draw run ``name``: its training loss per step, and its validation metric per epoch."""
    artists.loss[name].set_data(np.arange(len(loss)), loss)
    artists.loss_ax.relim()
    artists.loss_ax.autoscale_view()
    if val is not None:
        artists.val[name].set_data(np.arange(1, len(val) + 1), val)
        artists.val_ax.relim()
        artists.val_ax.autoscale_view()
    training_legend(artists)


def training_legend(artists: TrainingArtists) -> None:
    """One legend for both panels (a run has the same colour in each), under the lower one so
    it covers no curve, listing only the runs that trained at least one step."""
    for name, line in artists.loss.items():
        trained = len(line.get_xdata()) > 0
        line.set_label(name if trained else f"_{name}")
        artists.val[name].set_label("_" + name)  # the loss line stands for the run
    if artists.loss_ax.get_legend() is not None:
        artists.loss_ax.get_legend().remove()
    handles, labels = artists.loss_ax.get_legend_handles_labels()
    if artists.val_ax.get_legend() is not None:
        artists.val_ax.get_legend().remove()
    if handles:
        artists.val_ax.legend(
            handles,
            labels,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.2),
            ncols=2,
            fontsize="small",
            frameon=False,
        )


def plot_training(
    histories: Mapping[str, History], axes: Sequence[Axes] | None = None
) -> list[Axes]:
    """Plot ``fit`` histories by name: training loss per step, validation accuracy per epoch
    (the validation loss when the accuracy is NaN, as for regression). Returns both Axes."""
    if axes is None:
        axes = new_axes(2, figsize=(6.0, 6.0))
    loss_ax, val_ax = axes
    metric = validation_metric(histories.values())
    artists = draw_training(loss_ax, val_ax, list(histories), metric)
    for name, history in histories.items():
        update_training(artists, name, history.loss, validation_values(history, metric))
    return [loss_ax, val_ax]


def validation_metric(histories: Iterable[History]) -> str:
    """ "accuracy" when some history has a finite validation accuracy, else "loss"."""
    for history in histories:
        if np.any(np.isfinite(history.val_accuracy)):
            return "accuracy"
    return "loss"


def validation_values(history: History, metric: str) -> np.ndarray:
    return history.val_accuracy if metric == "accuracy" else history.val_loss
