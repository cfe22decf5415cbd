"""Matplotlib drawings shared by ``RangeTestResult.plot`` and the widgets.

Each picture comes in two steps, so a widget can redraw in place instead of building a new
figure on every change:

- ``draw_*(ax, ...)`` creates empty, labelled artists (Line2D) on given Axes and returns them;
- ``update_*(artists, ...)`` puts data into those artists (``set_data``), nothing else.

``plot_range_test``, ``plot_schedule`` and ``plot_training`` do both at once for a notebook
cell. pyplot is imported only there, and only to create a figure when no Axes is given.
Every number drawn comes from the result, schedule or history passed in; colours are the
Okabe-Ito palette, which stays distinguishable with the common colour-vision deficiencies.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .core import (
    SMOOTHING_CONVENTIONS,
    SUGGESTION_METHODS,
    Schedule,
    divergence_limit,
    smooth,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.lines import Line2D
    from matplotlib.text import Text

    from .studies import SettingStudy, TrainingGrid
    from .training import History, RangeTestResult

# Okabe & Ito (2008), "Color Universal Design".
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
GREY = "#999999"

SMOOTHED_STYLE = {
    "debiased": dict(color=OKABE_ITO["blue"], lw=2.0, ls="-"),
    "biased": dict(color=OKABE_ITO["orange"], lw=1.5, ls="--"),
    "from-first": dict(color=OKABE_ITO["reddish_purple"], lw=1.5, ls="-."),
}
SMOOTHED_NAME = {
    "debiased": "EWMA, debiased",
    "biased": "EWMA from 0, biased",
    "from-first": "EWMA started at the first loss",
}
SUGGESTION_STYLE = {
    "valley": dict(color=OKABE_ITO["black"], marker="o"),
    "slide": dict(color=OKABE_ITO["sky_blue"], marker="D"),
    "minimum": dict(color=OKABE_ITO["vermillion"], marker="v"),
    "steep": dict(color=OKABE_ITO["bluish_green"], marker="^"),
    "steepest": dict(color=OKABE_ITO["reddish_purple"], marker="s"),
}
SUGGESTION_NAME = {
    "valley": "valley",
    "slide": "slide",
    "minimum": "minimum / 10",
    "steep": "steep",
    "steepest": "steepest (torch-lr-finder)",
}
WARNING_COLOR = OKABE_ITO["vermillion"]
RUN_COLORS = (
    OKABE_ITO["blue"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["orange"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["black"],
)


def new_axes(
    nrows: int = 1, figsize: tuple[float, float] = (6.0, 4.0), sharex: bool = False
) -> list[Axes]:
    """A new pyplot figure with ``nrows`` Axes stacked, for a notebook cell."""
    import matplotlib.pyplot as plt

    _, axes = plt.subplots(nrows, 1, figsize=figsize, sharex=sharex, layout="constrained")
    return list(np.atleast_1d(axes))


def format_lr(lr: float) -> str:
    """A learning rate the way the legends and tables write it: 0.0032, 3.2e-05."""
    return f"{lr:.2g}"


def show(artist: Line2D, visible: bool, label: str = "") -> None:
    """Show or hide an artist; a hidden one also leaves the legend."""
    artist.set_visible(visible)
    artist.set_label(label if visible else "_hidden")


def loss_limits(curves: Sequence[np.ndarray], diverge_th: float) -> tuple[float, float] | None:
    """y-limits that keep the interesting part of range-test curves in view.

    From the lowest finite value up to the highest, but no higher than half the fall above where
    the curves start (start + (start - lowest) / 2), or for curves that never fall below their
    start, ``divergence_limit`` of the lowest value: the blown-up tail after divergence would
    otherwise flatten everything else. None when there is nothing finite to show.
    Pass the smoothed curves when they are drawn: a single batch's dip of the raw loss would
    otherwise set the lower limit and squeeze the curves the suggestions sit on.
    """
    finite = [c[np.isfinite(c)] for c in curves]
    finite = [c for c in finite if c.size]
    if not finite:
        return None
    low = min(float(c.min()) for c in finite)
    high = max(float(c.max()) for c in finite)
    start = max(float(c[0]) for c in finite)
    fall = start - low
    high = min(
        high, start + fall / 2 if fall > 0 else max(start, divergence_limit(low, diverge_th))
    )
    span = high - low if high > low else abs(high) or 1.0
    return low - 0.05 * span, high + 0.15 * span


def legend_below(ax: Axes, ncols: int = 2) -> None:
    """The legend under the Axes (below the x label), where it never covers a curve; a
    constrained-layout figure makes room for it."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        if ax.get_legend() is not None:
            ax.get_legend().remove()
        return
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.16),
        ncols=ncols,
        fontsize="small",
        frameon=False,
    )


