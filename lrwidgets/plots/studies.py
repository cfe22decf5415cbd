"""Pictures of the studies' results: trainings over a grid of lrs, curves over seeds."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from .style import (
    GREY,
    OKABE_ITO,
    RUN_COLORS,
    SUGGESTION_STYLE,
    format_lr,
    legend_below,
    new_axes,
)
from .view import loss_limits

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..studies import SettingStudy, TrainingGrid
    from ..training import RangeTestResult


GRID_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
GRID_STYLES = ("-", "--", "-.", ":")
MARK_STYLES = ("--", "-.", (0, (6, 2, 1, 2, 1, 2)), (0, (10, 3)))  # never ":" (the stop line)
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
    ax.set_xlabel("learning rate (constant, or the peak of the schedule)")
    seeds = len(next(iter(grids.values())).seeds)
    minus = f" - {baseline:.3g}" if baseline else ""
    ax.set_ylabel(f"final {METRIC_LABEL[metric]}{minus}")
    ax.set_title(f"mean over {seeds} seeds, band: min..max, star: best", fontsize="medium")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return ax


def mark_lrs(
    ax: Axes,
    lrs: Mapping[str, float],
    legend: bool = True,
    styles: Mapping[str, Mapping] | None = None,
) -> None:
    """Vertical lines at the named learning rates, each in its own line style.

    A suggestion rule's line takes the colour of its marker in ``plot_range_test``; other
    lines are black or grey, apart from the coloured data lines. None is dotted: a dotted
    black line in a range-test picture is where the test stopped. ``styles[name]`` (axvline
    keywords: color, ls, lw) overrides the style of a line, e.g. to give lines that mean
    different things distinct colours. The legend goes below the Axes (``legend_below``),
    where it covers no curve.
    """
    neutral = (OKABE_ITO["black"], GREY)
    styles = styles or {}
    for i, (name, lr) in enumerate(lrs.items()):
        color = SUGGESTION_STYLE.get(name, {}).get("color", neutral[i % len(neutral)])
        style = dict(color=color, ls=MARK_STYLES[i % len(MARK_STYLES)], lw=1.8)
        ax.axvline(lr, **{**style, **styles.get(name, {})}, label=name, gid=f"mark-{name}")
    if legend:
        legend_below(ax)


def align_lr_axes(axes: Sequence[Axes]) -> tuple[float, float]:
    """Give panels drawn against the learning rate the same x range (the union of theirs),
    so a learning rate sits at the same place in each; returns that range."""
    low = min(min(ax.get_xlim()) for ax in axes)
    high = max(max(ax.get_xlim()) for ax in axes)
    for ax in axes:
        ax.set_xlim(low, high)
    return low, high


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
    """Range-test curves of every setting (top) above its trainings (bottom), on one x range
    (``align_lr_axes``): a learning rate sits at the same place in both panels."""
    if axes is None:
        axes = new_axes(2, figsize=(7.0, 7.0))
    top, bottom = axes
    plot_curves(study.range_tests, top)
    top.set_title("range tests (one line per seed)", fontsize="medium")
    plot_grids(study.grids, bottom, study.metric)
    align_lr_axes([top, bottom])
    return [top, bottom]
