"""The range-test picture: the loss against lr (raw, smoothed, suggestions, where it stopped)
and the lr against the step.

It comes in two steps, so a widget can redraw in place instead of building a new figure on
every change: ``draw_range_test(ax)`` creates empty, labelled artists; ``update_range_test``
puts data into them (``set_data``), following a ``CurveView``: what the reading controls show.
``plot_range_test`` does both at once for a notebook cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..core import SMOOTHING_CONVENTIONS, SUGGESTION_METHODS, smooth
from .style import (
    GREY,
    OKABE_ITO,
    RUN_COLORS,
    SMOOTHED_NAME,
    SMOOTHED_STYLE,
    SUGGESTION_NAME,
    SUGGESTION_STYLE,
    WARNING_COLOR,
    format_lr,
    legend_below,
    new_axes,
    show_or_hide,
)
from .view import loss_limits

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.lines import Line2D

    from ..training import RangeTestResult


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
        show_or_hide(line, False)
    return artists


@dataclass(frozen=True)
class CurveView:
    """What a range-test picture shows: the reading controls, as one object.

    - ``beta``: the EWMA's beta (None: the test's own); ``debias``: divide by 1 - beta^t;
    - ``show_raw``, ``show_smoothed``: draw the raw losses, the smoothed curve;
    - ``conventions``: draw all three smoothing conventions (debiased, biased, from-first);
    - ``suggestions``: the suggestion methods to mark (``lrwidgets.core.SUGGESTION_METHODS``);
    - ``skip_start``, ``skip_end``: the trimming of the suggestions (None: fastai's).

    ``RangeTestResult.plot(**kwargs)`` and ``plot_range_test`` take these names as keyword
    arguments; a widget builds one from its controls.
    """

    beta: float | None = None
    debias: bool = True
    show_raw: bool = True
    show_smoothed: bool = True
    suggestions: Sequence[str] = SUGGESTION_METHODS
    conventions: bool = False
    skip_start: int | None = None
    skip_end: int | None = None


def update_range_test(
    artists: RangeTestArtists,
    result: RangeTestResult,
    view: CurveView | None = None,
    *,
    pinned: Sequence[tuple[str, RangeTestResult]] = (),
) -> dict[str, float]:
    """Draw ``result`` into ``artists`` in place, as ``view`` says; return the suggestions
    drawn {method: lr}.

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
    view = CurveView() if view is None else view
    beta = result.beta if view.beta is None else view.beta
    debias, show_raw, show_smoothed = view.debias, view.show_raw, view.show_smoothed
    suggestions, conventions = view.suggestions, view.conventions
    skip_start, skip_end = view.skip_start, view.skip_end
    ax = artists.loss_ax
    ax.set_xscale("log" if result.mode == "exp" else "linear")
    artists.raw.set_data(result.lrs, result.losses)
    show_or_hide(artists.raw, show_raw, "raw loss")
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
        show_or_hide(line, visible, f"{SMOOTHED_NAME[convention]} (beta={beta:.3g})")
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
        show_or_hide(marker, method in found, label)


def update_stop(artists: RangeTestArtists, result: RangeTestResult) -> None:
    """A vertical line where a stop rule ended the test, named after the rule."""
    if result.stopped_early and len(result.lrs):
        lr = float(result.lrs[-1])
        artists.stop.set_data([lr, lr], [0.0, 1.0])
        why_stop = (result.stop_reason or "stopped").split(":")[0]
        show_or_hide(artists.stop, True, f"stopped at {format_lr(lr)} ({why_stop})")
    else:
        show_or_hide(artists.stop, False)


def update_skipped(artists: RangeTestArtists, result: RangeTestResult) -> None:
    """Ticks along the bottom at the lrs of the steps a GradScaler skipped (``amp="fp16"``):
    no step was taken there, so they are marked, not drawn as a loss on the curve."""
    lrs = result.skipped_lrs
    artists.skipped.set_data(lrs, np.full(len(lrs), 0.02))
    show_or_hide(artists.skipped, len(lrs) > 0, f"step skipped by the GradScaler ({len(lrs)})")


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


def plot_range_test(result: RangeTestResult, ax: Axes | None = None, **view) -> Axes:
    """Plot a range test: the raw loss, its EWMA, the suggestions and where it stopped.

    The keyword arguments are those of ``CurveView``: ``beta`` (default: the test's) and
    ``debias`` choose the smoothing, ``conventions=True`` overlays all three conventions
    (debiased, biased, from-first); ``suggestions`` lists the methods to mark, on the curve
    trimmed by ``skip_start`` / ``skip_end`` (None: fastai's ``lr_find`` trimming). An
    unreliable curve says so in the title; a suggestion that is not firm is hollow and the title
    says why. Returns the Axes; the lines carry gids (see ``draw_range_test``).
    """
    if ax is None:
        (ax,) = new_axes(figsize=(6.0, 5.0))  # the legend goes below the Axes
    update_range_test(draw_range_test(ax), result, CurveView(**view))
    return ax