# -- the range test -------------------------------------------------------------------------------
@dataclass
class RangeTestArtists:
    """The artists of a range-test picture: the loss against lr (``loss_ax``) and, when
    drawn, the learning rate against the step (``lr_ax``)."""

    loss_ax: Axes
    raw: Line2D
    smoothed: dict[str, Line2D]  # one line per smoothing convention
    suggestions: dict[str, Line2D]  # one marker per suggestion method
    stop: Line2D  # a vertical line where the test stopped early
    skipped: Line2D  # ticks along the bottom at the lrs whose step a GradScaler skipped
    lr_ax: Axes | None = None
    planned: Line2D | None = None  # the whole sweep
    taken: Line2D | None = None  # the steps taken
    pinned: list[Line2D] = field(default_factory=list)  # earlier curves kept for comparison


def draw_range_test(ax: Axes, lr_ax: Axes | None = None) -> RangeTestArtists:
    """Empty, labelled range-test artists on ``ax`` (and the lr-per-step panel on ``lr_ax``).

    Every line has a ``gid`` ("raw", "smoothed-debiased", "suggestion-valley", "stop",
    "skipped", "planned", "taken"; "pinned-0", ... for pinned curves) so that a test or a
    notebook can find it in the figure.
    """
    (raw,) = ax.plot([], [], color=OKABE_ITO["sky_blue"], lw=1.0, alpha=0.8, gid="raw")
    smoothed = {
        c: ax.plot([], [], gid=f"smoothed-{c}", **SMOOTHED_STYLE[c])[0]
        for c in SMOOTHING_CONVENTIONS
    }
    suggestions = {
        m: ax.plot([], [], ls="none", ms=8, zorder=5, gid=f"suggestion-{m}", **SUGGESTION_STYLE[m])[
            0
        ]
        for m in SUGGESTION_METHODS
    }
    (stop,) = ax.plot(
        [],
        [],
        color=OKABE_ITO["black"],
        ls=":",
        lw=1.5,
        gid="stop",
        transform=ax.get_xaxis_transform(),
    )
    (skipped,) = ax.plot(
        [],
        [],
        color=WARNING_COLOR,
        ls="none",
        marker="|",
        ms=10,
        gid="skipped",
        transform=ax.get_xaxis_transform(),  # x in lr, y in axes fractions: along the bottom
    )
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    artists = RangeTestArtists(ax, raw, smoothed, suggestions, stop, skipped)
    if lr_ax is not None:
        (artists.planned,) = lr_ax.plot([], [], color=GREY, ls="--", label="planned", gid="planned")
        (artists.taken,) = lr_ax.plot(
            [], [], color=OKABE_ITO["blue"], lw=2.0, label="taken", gid="taken"
        )
        artists.lr_ax = lr_ax
        lr_ax.set_xlabel("step")
        lr_ax.set_ylabel("learning rate")
        lr_ax.grid(alpha=0.3)
    for line in [raw, stop, skipped, *smoothed.values(), *suggestions.values()]:
        show(line, False)
    return artists


def update_range_test(
    artists: RangeTestArtists,
    result: RangeTestResult,
    *,
    beta: float | None = None,
    debias: bool = True,
    show_raw: bool = True,
    show_smoothed: bool = True,
    suggestions: Sequence[str] = SUGGESTION_METHODS,
    conventions: bool = False,
    skip_start: int | None = None,
    skip_end: int | None = None,
    pinned: Sequence[tuple[str, RangeTestResult]] = (),
) -> dict[str, float]:
    """Draw ``result`` into ``artists`` in place; return the suggestions drawn {method: lr}.

    The smoothed curve is ``result.smoothed(beta)`` (``debias=False``: ``"biased"`` without
    ``debias``); with ``conventions`` all three conventions are drawn together. The suggestion
    markers come from ``result.suggestions(beta, skip_start=..., skip_end=...)`` (on the
    debiased curve; None: fastai's trimming) and sit on that curve; a suggestion with a caveat
    (``result.caveats``) is drawn hollow, "(not firm)" in the legend and why in the title; when
    the curve never falls clearly (``result.unreliable``), the title says so too. ``pinned``
    are (label, result) pairs of earlier tests, drawn smoothed the same way for comparison.
    The x axis is logarithmic for an exponential sweep;
    the y limits follow the smoothed curves (the raw loss when no smoothed curve is shown).
    """
    beta = result.beta if beta is None else beta
    ax = artists.loss_ax
    ax.set_xscale("log" if result.mode == "exp" else "linear")
    artists.raw.set_data(result.lrs, result.losses)
    show(artists.raw, show_raw, "raw loss")
    main = "debiased" if debias else "biased"
    shown = (SMOOTHING_CONVENTIONS if conventions else (main,)) if show_smoothed else ()
    curves = update_smoothed(artists, result, beta, shown)
    pinned_curves = update_pinned(artists, pinned, beta, main)

    skips = dict(skip_start=skip_start, skip_end=skip_end)
    found = result.suggestions(beta, warn=False, **skips) if suggestions else {}
    found = {m: lr for m, lr in found.items() if m in suggestions}
    caveats = result.caveats(beta, **skips) if found else {}
    curve = curves.get("debiased")  # the markers sit on the debiased curve
    if found and curve is None:
        curve = result.smoothed(beta)
    update_suggestions(artists, result, found, caveats, curve)
    unreliable = bool(found) and bool(result.unreliable(beta, **skips))
    doubts = ["Suggestions unreliable: the loss never falls clearly"] if unreliable else []
    doubts += [f"{SUGGESTION_NAME[m]} not firm: {why}" for m, why in caveats.items() if m in found]
    ax.set_title("\n".join(doubts), color=WARNING_COLOR, fontsize="medium")
    update_stop(artists, result)
    update_skipped(artists, result)

    if curves or pinned_curves:
        visible_curves = list(curves.values()) + pinned_curves
    else:
        visible_curves = [result.losses] if show_raw else []
    update_limits(ax, [result, *(r for _, r in pinned)], visible_curves, result.diverge_th)
    legend_below(ax)
    if artists.lr_ax is not None:
        update_sweep_panel(artists, result)
    return found


def update_smoothed(
    artists: RangeTestArtists, result: RangeTestResult, beta: float, shown: Sequence[str]
) -> dict[str, np.ndarray]:
    """Show the smoothed curves of the conventions in ``shown``, hide the others; return
    {convention: curve} of those shown."""
    curves = {}
    for convention, line in artists.smoothed.items():
        visible = convention in shown
        if visible:
            curves[convention] = smooth(result.losses, beta, convention)
            line.set_data(result.lrs, curves[convention])
        show(line, visible, f"{SMOOTHED_NAME[convention]} (beta={beta:.3g})")
    return curves


def update_suggestions(
    artists: RangeTestArtists,
    result: RangeTestResult,
    found: dict[str, float],
    caveats: dict[str, str],
    curve: np.ndarray | None,
) -> None:
    """One marker per suggestion in ``found``, on ``curve`` (interpolated in log lr for an
    exponential sweep); hollow and "(not firm)" for one with a caveat; the others hidden."""
    log_x = result.mode == "exp"
    x = (np.log(result.lrs) if log_x else result.lrs) if found else None
    for method, marker in artists.suggestions.items():
        label = f"{SUGGESTION_NAME[method]}: {format_lr(found.get(method, 0))}"
        if method in found:
            lr = found[method]
            y = np.interp(np.log(lr) if log_x else lr, x, curve)
            marker.set_data([lr], [y])
            firm = method not in caveats
            marker.set_markerfacecolor(SUGGESTION_STYLE[method]["color"] if firm else "none")
            if not firm:
                label += " (not firm)"
        show(marker, method in found, label)


def update_stop(artists: RangeTestArtists, result: RangeTestResult) -> None:
    """A vertical line where a stop rule ended the test, named after the rule."""
    if result.stopped_early and len(result.lrs):
        lr = float(result.lrs[-1])
        artists.stop.set_data([lr, lr], [0.0, 1.0])
        why_stop = (result.stop_reason or "stopped").split(":")[0]
        show(artists.stop, True, f"stopped at {format_lr(lr)} ({why_stop})")
    else:
        show(artists.stop, False)


def update_skipped(artists: RangeTestArtists, result: RangeTestResult) -> None:
    """Ticks along the bottom at the lrs of the steps a GradScaler skipped (``amp="fp16"``):
    no step was taken there, so they are marked, not drawn as a loss on the curve."""
    lrs = result.skipped_lrs
    artists.skipped.set_data(lrs, np.full(len(lrs), 0.02))
    show(artists.skipped, len(lrs) > 0, f"step skipped by the GradScaler ({len(lrs)})")


def update_limits(
    ax: Axes, results: Sequence[RangeTestResult], curves: list[np.ndarray], diverge_th: float
) -> None:
    """x: every result's whole planned sweep; y: ``loss_limits`` of the curves shown."""
    planned = [r.planned_lrs for r in results if len(r.planned_lrs) >= 2]
    if planned:
        ax.set_xlim(min(p[0] for p in planned), max(p[-1] for p in planned))
    limits = loss_limits(curves, diverge_th)
    if limits is not None:
        ax.set_ylim(*limits)


def update_pinned(
    artists: RangeTestArtists,
    pinned: Sequence[tuple[str, RangeTestResult]],
    beta: float,
    convention: str,
) -> list[np.ndarray]:
    """Replace the pinned curves: each (label, result) smoothed with ``beta`` and
    ``convention``, thin and in its own colour. Returns the curves drawn."""
    for line in artists.pinned:
        line.remove()
    artists.pinned.clear()
    curves = []
    colors = RUN_COLORS[1:]  # blue is the current run's
    for i, (label, result) in enumerate(pinned):
        curve = smooth(result.losses, beta, convention)
        (line,) = artists.loss_ax.plot(
            result.lrs,
            curve,
            color=colors[i % len(colors)],
            lw=1.3,
            alpha=0.9,
            label=f"pinned: {label}",
            gid=f"pinned-{i}",
        )
        artists.pinned.append(line)
        curves.append(curve)
    return curves


def update_sweep_panel(artists: RangeTestArtists, result: RangeTestResult) -> None:
    """The learning rate of every step: the planned sweep and the steps taken."""
    planned = result.planned_lrs
    artists.planned.set_data(np.arange(len(planned)), planned)
    artists.taken.set_data(np.arange(len(result.lrs)), result.lrs)
    lr_ax = artists.lr_ax
    lr_ax.set_yscale("log" if result.mode == "exp" else "linear")
    lr_ax.set_title(f"{result.mode} sweep", fontsize="medium")
    lr_ax.relim()
    lr_ax.autoscale_view()
    lr_ax.legend(loc="upper left", fontsize="small")


def plot_range_test(
    result: RangeTestResult,
    ax: Axes | None = None,
    *,
    beta: float | None = None,
    debias: bool = True,
    show_raw: bool = True,
    show_smoothed: bool = True,
    suggestions: Sequence[str] = SUGGESTION_METHODS,
    conventions: bool = False,
    skip_start: int | None = None,
    skip_end: int | None = None,
) -> Axes:
    """Plot a range test: the raw loss, its EWMA, the suggestions and where it stopped.

    ``beta`` (default: the test's) and ``debias`` choose the smoothing, ``conventions=True``
    overlays all three conventions (debiased, biased, from-first); ``suggestions`` lists the
    methods to mark (``lrwidgets.core.SUGGESTION_METHODS``), on the curve trimmed by
    ``skip_start`` / ``skip_end`` (None: fastai's ``lr_find`` trimming). An unreliable curve
    says so in the title; a suggestion that is not firm is hollow and the title says why.
    Returns the Axes; the lines carry gids (see ``draw_range_test``).
    """
    if ax is None:
        (ax,) = new_axes(figsize=(6.0, 5.0))  # the legend goes below the Axes
    update_range_test(
        draw_range_test(ax),
        result,
        beta=beta,
        debias=debias,
        show_raw=show_raw,
        show_smoothed=show_smoothed,
        suggestions=suggestions,
        conventions=conventions,
        skip_start=skip_start,
        skip_end=skip_end,
    )
    return ax


# -- schedules -----------------------------------------------------------------------------------
@dataclass
class ScheduleArtists:
    """The lr per step on ``lr_ax`` and, when drawn, the momentum per step on ``momentum_ax``."""

    lr_ax: Axes
    lr: Line2D
    momentum_ax: Axes | None = None
    momentum: Line2D | None = None
    no_momentum: Text | None = None  # shown when the schedule leaves the momentum alone


def draw_schedule(lr_ax: Axes, momentum_ax: Axes | None = None) -> ScheduleArtists:
    """Empty, labelled schedule artists (gids "lr" and "momentum")."""
    (lr,) = lr_ax.plot([], [], color=OKABE_ITO["blue"], lw=2.0, gid="lr")
    lr_ax.set_ylabel("learning rate")
    if momentum_ax is None:
        lr_ax.set_xlabel("step")
    lr_ax.grid(alpha=0.3)
    artists = ScheduleArtists(lr_ax, lr)
    if momentum_ax is not None:
        (artists.momentum,) = momentum_ax.plot(
            [], [], color=OKABE_ITO["vermillion"], lw=2.0, gid="momentum"
        )
        artists.no_momentum = momentum_ax.text(
            0.5, 0.5, "", transform=momentum_ax.transAxes, ha="center", va="center"
        )
        artists.momentum_ax = momentum_ax
        momentum_ax.set_ylabel("momentum")
        momentum_ax.set_xlabel("step")
        momentum_ax.grid(alpha=0.3)
    return artists


def update_schedule(artists: ScheduleArtists, schedule: Schedule) -> None:
    """Draw ``schedule.lr`` (and ``schedule.momentum``) against the step, in place."""
    steps = np.arange(len(schedule))
    artists.lr.set_data(steps, schedule.lr)
    artists.lr_ax.set_title(f"{schedule.name}, {len(schedule)} steps", fontsize="medium")
    artists.lr_ax.relim()
    artists.lr_ax.autoscale_view()
    if artists.momentum_ax is None:
        return
    if schedule.momentum is None:
        artists.momentum.set_data([], [])
        artists.no_momentum.set_text("this schedule leaves the momentum alone")
    else:
        artists.momentum.set_data(steps, schedule.momentum)
        artists.no_momentum.set_text("")
        artists.momentum_ax.relim()
        artists.momentum_ax.autoscale_view()


def clear_schedule(artists: ScheduleArtists, why: str = "no schedule") -> None:
    """Empty the picture (the controls describe no schedule), so no stale one stays in view."""
    artists.lr.set_data([], [])
    artists.lr_ax.set_title(why, fontsize="medium")
    if artists.momentum_ax is not None:
        artists.momentum.set_data([], [])
        artists.no_momentum.set_text("")


def plot_schedule(
    schedule: Schedule, ax: Axes | None = None, momentum_ax: Axes | None = None
) -> Axes:
    """Plot a schedule's lr per step; with no ``ax``, a new figure with the momentum below."""
    if ax is None:
        ax, momentum_ax = new_axes(2, figsize=(6.0, 5.0), sharex=True)
    update_schedule(draw_schedule(ax, momentum_ax), schedule)
    return ax


# -- training runs -------------------------------------------------------------------------------
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


# -- study results -------------------------------------------------------------------------------
GRID_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
GRID_STYLES = ("-", "--", "-.", ":")
METRIC_LABEL = {
    "train_loss": "training loss",
    "val_loss": "validation loss",
    "val_accuracy": "validation accuracy",
}


def plot_grids(
    grids: Mapping[str, TrainingGrid],
    ax: Axes | None = None,
    metric: str | None = None,
    *,
    log_y: bool = True,
    spread: bool = True,
    baseline: float = 0.0,
) -> Axes:
    """The final metric of ``train_at_lrs`` grids against lr, one line per grid (by name).

    With ``baseline`` the lines show metric - baseline (e.g. the excess over the lowest
    reachable loss).

    Each line is the mean over seeds, the band around it the seeds' min..max (``spread``),
    and a large marker the grid's best lr. Diverged runs leave a gap. Colour, marker and line
    style all change from grid to grid, so the lines stay apart in grey print too.
    """
    if ax is None:
        (ax,) = new_axes(figsize=(7.0, 4.0))
    metric = metric or next(iter(grids.values())).default_metric
    for i, (name, grid) in enumerate(grids.items()):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        values = np.where(grid.diverged, np.nan, getattr(grid, metric) - baseline)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows of diverged lrs
            mean = values.mean(axis=1)
            low, high = np.nanmin(values, axis=1), np.nanmax(values, axis=1)
        best = grid.best(metric)
        ax.plot(
            grid.lrs,
            mean,
            color=color,
            ls=GRID_STYLES[i % len(GRID_STYLES)],
            marker=GRID_MARKERS[i % len(GRID_MARKERS)],
            ms=4,
            label=f"{name} (best {format_lr(best)})",
            gid=f"grid-{name}",
        )
        if spread and len(grid.seeds) > 1:
            ax.fill_between(grid.lrs, low, high, color=color, alpha=0.15, lw=0)
        at = int(np.flatnonzero(grid.lrs == best)[0])
        ax.plot([best], [mean[at]], marker="*", ms=14, color=color, ls="none", zorder=5)
    ax.set_xscale("log")
    if log_y and metric != "val_accuracy":
        ax.set_yscale("log")
    ax.set_xlabel("learning rate (constant, or the peak of one-cycle)")
    seeds = len(next(iter(grids.values())).seeds)
    minus = f" - {baseline:.3g}" if baseline else ""
    ax.set_ylabel(f"final {METRIC_LABEL[metric]}{minus}")
    ax.set_title(f"mean over {seeds} seeds, band: min..max, star: best", fontsize="medium")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return ax


def mark_lrs(ax: Axes, lrs: Mapping[str, float], legend: bool = True) -> None:
    """Vertical lines at the named learning rates, each in its own line style.

    A suggestion rule's line takes the colour of its marker in ``plot_range_test``; other
    lines are black or grey, apart from the coloured data lines.
    """
    neutral = (OKABE_ITO["black"], GREY)
    for i, (name, lr) in enumerate(lrs.items()):
        color = SUGGESTION_STYLE.get(name, {}).get("color", neutral[i % len(neutral)])
        style = GRID_STYLES[(i + 1) % len(GRID_STYLES)]
        ax.axvline(lr, color=color, ls=style, lw=1.8, label=name)
    if legend:
        ax.legend(loc="best", fontsize="small")


def plot_curves(
    runs: Mapping[str, Sequence[RangeTestResult]],
    ax: Axes | None = None,
    *,
    beta: float | None = None,
) -> Axes:
    """Smoothed range-test curves, one colour per group (by name), one thin line per run.

    The y-limits follow the smoothed curves (``loss_limits``), so a blown-up tail does not
    flatten the rest.
    """
    if ax is None:
        (ax,) = new_axes(figsize=(7.0, 4.0))
    curves = []
    for i, (name, results) in enumerate(runs.items()):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        for j, result in enumerate(results):
            curve = result.smoothed(beta)
            curves.append(curve)
            ax.plot(
                result.lrs,
                curve,
                color=color,
                ls=GRID_STYLES[i % len(GRID_STYLES)],
                lw=1.2,
                alpha=0.8,
                label=name if j == 0 else None,
            )
    ax.set_xscale("log")
    limits = loss_limits(curves, max(r.diverge_th for rs in runs.values() for r in rs))
    if limits is not None:
        ax.set_ylim(*limits)
    ax.set_xlabel("learning rate")
    ax.set_ylabel("smoothed range-test loss")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return ax


def plot_setting_study(study: SettingStudy, axes: Sequence[Axes] | None = None) -> list[Axes]:
    """Range-test curves of every setting (top) above its trainings (bottom); the x axes are
    not shared, so each panel keeps the lrs it has data for."""
    if axes is None:
        axes = new_axes(2, figsize=(7.0, 7.0))
    top, bottom = axes
    plot_curves(study.range_tests, top)
    top.set_title("range tests (one line per seed)", fontsize="medium")
    plot_grids(study.grids, bottom, study.metric)
    return [top, bottom]
